//! Text that came from outside (lesson files, checkpoint metadata, file and folder names,
//! an SSH client's TERM or login name) made safe to draw or print: no control character
//! of it reaches a terminal or a log, where an escape sequence could set the window title,
//! clear the screen or forge a line.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with every control character escaped in a visible form (`\e`, `\n`, `\r`, `\t`,
/// `\x07`, `\u{9b}`...), so what it holds can be read but not acted on by a terminal.
/// Text without control characters is returned as it is, without a copy.
pub fn escaped(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` with control characters escaped as [`escaped`] does, except that line breaks and
/// tabs are kept: for multi-line text (a lesson's paragraphs) that is wrapped before it is
/// drawn, where a newline is layout and not an attack.
pub fn escaped_multiline(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) && c != '\n' && c != '\t' {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A path for a message: [`escaped`] over its lossy display form.
pub fn path(p: &std::path::Path) -> String {
    escaped(&p.display().to_string()).into_owned()
}

/// Whether `c` must not reach a terminal as it is: C0 and C1 control characters, DEL,
/// and the Unicode line and paragraph separators and bidirectional overrides, which
/// some terminals act on.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fn push_escape(out: &mut String, c: char) {
    match c {
        '\u{1b}' => out.push_str("\\e"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// A name's sort key that orders runs of digits by their value (`sam-2` before `sam-10`).
pub fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut n = u64::from(c as u8 - b'0');
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n = n
                    .saturating_mul(10)
                    .saturating_add(u64::from(*d as u8 - b'0'));
                chars.next();
            }
            key.push((std::mem::take(&mut text), n));
        } else {
            text.push(c);
        }
    }
    key.push((text, 0));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_with_their_numbers_as_numbers() {
        let mut v = vec!["sam-10", "sam-2", "ada", "sam", "sam-1"];
        v.sort_by_key(|n| natural_key(n));
        assert_eq!(v, ["ada", "sam", "sam-1", "sam-2", "sam-10"]);
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let s = "Convolution: 3x3 filter, \u{2192} next (ünïcode ok)";
        assert!(matches!(escaped(s), Cow::Borrowed(_)));
        assert_eq!(escaped(s), s);
    }

    #[test]
    fn escape_sequences_become_visible_text() {
        let hostile =
            "title\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nmallory@10.0.0.1:1 logged in\u{9b}31m\u{7f}";
        let safe = escaped(hostile);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert_eq!(
            safe,
            "title\\e]0;pwned\\x07\\e[2J\\r\\nmallory@10.0.0.1:1 logged in\\u{9b}31m\\x7f"
        );
    }

    #[test]
    fn multiline_keeps_newlines_and_tabs_only() {
        let s = "one\n\ttwo\u{1b}[2J\rthree";
        assert_eq!(escaped_multiline(s), "one\n\ttwo\\e[2J\\rthree");
    }

    #[test]
    fn bidi_overrides_are_escaped() {
        assert_eq!(escaped("a\u{202e}b"), "a\\u{202e}b");
    }
}

/// A number written with a format's precision and sign flag (`{:.4}`, `{:+.4}`), except
/// that a value that rounds to zero never keeps a minus: `-0.00001` at four decimals is
/// `0.0000` (or `+0.0000`), not `-0.0000`. Every fixed-decimal number a learner reads
/// (the inspector, `explore`, the training screens) goes through it.
#[derive(Debug, Clone, Copy)]
pub struct Dec(pub f64);

impl Dec {
    /// A value of either float type, or a reference to one.
    pub fn of(v: impl Float) -> Dec {
        Dec(v.as_f64())
    }
}

/// A float [`Dec`] can write (`f32`, `f64` and references to them).
pub trait Float {
    /// The value as an `f64`.
    fn as_f64(&self) -> f64;
}

impl Float for f32 {
    fn as_f64(&self) -> f64 {
        f64::from(*self)
    }
}

impl Float for f64 {
    fn as_f64(&self) -> f64 {
        *self
    }
}

impl<T: Float> Float for &T {
    fn as_f64(&self) -> f64 {
        (**self).as_f64()
    }
}

impl std::fmt::Display for Dec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        let s = match f.precision() {
            Some(p) => format!("{v:.p$}"),
            None => format!("{v}"),
        };
        let body = s.trim_start_matches('-');
        let zero = body.chars().all(|c| c == '0' || c == '.');
        let negative = s.starts_with('-') && !zero;
        // the sign, the `+` flag, width and fill as for any number
        f.pad_integral(!negative, "", body)
    }
}

#[cfg(test)]
mod dec_tests {
    use super::Dec;

    #[test]
    fn no_negative_zero_at_any_precision() {
        assert_eq!(format!("{:.4}", Dec(-0.00001)), "0.0000");
        assert_eq!(format!("{:.4}", Dec(-0.0)), "0.0000");
        assert_eq!(format!("{:+.4}", Dec(-0.00001)), "+0.0000");
        assert_eq!(format!("{:.4}", Dec(-0.25)), "-0.2500");
        assert_eq!(format!("{:+.2}", Dec(0.5)), "+0.50");
        assert_eq!(format!("{:.1}%", Dec::of(-0.01f32)), "0.0%");
        assert_eq!(format!("{:>8.2}", Dec(-0.001)), "    0.00");
        assert_eq!(format!("{:.3}", Dec::of(1.0f32)), "1.000");
    }
}
