//! Colours, symbols and their fallbacks: `NO_COLOR` (no colour at all, highlights by bold,
//! reverse video and brackets) and ASCII (no box drawing, blocks, arrows or check marks).

use std::borrow::Cow;

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

/// How the app may draw: with or without colour, with Unicode or plain ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Colours allowed (false under `NO_COLOR` or `TERM=dumb`).
    pub color: bool,
    /// Only ASCII characters (from `--ascii` or a non-UTF-8 locale).
    pub ascii: bool,
    /// The terminal takes 24-bit colour (`COLORTERM=truecolor`); otherwise images use the
    /// 256-colour palette.
    pub truecolor: bool,
}

/// ASCII borders: `+-|`.
const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

impl Default for Theme {
    fn default() -> Self {
        Theme {
            color: true,
            ascii: false,
            truecolor: true,
        }
    }
}

impl Theme {
    /// A theme from explicit choices (tests, SSH sessions that learn the terminal type).
    pub fn new(color: bool, ascii: bool) -> Self {
        Theme {
            color,
            ascii,
            truecolor: true,
        }
    }

    /// The theme for this process: `ascii_flag` (from `--ascii`) or a non-UTF-8 locale gives
    /// ASCII; `NO_COLOR` (set and non-empty) or `TERM=dumb` gives no colour.
    pub fn detect(ascii_flag: bool) -> Self {
        Self::from_env(ascii_flag, |name| std::env::var(name).ok())
    }

    /// [`Theme::detect`] with the environment supplied by `var` (testable, and usable for an
    /// SSH client's environment).
    pub fn from_env(ascii_flag: bool, var: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let no_color = set("NO_COLOR").is_some() || set("TERM").is_some_and(|t| t == "dumb");
        // The locale that decides the character set: LC_ALL, then LC_CTYPE, then LANG.
        let locale = set("LC_ALL")
            .or_else(|| set("LC_CTYPE"))
            .or_else(|| set("LANG"));
        let utf8 = locale.is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        });
        let truecolor = set("COLORTERM").is_some_and(|c| {
            let c = c.to_ascii_lowercase();
            c.contains("truecolor") || c.contains("24bit")
        });
        Theme {
            color: !no_color,
            ascii: ascii_flag || !utf8,
            truecolor,
        }
    }

    /// Border characters for blocks.
    pub fn border(&self) -> border::Set {
        if self.ascii {
            ASCII_BORDER
        } else {
            border::ROUNDED
        }
    }

    fn pick(&self, colored: Style, plain: Style) -> Style {
        if self.color {
            colored
        } else {
            plain
        }
    }

    /// Titles and headings.
    pub fn heading(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// The top bar.
    pub fn bar(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Cyan),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }

    /// The selected menu row.
    pub fn selected(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    /// Cells inside the highlighted window (the filter's position).
    pub fn window(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// The window's brackets.
    pub fn bracket(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// Emphasised cells (the value just written).
    pub fn emphasis(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::Black)
                .bg(Color::Green)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )
    }

    /// The edit cursor.
    pub fn cursor(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::Black)
                .bg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    /// Values not computed yet, hints, secondary text.
    pub fn dim(&self) -> Style {
        self.pick(
            Style::new().fg(Color::DarkGray),
            Style::new().add_modifier(Modifier::DIM),
        )
    }

    /// The arithmetic line.
    pub fn formula(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::LightGreen)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// Key names in the status line and the help.
    pub fn key(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// Border of the focused area.
    pub fn focused(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// Notices and errors in the status line.
    pub fn notice(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// Bars in a bar chart.
    pub fn bar_fill(&self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new())
    }

    /// A colour for an image pixel (only called when `color` is on).
    pub fn pixel(&self, r: u8, g: u8, b: u8) -> Color {
        if self.truecolor {
            Color::Rgb(r, g, b)
        } else {
            Color::Indexed(rgb_to_256(r, g, b))
        }
    }

    /// The symbols to draw with.
    pub fn symbols(&self) -> &'static Symbols {
        if self.ascii {
            &ASCII_SYMBOLS
        } else {
            &UNICODE_SYMBOLS
        }
    }

    /// Text from a lesson, made safe to draw: in ASCII mode every non-ASCII character is
    /// replaced by an ASCII spelling.
    pub fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.ascii {
            asciify(s)
        } else {
            Cow::Borrowed(s)
        }
    }

    /// `lines` with every span's text through [`Theme::text`] (styles kept).
    pub fn lines(&self, lines: Vec<ratatui::text::Line<'_>>) -> Vec<ratatui::text::Line<'static>> {
        use ratatui::text::{Line, Span};
        lines
            .into_iter()
            .map(|l| {
                Line::from(
                    l.spans
                        .into_iter()
                        .map(|sp| Span::styled(self.text(&sp.content).into_owned(), sp.style))
                        .collect::<Vec<_>>(),
                )
                .style(l.style)
            })
            .collect()
    }
}

/// Characters that differ between Unicode and ASCII drawing.
#[derive(Debug)]
pub struct Symbols {
    /// Menu mark of a finished lesson.
    pub finished: &'static str,
    /// Menu mark of a visited lesson.
    pub visited: &'static str,
    /// Menu mark of a lesson not opened yet.
    pub fresh: &'static str,
    /// Points at the selected menu row.
    pub pointer: &'static str,
    /// Shown while playing.
    pub play: &'static str,
    /// Marks cut-off text.
    pub ellipsis: &'static str,
    /// Filled part of a bar.
    pub bar_full: &'static str,
    /// Empty part of a bar.
    pub bar_empty: &'static str,
    /// Keys in hints.
    pub left: &'static str,
    /// Keys in hints.
    pub right: &'static str,
    /// Keys in hints.
    pub up: &'static str,
    /// Keys in hints.
    pub down: &'static str,
    /// Separator in the title bar.
    pub dot: &'static str,
    /// Content continues below.
    pub more_below: &'static str,
    /// Content continues above.
    pub more_above: &'static str,
}

static UNICODE_SYMBOLS: Symbols = Symbols {
    finished: "✓",
    visited: "•",
    fresh: " ",
    pointer: "▶",
    play: "▶",
    ellipsis: "…",
    bar_full: "█",
    bar_empty: "░",
    left: "←",
    right: "→",
    up: "↑",
    down: "↓",
    dot: "·",
    more_below: "▼ more",
    more_above: "▲ more",
};

static ASCII_SYMBOLS: Symbols = Symbols {
    finished: "x",
    visited: "o",
    fresh: " ",
    pointer: ">",
    play: ">",
    ellipsis: "...",
    bar_full: "#",
    bar_empty: ".",
    left: "Left",
    right: "Right",
    up: "Up",
    down: "Down",
    dot: "-",
    more_below: "v more",
    more_above: "^ more",
};

/// Spell `s` in ASCII: common typographic and math characters get ASCII spellings, anything
/// else becomes `?`.
pub fn asciify(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_ascii() {
            out.push(ch);
            continue;
        }
        let rep = match ch {
            '×' | '·' | '⋅' | '∙' => "x",
            '÷' => "/",
            '−' | '–' | '—' | '‐' | '‑' | '─' => "-",
            '→' | '⟶' => "->",
            '←' | '⟵' => "<-",
            '↔' | '⟷' => "<->",
            '↑' => "^",
            '↓' => "v",
            '⇒' => "=>",
            '‘' | '’' | '′' => "'",
            '“' | '”' | '″' => "\"",
            '…' => "...",
            '≈' => "~",
            '≠' => "!=",
            '≤' => "<=",
            '≥' => ">=",
            '±' => "+/-",
            '√' => "sqrt",
            '∑' | 'Σ' => "sum",
            '∞' => "inf",
            '²' => "^2",
            '³' => "^3",
            '¹' => "^1",
            '⁰' => "^0",
            '⁻' => "^-",
            '½' => "1/2",
            '¼' => "1/4",
            'α' => "alpha",
            'β' => "beta",
            'σ' => "sigma",
            'μ' => "mu",
            'λ' => "lambda",
            'η' => "eta",
            'θ' => "theta",
            '°' => " deg",
            '✓' | '✔' => "v",
            '✗' | '✘' => "x",
            '•' | '◦' | '▪' => "*",
            '█' | '▓' => "#",
            '▒' => "+",
            '░' => ".",
            '│' | '┃' | '║' => "|",
            '\u{a0}' => " ",
            'é' | 'è' | 'ê' => "e",
            'à' | 'á' | 'â' => "a",
            'ö' => "o",
            'ü' => "u",
            _ => "?",
        };
        out.push_str(rep);
    }
    Cow::Owned(out)
}

/// The nearest colour of the xterm 256-colour palette (6x6x6 cube or grey ramp).
fn rgb_to_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| -> u8 {
        // cube levels 0, 95, 135, 175, 215, 255
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            ((u16::from(v) - 35) / 40).min(5) as u8
        }
    };
    let (lr, lg, lb) = (level(r), level(g), level(b));
    let cube_value = |l: u8| -> i32 {
        if l == 0 {
            0
        } else {
            55 + 40 * i32::from(l)
        }
    };
    let cube_err = {
        let d = |v: u8, l: u8| (i32::from(v) - cube_value(l)).pow(2);
        d(r, lr) + d(g, lg) + d(b, lb)
    };
    let avg = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    let grey_index = if avg < 8 {
        0
    } else {
        ((avg - 8) / 10).min(23) as u8
    };
    let grey_value = 8 + 10 * i32::from(grey_index);
    let grey_err = {
        let d = |v: u8| (i32::from(v) - grey_value).pow(2);
        d(r) + d(g) + d(b)
    };
    if grey_err < cube_err {
        232 + grey_index
    } else {
        16 + 36 * lr + 6 * lg + lb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        }
    }

    #[test]
    fn no_color_needs_a_non_empty_value() {
        let t = Theme::from_env(false, env(&[("NO_COLOR", "1"), ("LANG", "en_US.UTF-8")]));
        assert!(!t.color);
        assert!(!t.ascii);
        let t = Theme::from_env(false, env(&[("NO_COLOR", ""), ("LANG", "en_US.UTF-8")]));
        assert!(t.color);
    }

    #[test]
    fn locale_decides_ascii_in_posix_order() {
        assert!(Theme::from_env(false, env(&[("LANG", "C")])).ascii);
        assert!(Theme::from_env(false, env(&[])).ascii);
        assert!(!Theme::from_env(false, env(&[("LANG", "C.utf8")])).ascii);
        // LC_ALL wins over LANG
        assert!(Theme::from_env(false, env(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")])).ascii);
        assert!(!Theme::from_env(false, env(&[("LC_CTYPE", "de_DE.UTF-8"), ("LANG", "C")])).ascii);
        // --ascii always wins
        assert!(Theme::from_env(true, env(&[("LANG", "en_US.UTF-8")])).ascii);
    }

    #[test]
    fn asciify_leaves_only_ascii() {
        let s = asciify("(255 × −1) → 155 … ✓ σ² ≈ 0.5 ☃");
        assert!(s.is_ascii());
        assert_eq!(s, "(255 x -1) -> 155 ... v sigma^2 ~ 0.5 ?");
    }

    #[test]
    fn palette_mapping_hits_the_obvious_colours() {
        assert_eq!(rgb_to_256(0, 0, 0), 16);
        assert_eq!(rgb_to_256(255, 255, 255), 231);
        assert_eq!(rgb_to_256(255, 0, 0), 196);
        assert_eq!(rgb_to_256(128, 128, 128), 244);
    }
}
