//! The app's own input events. The local front end turns crossterm events into these; an SSH
//! session can build them from the bytes its channel receives.

/// Milliseconds between two [`AppEvent::Tick`]s: front ends send a tick this often.
pub const TICK_MS: u64 = 100;

/// One thing that happened to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppEvent {
    /// A key was pressed.
    Key(Key),
    /// Text was pasted (bracketed paste): one event however long it is, as it came
    /// (control characters included; the receiver takes what fits).
    Paste(String),
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

    /// Ctrl-C, which quits from anywhere (a text box takes every other key).
    pub fn is_ctrl_c(self) -> bool {
        self.ctrl && self.code == KeyCode::Char('c')
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
    /// key releases).
    pub fn from_crossterm(event: crossterm::event::Event) -> Option<AppEvent> {
        use crossterm::event::Event;
        match event {
            Event::Key(key) => Key::from_crossterm(key).map(AppEvent::Key),
            Event::Paste(text) => Some(AppEvent::Paste(text)),
            Event::Resize(w, h) => Some(AppEvent::Resize(w, h)),
            _ => None,
        }
    }
}

/// What a terminal sends before and after pasted text in bracketed-paste mode.
const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";
/// Most bytes of one paste kept (the rest, up to the end marker, is dropped): far more
/// than any field of the app holds, and a bound on memory.
pub const MAX_PASTE_BYTES: usize = 1 << 20;

/// Turns the bytes a terminal sends into the app's events: keys (escape sequences parsed
/// by `vte`, the parser of the alacritty terminal) and bracketed pastes, keeping state
/// across reads (a sequence split over two reads still parses).
///
/// The local front end reads its terminal with this rather than with crossterm's event
/// reader: crossterm 0.28 (and 0.29) reads the tty edge-triggered and stops after the first
/// event, so a large paste stalls until the next key (crossterm PR #1057, not merged); and
/// its parser holds a control character that follows a partial sequence (`ESC [ 1`), so
/// Ctrl-C waits for the next key. Here a C0 control such as Ctrl-C (0x03) is a key at once,
/// whatever came before it (as in a VT500 terminal's own parser).
pub struct InputParser {
    parser: vte::Parser,
    keys: Keys,
    /// Inside a bracketed paste: the text so far.
    paste: Option<Vec<u8>>,
    /// Bytes held back at the end of the last read: the start of a paste marker, maybe.
    held: Vec<u8>,
}

impl std::fmt::Debug for InputParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputParser")
            .field("in_paste", &self.paste.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for InputParser {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Default)]
struct Keys {
    out: Vec<AppEvent>,
    /// The last escape sequence was `ESC O` (SS3): the next character names the key.
    ss3: bool,
}

/// The length of the longest end of `data` that is a proper beginning of `marker`.
fn partial_marker(data: &[u8], marker: &[u8]) -> usize {
    (1..marker.len().min(data.len() + 1))
        .rev()
        .find(|&n| data.ends_with(&marker[..n]))
        .unwrap_or(0)
}

fn find(data: &[u8], marker: &[u8]) -> Option<usize> {
    data.windows(marker.len()).position(|w| w == marker)
}

impl InputParser {
    /// A parser in its ground state.
    pub fn new() -> Self {
        InputParser {
            parser: vte::Parser::new(),
            keys: Keys::default(),
            paste: None,
            held: Vec::new(),
        }
    }

    /// The events in `bytes`, the next bytes read from the terminal. A read ending in a
    /// lone ESC is the Escape key: terminals send a sequence's bytes together, and a person
    /// pressing Esc sends the one byte.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<AppEvent> {
        let mut joined;
        let mut data: &[u8] = if self.held.is_empty() {
            bytes
        } else {
            joined = std::mem::take(&mut self.held);
            joined.extend_from_slice(bytes);
            &joined
        };
        loop {
            if let Some(text) = self.paste.as_mut() {
                let (body, rest) = match find(data, PASTE_END) {
                    Some(i) => (&data[..i], Some(&data[i + PASTE_END.len()..])),
                    None => {
                        let keep = partial_marker(data, PASTE_END);
                        self.held = data[data.len() - keep..].to_vec();
                        (&data[..data.len() - keep], None)
                    }
                };
                let room = MAX_PASTE_BYTES.saturating_sub(text.len());
                text.extend_from_slice(&body[..body.len().min(room)]);
                let Some(rest) = rest else { break };
                let text = self.paste.take().unwrap_or_default();
                self.keys
                    .out
                    .push(AppEvent::Paste(String::from_utf8_lossy(&text).into_owned()));
                data = rest;
            } else {
                match find(data, PASTE_START) {
                    Some(i) => {
                        self.advance(&data[..i]);
                        // a sequence cut short by the paste is dropped
                        self.parser = vte::Parser::new();
                        self.keys.ss3 = false;
                        self.paste = Some(Vec::new());
                        data = &data[i + PASTE_START.len()..];
                    }
                    None => {
                        // hold back what may begin a paste marker, but never a lone ESC (the
                        // Escape key)
                        let keep = match partial_marker(data, PASTE_START) {
                            1 => 0,
                            n => n,
                        };
                        self.held = data[data.len() - keep..].to_vec();
                        let now = &data[..data.len() - keep];
                        self.advance(now);
                        if keep == 0 && now.last() == Some(&0x1b) {
                            self.parser = vte::Parser::new();
                            self.keys.ss3 = false;
                            self.keys.out.push(AppEvent::Key(Key::new(KeyCode::Esc)));
                        }
                        break;
                    }
                }
            }
        }
        std::mem::take(&mut self.keys.out)
    }

    /// Keys from bytes outside a paste.
    fn advance(&mut self, bytes: &[u8]) {
        // vte ignores DEL (0x7f), which is what Backspace sends on most terminals
        for (i, part) in bytes.split(|&b| b == 0x7f).enumerate() {
            if i > 0 {
                self.keys
                    .out
                    .push(AppEvent::Key(Key::new(KeyCode::Backspace)));
            }
            self.parser.advance(&mut self.keys, part);
        }
    }
}

impl vte::Perform for Keys {
    fn print(&mut self, c: char) {
        if std::mem::take(&mut self.ss3) {
            let code = match c {
                'A' => Some(KeyCode::Up),
                'B' => Some(KeyCode::Down),
                'C' => Some(KeyCode::Right),
                'D' => Some(KeyCode::Left),
                'H' => Some(KeyCode::Home),
                'F' => Some(KeyCode::End),
                _ => None,
            };
            if let Some(code) = code {
                self.out.push(AppEvent::Key(Key::new(code)));
                return;
            }
        }
        self.out.push(AppEvent::Key(Key::char(c)));
    }

    fn execute(&mut self, byte: u8) {
        self.ss3 = false;
        let key = match byte {
            b'\r' | b'\n' => Key::new(KeyCode::Enter),
            b'\t' => Key::new(KeyCode::Tab),
            0x08 => Key::new(KeyCode::Backspace),
            // Ctrl-A .. Ctrl-Z (Ctrl-C is 0x03)
            0x01..=0x1a => Key::ctrl(char::from(b'a' + byte - 1)),
            _ => return,
        };
        self.out.push(AppEvent::Key(key));
    }

    fn csi_dispatch(
        &mut self,
        params: &vte::Params,
        _intermediates: &[u8],
        _ignore: bool,
        c: char,
    ) {
        self.ss3 = false;
        let first = params
            .iter()
            .next()
            .and_then(|p| p.first().copied())
            .unwrap_or(0);
        let code = match c {
            'A' => KeyCode::Up,
            'B' => KeyCode::Down,
            'C' => KeyCode::Right,
            'D' => KeyCode::Left,
            'H' => KeyCode::Home,
            'F' => KeyCode::End,
            'Z' => KeyCode::BackTab,
            '~' => match first {
                1 | 7 => KeyCode::Home,
                3 => KeyCode::Delete,
                4 | 8 => KeyCode::End,
                5 => KeyCode::PageUp,
                6 => KeyCode::PageDown,
                _ => return,
            },
            _ => return,
        };
        self.out.push(AppEvent::Key(Key::new(code)));
    }

    fn esc_dispatch(&mut self, _intermediates: &[u8], _ignore: bool, byte: u8) {
        self.ss3 = byte == b'O';
    }
}

/// Read the local terminal (stdin) on a thread of its own, turning what arrives into
/// events with an [`InputParser`]. A blocking read returns whatever bytes are there, so
/// nothing waits for a later key. The channel closes when stdin ends (the terminal went
/// away); the thread ends at its next read once the receiver is dropped.
pub fn spawn_stdin_reader() -> std::io::Result<std::sync::mpsc::Receiver<AppEvent>> {
    use std::io::Read;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("terminal-input".into())
        .spawn(move || {
            let mut parser = InputParser::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut stdin = std::io::stdin().lock();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        for event in parser.feed(&buf[..n]) {
                            if tx.send(event).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })?;
    Ok(rx)
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

    fn feed(bytes: &[u8]) -> Vec<AppEvent> {
        InputParser::new().feed(bytes)
    }

    fn key(code: KeyCode) -> AppEvent {
        AppEvent::Key(Key::new(code))
    }

    #[test]
    fn keys_parse_as_a_terminal_sends_them() {
        use KeyCode::*;
        let cases: [(&[u8], KeyCode); 19] = [
            (b"\x1b[A", Up),
            (b"\x1b[B", Down),
            (b"\x1b[C", Right),
            (b"\x1b[D", Left),
            (b"\x1bOA", Up),
            (b"\x1bOD", Left),
            (b"\x1b[H", Home),
            (b"\x1b[F", End),
            (b"\x08", Backspace),
            (b"\x1b[1~", Home),
            (b"\x1b[4~", End),
            (b"\x1b[5~", PageUp),
            (b"\x1b[6~", PageDown),
            (b"\x1b[3~", Delete),
            (b"\x1b[Z", BackTab),
            (b"\t", Tab),
            (b"\r", Enter),
            (b"\x7f", Backspace),
            (b"\x1b", Esc),
        ];
        for (bytes, code) in cases {
            assert_eq!(feed(bytes), vec![key(code)], "{bytes:?}");
        }
        assert_eq!(
            feed("aé\x03".as_bytes()),
            vec![
                AppEvent::Key(Key::char('a')),
                AppEvent::Key(Key::char('é')),
                AppEvent::Key(Key::ctrl('c'))
            ]
        );
    }

    #[test]
    fn sequences_split_across_reads_and_back_to_back() {
        let mut p = InputParser::new();
        assert_eq!(p.feed(b"\x1b["), vec![]);
        assert_eq!(p.feed(b"C"), vec![key(KeyCode::Right)]);
        assert_eq!(
            p.feed(b"\x1b[B\x1b[Bq"),
            vec![
                key(KeyCode::Down),
                key(KeyCode::Down),
                AppEvent::Key(Key::char('q'))
            ]
        );
        assert_eq!(
            p.feed(b"x\x7fy"),
            vec![
                AppEvent::Key(Key::char('x')),
                key(KeyCode::Backspace),
                AppEvent::Key(Key::char('y'))
            ]
        );
        // after a lone ESC the parser is back in its ground state
        assert_eq!(p.feed(b"\x1b"), vec![key(KeyCode::Esc)]);
        assert_eq!(p.feed(b"j"), vec![AppEvent::Key(Key::char('j'))]);
    }

    #[test]
    fn ctrl_c_after_a_partial_sequence_is_a_key_at_once() {
        let mut p = InputParser::new();
        assert_eq!(p.feed(b"\x1b[1"), vec![]);
        assert_eq!(p.feed(b"\x03"), vec![AppEvent::Key(Key::ctrl('c'))]);
        // in one read too, and after a partial paste marker
        assert_eq!(feed(b"\x1b[1\x03"), vec![AppEvent::Key(Key::ctrl('c'))]);
        let mut p = InputParser::new();
        assert_eq!(p.feed(b"\x1b[20"), vec![]);
        assert_eq!(p.feed(b"\x03"), vec![AppEvent::Key(Key::ctrl('c'))]);
    }

    #[test]
    fn a_bracketed_paste_is_one_event_even_split_across_reads() {
        let mut p = InputParser::new();
        assert_eq!(
            p.feed(b"x\x1b[200~12\x1b[A3"),
            vec![AppEvent::Key(Key::char('x'))]
        );
        assert_eq!(p.feed(b"\nq\x1b[20"), vec![]);
        assert_eq!(
            p.feed(b"1~y"),
            vec![
                AppEvent::Paste("12\x1b[A3\nq".into()),
                AppEvent::Key(Key::char('y'))
            ]
        );
        // split inside the start marker
        let mut p = InputParser::new();
        assert_eq!(p.feed(b"\x1b[2"), vec![]);
        assert_eq!(
            p.feed(b"00~ok\x1b[201~"),
            vec![AppEvent::Paste("ok".into())]
        );
    }

    #[test]
    fn a_huge_paste_is_capped_and_ends_cleanly() {
        let mut p = InputParser::new();
        let chunk = vec![b'7'; 64 * 1024];
        assert_eq!(p.feed(b"\x1b[200~"), vec![]);
        for _ in 0..(2 * MAX_PASTE_BYTES / chunk.len()) {
            assert_eq!(p.feed(&chunk), vec![]);
        }
        let out = p.feed(b"\x1b[201~q");
        assert_eq!(out.len(), 2);
        match &out[0] {
            AppEvent::Paste(t) => assert_eq!(t.len(), MAX_PASTE_BYTES),
            other => panic!("{other:?}"),
        }
        assert_eq!(out[1], AppEvent::Key(Key::char('q')));
    }
}
