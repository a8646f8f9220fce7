//! Key tables: one table of [`Binding`]s per screen, written once, that drives the key
//! handling, the hint line and the `?` overlay (gitui's key list and `CommandInfo`).
//!
//! A screen declares an `enum ...Action` and a `&'static [Binding<Action, State>]`. To
//! handle a key it calls [`action_for`] and applies the action it gets; to draw its hint
//! line it calls [`hints`]; the help overlay lists [`Binding::help`] rows. A binding applies
//! only while its `when` holds, so a hint can never show a key that does nothing there.
//!
//! ```
//! use cnn_tutor::tui::keys::{action_for, Binding, KeySpec, Label};
//! use cnn_tutor::tui::Key;
//!
//! #[derive(Debug, Clone, Copy, PartialEq)]
//! enum Act { Next, Quit }
//! struct State { last: bool }
//! type B = Binding<Act, State>;
//! const TABLE: &[B] = &[
//!     B::new(&[KeySpec::Char('n')], Act::Next)
//!         .when(|s| !s.last)
//!         .hint(0, Label::new(&[KeySpec::Char('n')], "next")),
//!     B::new(&[KeySpec::Char('q'), KeySpec::Ctrl('c')], Act::Quit),
//! ];
//! let s = State { last: false };
//! assert_eq!(action_for(TABLE, &s, Key::char('n')), Some(Act::Next));
//! assert_eq!(action_for(TABLE, &State { last: true }, Key::char('n')), None);
//! assert_eq!(action_for(TABLE, &s, Key::ctrl('C')), Some(Act::Quit));
//! ```

use std::borrow::Cow;

use super::event::{Key, KeyCode};
use super::theme::Symbols;

/// The named keys the tables bind (every table imports these, not its own copies).
pub const UP: KeySpec = KeySpec::Code(KeyCode::Up);
pub const DOWN: KeySpec = KeySpec::Code(KeyCode::Down);
pub const LEFT: KeySpec = KeySpec::Code(KeyCode::Left);
pub const RIGHT: KeySpec = KeySpec::Code(KeyCode::Right);
pub const ENTER: KeySpec = KeySpec::Code(KeyCode::Enter);
pub const ESC: KeySpec = KeySpec::Code(KeyCode::Esc);
pub const TAB: KeySpec = KeySpec::Code(KeyCode::Tab);
pub const HOME: KeySpec = KeySpec::Code(KeyCode::Home);
pub const END: KeySpec = KeySpec::Code(KeyCode::End);
pub const PGUP: KeySpec = KeySpec::Code(KeyCode::PageUp);
pub const PGDN: KeySpec = KeySpec::Code(KeyCode::PageDown);
pub const BACKSPACE: KeySpec = KeySpec::Code(KeyCode::Backspace);

/// Which key presses a binding answers (and how a label shows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// This character, without Ctrl (`' '` shows as `Space`).
    Char(char),
    /// Any character from the first to the second (inclusive), without Ctrl: `0-9`.
    Range(char, char),
    /// Any printable character, without Ctrl (typing text).
    AnyChar,
    /// This named key, without Ctrl.
    Code(KeyCode),
    /// Any of the four arrow keys, without Ctrl.
    Arrows,
    /// This character with Ctrl held, either case (`Ctrl('c')` is Ctrl-C).
    Ctrl(char),
}

impl KeySpec {
    /// Whether `key` is one of the presses this spec answers.
    pub fn matches(self, key: Key) -> bool {
        match (self, key.code) {
            (KeySpec::Ctrl(c), KeyCode::Char(k)) => key.ctrl && k.eq_ignore_ascii_case(&c),
            (KeySpec::Ctrl(_), _) => false,
            _ if key.ctrl => false,
            (KeySpec::Char(c), KeyCode::Char(k)) => k == c,
            (KeySpec::Range(a, b), KeyCode::Char(k)) => (a..=b).contains(&k),
            (KeySpec::AnyChar, KeyCode::Char(_)) => true,
            (KeySpec::Code(c), code) => c == code,
            (KeySpec::Arrows, code) => matches!(
                code,
                KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right
            ),
            _ => false,
        }
    }

    /// How the key is written in hints and help (arrows with the theme's symbols).
    pub fn label(self, sym: &Symbols) -> Cow<'static, str> {
        match self {
            KeySpec::Char(' ') | KeySpec::Code(KeyCode::Char(' ')) => "Space".into(),
            KeySpec::Char(c) | KeySpec::Code(KeyCode::Char(c)) => c.to_string().into(),
            KeySpec::Range(a, b) => format!("{a}-{b}").into(),
            KeySpec::AnyChar => "text".into(),
            KeySpec::Arrows => "arrows".into(),
            KeySpec::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()).into(),
            KeySpec::Code(code) => match code {
                KeyCode::Enter => "Enter".into(),
                KeyCode::Esc => "Esc".into(),
                KeyCode::Backspace => "Backspace".into(),
                KeyCode::Delete => "Del".into(),
                KeyCode::Tab => "Tab".into(),
                KeyCode::BackTab => "Shift-Tab".into(),
                KeyCode::Up => sym.up.into(),
                KeyCode::Down => sym.down.into(),
                KeyCode::Left => sym.left.into(),
                KeyCode::Right => sym.right.into(),
                KeyCode::Home => "Home".into(),
                KeyCode::End => "End".into(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::Char(_) => unreachable!("matched above"),
            },
        }
    }

    /// Presses this spec answers, for tests that walk a table: every character of a
    /// range, all four arrows, one letter for any text.
    pub fn examples(self) -> Vec<Key> {
        match self {
            KeySpec::Char(c) => vec![Key::char(c)],
            KeySpec::Range(a, b) => (a..=b).map(Key::char).collect(),
            KeySpec::AnyChar => vec![Key::char('a')],
            KeySpec::Code(code) => vec![Key::new(code)],
            KeySpec::Arrows => [KeyCode::Up, KeyCode::Down, KeyCode::Left, KeyCode::Right]
                .into_iter()
                .map(Key::new)
                .collect(),
            KeySpec::Ctrl(c) => vec![Key::ctrl(c)],
        }
    }
}

/// How a binding shows in the hint line or the help: some keys, joined by `sep`, and what
/// they do. The keys shown may include a neighbouring binding's (`←/→ step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    /// The keys shown.
    pub keys: &'static [KeySpec],
    /// Between two keys (`" "` unless [`Label::sep`] changes it).
    pub sep: &'static str,
    /// What the keys do.
    pub text: &'static str,
}

impl Label {
    /// These keys, joined by a space, and this text.
    pub const fn new(keys: &'static [KeySpec], text: &'static str) -> Self {
        Label {
            keys,
            sep: " ",
            text,
        }
    }

    /// The same label with another separator between the keys (`"/"`: `←/→`).
    pub const fn sep(mut self, sep: &'static str) -> Self {
        self.sep = sep;
        self
    }

    /// The keys as written (`←/→`, `q, Ctrl-C`).
    pub fn keys_text(&self, sym: &Symbols) -> String {
        let parts: Vec<Cow<str>> = self.keys.iter().map(|k| k.label(sym)).collect();
        parts.join(self.sep)
    }
}

/// A binding's place in the hint line.
pub struct Hint<S: 'static> {
    /// What the line shows.
    pub label: Label,
    /// Lower comes first; the line drops what does not fit from the end.
    pub order: u8,
    /// Shown only while this holds too (the binding's `when` must hold as well).
    pub shown: fn(&S) -> bool,
}

/// A binding's row in the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Help {
    /// The section the row goes in (sections appear in the order they are first named).
    pub section: &'static str,
    /// The row.
    pub label: Label,
}

/// One line of a screen's key table: these keys do `action` while `when` holds.
pub struct Binding<A: 'static, S: 'static> {
    /// The presses that trigger it.
    pub keys: &'static [KeySpec],
    /// What it does.
    pub action: A,
    /// It applies only while this holds (the first binding that matches and applies wins).
    pub when: fn(&S) -> bool,
    /// Its place in the hint line, if it has one.
    pub hint: Option<Hint<S>>,
    /// Its row in the help overlay, if it has one.
    pub help: Option<Help>,
}

fn always<S>(_: &S) -> bool {
    true
}

impl<A, S> Binding<A, S> {
    /// `keys` do `action`, always, shown nowhere (add [`Binding::when`], [`Binding::hint`],
    /// [`Binding::help`]).
    pub const fn new(keys: &'static [KeySpec], action: A) -> Self {
        Binding {
            keys,
            action,
            when: always::<S>,
            hint: None,
            help: None,
        }
    }

    /// Applies only while `when` holds.
    pub const fn when(mut self, when: fn(&S) -> bool) -> Self {
        self.when = when;
        self
    }

    /// Shown in the hint line at `order` (lower first), whenever it applies.
    pub const fn hint(mut self, order: u8, label: Label) -> Self {
        self.hint = Some(Hint {
            label,
            order,
            shown: always::<S>,
        });
        self
    }

    /// Shown in the hint line at `order` only while it applies and `shown` holds (a key
    /// that works everywhere but is worth a hint only in some lessons).
    pub const fn hint_if(mut self, order: u8, label: Label, shown: fn(&S) -> bool) -> Self {
        self.hint = Some(Hint {
            label,
            order,
            shown,
        });
        self
    }

    /// Listed in the help overlay, in `section`.
    pub const fn help(mut self, section: &'static str, label: Label) -> Self {
        self.help = Some(Help { section, label });
        self
    }

    /// Whether `key` triggers this binding in `state`.
    pub fn answers(&self, state: &S, key: Key) -> bool {
        self.keys.iter().any(|k| k.matches(key)) && (self.when)(state)
    }

    /// The hint this binding shows in `state`, if any.
    pub fn hint_in(&self, state: &S) -> Option<&Hint<S>> {
        self.hint
            .as_ref()
            .filter(|h| (self.when)(state) && (h.shown)(state))
    }
}

/// The action of the first binding that `key` triggers in `state`.
pub fn action_for<A: Copy, S>(table: &[Binding<A, S>], state: &S, key: Key) -> Option<A> {
    table
        .iter()
        .find(|b| b.answers(state, key))
        .map(|b| b.action)
}

/// The hint line for `state`: every shown hint, by order (ties in table order), as the
/// status line takes them.
pub fn hints<A, S>(
    table: &[Binding<A, S>],
    state: &S,
    sym: &Symbols,
) -> Vec<(String, &'static str)> {
    let mut shown: Vec<&Hint<S>> = table.iter().filter_map(|b| b.hint_in(state)).collect();
    shown.sort_by_key(|h| h.order);
    shown
        .into_iter()
        .map(|h| (h.label.keys_text(sym), h.label.text))
        .collect()
}

/// The keys the hint line shows in `state` (tests check each does something).
pub fn hint_keys<A, S>(table: &[Binding<A, S>], state: &S) -> Vec<KeySpec> {
    table
        .iter()
        .filter_map(|b| b.hint_in(state))
        .flat_map(|h| h.label.keys.iter().copied())
        .collect()
}

/// The help rows of some tables, grouped by section (sections in the order first named,
/// rows in table order): `(section, [(keys, text)])`.
pub fn help_sections<'a>(
    rows: impl IntoIterator<Item = &'a Help>,
    sym: &Symbols,
) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    let mut sections: Vec<(&'static str, Vec<(String, &'static str)>)> = Vec::new();
    for help in rows {
        let row = (help.label.keys_text(sym), help.label.text);
        match sections.iter_mut().find(|(s, _)| *s == help.section) {
            Some((_, rows)) => rows.push(row),
            None => sections.push((help.section, vec![row])),
        }
    }
    sections
}

/// Every help row of a table, in order.
pub fn help_rows<A, S>(table: &[Binding<A, S>]) -> impl Iterator<Item = &Help> {
    table.iter().filter_map(|b| b.help.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme::Theme;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Act {
        Up,
        Type,
        Quit,
        Stop,
    }
    struct St {
        running: bool,
    }
    type B = Binding<Act, St>;
    const TABLE: &[B] = &[
        B::new(&[KeySpec::Code(KeyCode::Up), KeySpec::Char('k')], Act::Up)
            .hint(
                1,
                Label::new(
                    &[KeySpec::Code(KeyCode::Up), KeySpec::Code(KeyCode::Down)],
                    "move",
                )
                .sep("/"),
            )
            .help("Moving", Label::new(&[KeySpec::Code(KeyCode::Up)], "up")),
        B::new(&[KeySpec::Char('s')], Act::Stop)
            .when(|s| s.running)
            .hint(0, Label::new(&[KeySpec::Char('s')], "stop")),
        B::new(&[KeySpec::Range('0', '9'), KeySpec::Char('.')], Act::Type)
            .hint_if(2, Label::new(&[KeySpec::Range('0', '9')], "type"), |s| {
                !s.running
            })
            .help("Typing", Label::new(&[KeySpec::Range('0', '9')], "a digit")),
        B::new(&[KeySpec::Char('q'), KeySpec::Ctrl('c')], Act::Quit).help(
            "Moving",
            Label::new(&[KeySpec::Char('q'), KeySpec::Ctrl('c')], "quit").sep(", "),
        ),
    ];

    #[test]
    fn the_first_binding_that_matches_and_applies_wins() {
        let on = St { running: true };
        let off = St { running: false };
        assert_eq!(action_for(TABLE, &on, Key::char('s')), Some(Act::Stop));
        assert_eq!(action_for(TABLE, &off, Key::char('s')), None);
        assert_eq!(action_for(TABLE, &off, Key::char('7')), Some(Act::Type));
        assert_eq!(action_for(TABLE, &off, Key::char('k')), Some(Act::Up));
        assert_eq!(
            action_for(TABLE, &off, Key::ctrl('k')),
            None,
            "Ctrl-k is not k"
        );
        assert_eq!(action_for(TABLE, &off, Key::ctrl('C')), Some(Act::Quit));
        assert_eq!(action_for(TABLE, &off, Key::new(KeyCode::Down)), None);
    }

    #[test]
    fn hints_follow_order_and_conditions() {
        let sym = Theme::new(false, false).symbols();
        let on = St { running: true };
        let off = St { running: false };
        let text = |st: &St| -> Vec<String> {
            hints(TABLE, st, sym)
                .into_iter()
                .map(|(k, t)| format!("{k} {t}"))
                .collect()
        };
        let (up, down) = (sym.up, sym.down);
        assert_eq!(
            text(&on),
            ["s stop".to_string(), format!("{up}/{down} move")]
        );
        assert_eq!(
            text(&off),
            [format!("{up}/{down} move"), "0-9 type".to_string()]
        );
        assert_eq!(
            hint_keys(TABLE, &off),
            [
                KeySpec::Code(KeyCode::Up),
                KeySpec::Code(KeyCode::Down),
                KeySpec::Range('0', '9')
            ]
        );
    }

    #[test]
    fn help_groups_rows_by_section_in_first_named_order() {
        let sym = Theme::new(false, false).symbols();
        let sections = help_sections(help_rows(TABLE), sym);
        let names: Vec<&str> = sections.iter().map(|(s, _)| *s).collect();
        assert_eq!(names, ["Moving", "Typing"]);
        assert_eq!(sections[0].1[1], ("q, Ctrl-C".to_string(), "quit"));
        assert_eq!(sections[1].1, [("0-9".to_string(), "a digit")]);
    }

    #[test]
    fn labels_name_keys_as_people_read_them() {
        let sym = Theme::new(false, false).symbols();
        let l = |k: KeySpec| k.label(sym).into_owned();
        assert_eq!(l(KeySpec::Char(' ')), "Space");
        assert_eq!(l(KeySpec::Code(KeyCode::PageDown)), "PgDn");
        assert_eq!(l(KeySpec::Ctrl('c')), "Ctrl-C");
        assert_eq!(l(KeySpec::Code(KeyCode::Left)), sym.left);
        assert_eq!(KeySpec::Range('1', '4').examples().len(), 4);
        assert!(KeySpec::Arrows.matches(Key::new(KeyCode::Left)));
        assert!(!KeySpec::AnyChar.matches(Key::new(KeyCode::Enter)));
    }
}
