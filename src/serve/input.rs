//! The bytes an SSH client's terminal sends, turned into the app's [`Key`]s. Escape
//! sequences are parsed by `vte` (the parser of the alacritty terminal); this module only
//! maps what it reports to keys.

use vte::{Params, Parser, Perform};

use crate::tui::{Key, KeyCode};

/// Turns terminal input into keys, keeping state across chunks (a sequence split over two
/// reads still parses).
pub struct InputParser {
    parser: Parser,
    keys: Keys,
}

impl std::fmt::Debug for InputParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputParser").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Keys {
    out: Vec<Key>,
    /// The last escape sequence was `ESC O` (SS3): the next character names the key.
    ss3: bool,
}

impl Default for InputParser {
    fn default() -> Self {
        Self::new()
    }
}

impl InputParser {
    /// A parser in its ground state.
    pub fn new() -> Self {
        InputParser {
            parser: Parser::new(),
            keys: Keys::default(),
        }
    }

    /// The keys in `bytes`. A chunk ending in a lone ESC is the Escape key: terminals send a
    /// sequence's bytes together, and a person pressing Esc sends the one byte.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        // vte ignores DEL (0x7f), which is what Backspace sends on most terminals
        for (i, part) in bytes.split(|&b| b == 0x7f).enumerate() {
            if i > 0 {
                self.keys.out.push(Key::new(KeyCode::Backspace));
            }
            self.parser.advance(&mut self.keys, part);
        }
        if bytes.last() == Some(&0x1b) {
            self.parser = Parser::new();
            self.keys.ss3 = false;
            self.keys.out.push(Key::new(KeyCode::Esc));
        }
        std::mem::take(&mut self.keys.out)
    }
}

impl Perform for Keys {
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
                self.out.push(Key::new(code));
                return;
            }
        }
        self.out.push(Key::char(c));
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
        self.out.push(key);
    }

    fn csi_dispatch(&mut self, params: &Params, _intermediates: &[u8], _ignore: bool, c: char) {
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
        self.out.push(Key::new(code));
    }

    fn esc_dispatch(&mut self, _intermediates: &[u8], _ignore: bool, byte: u8) {
        self.ss3 = byte == b'O';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(bytes: &[u8]) -> Vec<Key> {
        InputParser::new().feed(bytes)
    }

    #[test]
    fn arrows_and_editing_keys() {
        use KeyCode::*;
        let cases: [(&[u8], KeyCode); 16] = [
            (b"\x1b[A", Up),
            (b"\x1b[B", Down),
            (b"\x1b[C", Right),
            (b"\x1b[D", Left),
            (b"\x1bOA", Up),
            (b"\x1bOD", Left),
            (b"\x1b[H", Home),
            (b"\x1b[F", End),
            (b"\x1b[1~", Home),
            (b"\x1b[4~", End),
            (b"\x1b[5~", PageUp),
            (b"\x1b[6~", PageDown),
            (b"\x1b[3~", Delete),
            (b"\x1b[Z", BackTab),
            (b"\t", Tab),
            (b"\r", Enter),
        ];
        for (bytes, code) in cases {
            assert_eq!(keys(bytes), vec![Key::new(code)], "{bytes:?}");
        }
    }

    #[test]
    fn backspace_ctrl_c_esc_and_text() {
        assert_eq!(keys(b"\x7f"), vec![Key::new(KeyCode::Backspace)]);
        assert_eq!(keys(b"\x08"), vec![Key::new(KeyCode::Backspace)]);
        assert_eq!(keys(b"\x03"), vec![Key::ctrl('c')]);
        assert_eq!(keys(b"\x1b"), vec![Key::new(KeyCode::Esc)]);
        assert_eq!(
            keys("aé✓".as_bytes()),
            vec![Key::char('a'), Key::char('é'), Key::char('✓')]
        );
        assert_eq!(
            keys(b"x\x7fy"),
            vec![Key::char('x'), Key::new(KeyCode::Backspace), Key::char('y')]
        );
    }

    #[test]
    fn sequences_split_across_reads_and_back_to_back() {
        let mut p = InputParser::new();
        assert_eq!(p.feed(b"\x1b["), vec![]);
        assert_eq!(p.feed(b"C"), vec![Key::new(KeyCode::Right)]);
        assert_eq!(
            p.feed(b"\x1b[B\x1b[Bq"),
            vec![
                Key::new(KeyCode::Down),
                Key::new(KeyCode::Down),
                Key::char('q')
            ]
        );
        // after a lone ESC the parser is back in its ground state
        assert_eq!(p.feed(b"\x1b"), vec![Key::new(KeyCode::Esc)]);
        assert_eq!(p.feed(b"j"), vec![Key::char('j')]);
    }
}
