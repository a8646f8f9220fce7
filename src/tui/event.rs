//! The app's own input events. The local front end turns crossterm events into these; an SSH
//! session can build them from the bytes its channel receives.

/// Milliseconds between two [`AppEvent::Tick`]s: front ends send a tick this often.
pub const TICK_MS: u64 = 100;

/// One thing that happened to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEvent {
    /// A key was pressed.
    Key(Key),
    /// The terminal now has this many columns and rows.
    Resize(u16, u16),
    /// [`TICK_MS`] milliseconds passed (drives automatic stepping).
    Tick,
}

/// A key press: the key and whether Ctrl was held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Which key.
    pub code: KeyCode,
    /// Ctrl was held.
    pub ctrl: bool,
}

/// The keys the app knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCode {
    /// A printable character.
    Char(char),
    /// Enter / Return.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
    /// Delete.
    Delete,
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Home.
    Home,
    /// End.
    End,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
}

impl Key {
    /// A key without modifiers.
    pub fn new(code: KeyCode) -> Self {
        Key { code, ctrl: false }
    }

    /// A printable character without modifiers.
    pub fn char(c: char) -> Self {
        Key::new(KeyCode::Char(c))
    }

    /// The character with Ctrl held (Ctrl-C is `Key::ctrl('c')`).
    pub fn ctrl(c: char) -> Self {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }
}

impl From<KeyCode> for Key {
    fn from(code: KeyCode) -> Self {
        Key::new(code)
    }
}

impl From<Key> for AppEvent {
    fn from(key: Key) -> Self {
        AppEvent::Key(key)
    }
}

impl From<KeyCode> for AppEvent {
    fn from(code: KeyCode) -> Self {
        AppEvent::Key(Key::new(code))
    }
}

impl Key {
    /// The app's key for a crossterm key event; `None` for releases and keys the app does not
    /// use.
    pub fn from_crossterm(event: crossterm::event::KeyEvent) -> Option<Key> {
        use crossterm::event::{KeyCode as C, KeyEventKind, KeyModifiers};
        if event.kind == KeyEventKind::Release {
            return None;
        }
        let code = match event.code {
            C::Char(c) => KeyCode::Char(c),
            C::Enter => KeyCode::Enter,
            C::Esc => KeyCode::Esc,
            C::Backspace => KeyCode::Backspace,
            C::Delete => KeyCode::Delete,
            C::Tab => KeyCode::Tab,
            C::BackTab => KeyCode::BackTab,
            C::Up => KeyCode::Up,
            C::Down => KeyCode::Down,
            C::Left => KeyCode::Left,
            C::Right => KeyCode::Right,
            C::Home => KeyCode::Home,
            C::End => KeyCode::End,
            C::PageUp => KeyCode::PageUp,
            C::PageDown => KeyCode::PageDown,
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
        })
    }
}

impl AppEvent {
    /// The app's event for a crossterm event; `None` for events the app ignores (mouse, focus,
    /// paste, key releases).
    pub fn from_crossterm(event: crossterm::event::Event) -> Option<AppEvent> {
        use crossterm::event::Event;
        match event {
            Event::Key(key) => Key::from_crossterm(key).map(AppEvent::Key),
            Event::Resize(w, h) => Some(AppEvent::Resize(w, h)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode as C, KeyEvent, KeyEventKind, KeyModifiers};

    #[test]
    fn crossterm_keys_convert() {
        let ctrl_c = KeyEvent::new(C::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_crossterm(ctrl_c), Some(Key::ctrl('c')));
        let right = KeyEvent::new(C::Right, KeyModifiers::NONE);
        assert_eq!(Key::from_crossterm(right), Some(Key::new(KeyCode::Right)));
        let mut release = KeyEvent::new(C::Right, KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(Key::from_crossterm(release), None);
        assert_eq!(
            AppEvent::from_crossterm(crossterm::event::Event::Resize(80, 24)),
            Some(AppEvent::Resize(80, 24))
        );
    }
}
