//! "Your turn": the questions a lesson asks, how a typed answer is checked, and what is
//! hidden while a question is open.
//!
//! A lesson kind says what it asks ([`super::kinds::LessonKind::questions`]); the default
//! ([`from_steps`]) asks the value each step writes (its one emphasised cell) with the
//! step's formula as the working, so a new kind asks something sensible without code.
//! Every answer is the engine's value as the step shows it; nothing here computes a
//! result, only the products of a formula's terms for the hints.

use crate::lesson::frame::{Panel, Step, Sum};
use crate::lesson::number::fmt_num;

/// Where a hidden value goes in a [`Hide`] text: replaced by `?` on screen and `____` on a
/// worksheet. Lesson text can never hold it (`{?}` is not a placeholder of any kind).
pub const MARK: &str = "{?}";

/// What a worksheet prints for a hidden value.
pub const BLANK: &str = "____";

/// One question of a lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The step (0-based) that asks it: while it is open that step hides the answer.
    pub step: usize,
    /// What is asked ("What goes into row 2, column 2 of the feature map?").
    pub ask: String,
    /// The right answer, as the engine computed it.
    pub answer: Answer,
    /// Hints, in the order they are given (the products one by one, then a partial sum).
    pub hints: Vec<String>,
    /// The worked answer ("255 - 255 + 255 ... = 155").
    pub working: String,
    /// Where the answer shows, hidden while the question is open (and on a worksheet).
    pub hide: Vec<Hide>,
    /// The app asks it (a kind may ask only some of many cells in the app; a worksheet
    /// asks them all).
    pub in_app: bool,
}

/// A right answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A number, checked to the precision it is shown with ([`check_number`]).
    Number(f32),
    /// One of some options, typed as its number (1 is the first).
    Choice {
        /// The options, in the order they are numbered.
        options: Vec<String>,
        /// Index of the right one.
        right: usize,
    },
    /// Some of at most nine options, typed as their numbers (`13`), `0` for none.
    Set {
        /// The options, in the order they are numbered.
        options: Vec<String>,
        /// Indices of the right ones, ascending.
        right: Vec<usize>,
    },
}

/// What a typed answer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Right.
    Right,
    /// Wrong.
    Wrong,
    /// Right as far as it goes, but with fewer decimals than asked (not counted as a try).
    TooCoarse(usize),
    /// Not an answer at all (not counted as a try): why.
    Invalid(String),
}

/// Something a question hides.
#[derive(Debug, Clone, PartialEq)]
pub enum Hide {
    /// A cell of the grid labelled `label`: in the asking step and, on a worksheet, in
    /// every later step with a grid of that label.
    Cell {
        /// The grid's label.
        label: String,
        /// Row (0-based).
        row: usize,
        /// Column (0-based).
        col: usize,
    },
    /// An entry of the vector labelled `label` (the same steps as a cell).
    Entry {
        /// The vector's label.
        label: String,
        /// Index into its values.
        index: usize,
    },
    /// Every value of the grid or vector labelled `label` in the asking step, with its
    /// emphasis and dimming; a grid's label becomes `as_label` when given.
    Panel {
        /// The panel's label.
        label: String,
        /// The label shown instead, if any.
        as_label: Option<String>,
    },
    /// The emphasis of the grid or vector labelled `label` in the asking step.
    Emphasis(String),
    /// The asking step's heading, as shown instead ([`MARK`] is the blank).
    Heading(String),
    /// The asking step's formula, as shown instead.
    Formula(String),
    /// The asking step's text, as shown instead.
    Text(Vec<String>),
    /// The whole word `word` in the text (and with `formula` the formula) of step `step`:
    /// the asking step, or on a worksheet a later one that says the value in words.
    Words {
        /// The step (0-based).
        step: usize,
        /// The word, as [`fmt_num`] writes the value.
        word: String,
        /// The formula too.
        formula: bool,
    },
    /// The panel labelled `label` left out of the asking step (a picture or a rescaled
    /// grid that would give the answer away).
    Drop(String),
}

impl Answer {
    /// The answer as the app shows it when it is revealed.
    pub fn shown(&self) -> String {
        match self {
            Answer::Number(v) => fmt_num(*v),
            Answer::Choice { options, right } => options.get(*right).cloned().unwrap_or_default(),
            Answer::Set { options, right } => {
                if right.is_empty() {
                    "none".into()
                } else {
                    right
                        .iter()
                        .filter_map(|&i| options.get(i).cloned())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            }
        }
    }

    /// How to type it ("a number", "1 to 3", "numbers like 13, 0 for none").
    pub fn how(&self) -> String {
        match self {
            Answer::Number(_) => "type a number".into(),
            Answer::Choice { options, .. } => format!(
                "type {}",
                options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| format!("{} for {o}", i + 1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Answer::Set { options, .. } => format!(
                "type their numbers (1 to {}, e.g. 13), 0 for none",
                options.len()
            ),
        }
    }

    /// Check what the learner typed.
    pub fn check(&self, typed: &str) -> Verdict {
        match self {
            Answer::Number(v) => check_number(*v, typed),
            Answer::Choice { options, right } => match parse_decimal(typed) {
                Some(d) if d.places == 0 && d.mantissa >= 1 => {
                    if d.mantissa as usize > options.len() {
                        Verdict::Invalid(format!("choose 1 to {}", options.len()))
                    } else if d.mantissa as usize == right + 1 {
                        Verdict::Right
                    } else {
                        Verdict::Wrong
                    }
                }
                _ => Verdict::Invalid(format!("choose 1 to {}", options.len())),
            },
            Answer::Set { options, right } => {
                let t = typed.trim();
                if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
                    return Verdict::Invalid(format!(
                        "type map numbers 1 to {}, or 0 for none",
                        options.len()
                    ));
                }
                let mut chosen: Vec<usize> = Vec::new();
                for c in t.chars() {
                    let n = c as usize - '0' as usize;
                    if n == 0 {
                        continue;
                    }
                    if n > options.len() {
                        return Verdict::Invalid(format!(
                            "there is no {n}: choose from 1 to {}",
                            options.len()
                        ));
                    }
                    if !chosen.contains(&(n - 1)) {
                        chosen.push(n - 1);
                    }
                }
                if t.contains('0') && !chosen.is_empty() {
                    return Verdict::Invalid("0 means none: type it alone".into());
                }
                chosen.sort_unstable();
                if &chosen == right {
                    Verdict::Right
                } else {
                    Verdict::Wrong
                }
            }
        }
    }
}

/// A decimal as typed: `mantissa / 10^places`, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    mantissa: i128,
    places: u32,
}

/// Most digits a typed answer may have (keeps the arithmetic exact).
const MAX_DIGITS: usize = 18;

/// `155`, `-155`, `+155`, `155.`, `.5`, `-0`, `0.665`: an optional sign, digits with at
/// most one point, at least one digit. Anything else is `None`.
fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    let digits = int.len() + frac.len();
    if digits == 0
        || digits > MAX_DIGITS
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut mantissa: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa * 10 + i128::from(b - b'0');
    }
    Some(Decimal {
        mantissa: if neg { -mantissa } else { mantissa },
        places: frac.len() as u32,
    })
}

fn pow10(n: u32) -> i128 {
    10i128.pow(n)
}

/// The same two decimals (`155` and `155.0`, `-0` and `0`).
fn same(a: Decimal, b: Decimal) -> bool {
    let p = a.places.max(b.places);
    a.mantissa * pow10(p - a.places) == b.mantissa * pow10(p - b.places)
}

/// Check a typed number against the engine's value `v`, to the precision the app shows it
/// with ([`fmt_num`]):
///
/// - a value shown exactly (every whole number, `0.5`, `0.25`; float noise below one part
///   in a million aside) must be typed exactly, with any number of zeros after it
///   (`155`, `155.0`, `155.`, `+155`; `0` and `-0` alike);
/// - a value shown rounded (`0.665` for 0.66523) is right when typed with at least one
///   decimal fewer than shown (and at least one), either rounded or cut off there
///   (`0.67` or `0.66`, `0.665`); with more decimals than shown each digit must be right
///   to within one unit of the last (`0.6652`). Negative values round and cut off
///   towards zero alike (`-0.67` or `-0.66` for -0.66523). Fewer decimals than that is
///   [`Verdict::TooCoarse`] when the typed value agrees so far, else wrong.
///
/// Not a number (empty, `-`, `.`, `1.2.3`, `1-2`, more than 18 digits) is
/// [`Verdict::Invalid`], never a wrong try.
pub fn check_number(v: f32, typed: &str) -> Verdict {
    let Some(t) = parse_decimal(typed) else {
        let shown = crate::text::escaped(typed.trim()).into_owned();
        return Verdict::Invalid(if shown.is_empty() {
            "type a number first".into()
        } else {
            format!("`{shown}` is not a number")
        });
    };
    if !v.is_finite() {
        return Verdict::Wrong;
    }
    let shown = fmt_num(v);
    let Some(d) = parse_decimal(&shown) else {
        return Verdict::Wrong;
    };
    let v64 = f64::from(v);
    let d64 = d.mantissa as f64 / pow10(d.places) as f64;
    let noise = 1e-6 * v64.abs().max(1.0);
    if (v64 - d64).abs() <= noise {
        // shown exactly
        return if same(t, d) {
            Verdict::Right
        } else {
            Verdict::Wrong
        };
    }
    let need = d.places.saturating_sub(1).max(1);
    let k = t.places;
    if k > 15 {
        return Verdict::Wrong;
    }
    let scaled = v64 * pow10(k) as f64;
    let rounded = scaled.round() as i128;
    let cut = scaled.trunc() as i128;
    // the shown value rounded half away from zero at k places
    let shown_rounded = if k < d.places {
        let unit = pow10(d.places - k);
        let half = unit / 2;
        let m = d.mantissa;
        if m >= 0 {
            (m + half) / unit
        } else {
            (m - half) / unit
        }
    } else {
        d.mantissa * pow10(k - d.places)
    };
    let agrees = if k <= d.places {
        t.mantissa == rounded || t.mantissa == cut || t.mantissa == shown_rounded
    } else {
        let tv = t.mantissa as f64 / pow10(k) as f64;
        (tv - v64).abs() <= 1.0 / pow10(k) as f64 + noise
    };
    match (agrees, k < need) {
        (true, false) => Verdict::Right,
        (true, true) => Verdict::TooCoarse(need as usize),
        (false, _) => Verdict::Wrong,
    }
}

/// The default questions: every step that writes one value (exactly one emphasised grid
/// cell or vector entry, known) asks it, with the step's formula as the working.
pub fn from_steps(steps: &[Step]) -> Vec<Question> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| from_step(i, s))
        .collect()
}

/// The value step `index` writes, asked (see [`from_steps`]); `None` when it writes none.
pub fn from_step(index: usize, step: &Step) -> Option<Question> {
    let mut found: Vec<(Hide, f32, String)> = Vec::new();
    for p in &step.panels {
        match p {
            Panel::Grid(g) => {
                for &(r, c) in &g.emphasis {
                    let v = g.get(r, c)?;
                    found.push((
                        Hide::Cell {
                            label: g.label.clone(),
                            row: r,
                            col: c,
                        },
                        v,
                        format!(
                            "What goes into row {}, column {} of {}?",
                            r + 1,
                            c + 1,
                            lower_first(&g.label)
                        ),
                    ));
                }
            }
            Panel::Vector(vec) => {
                for &i in &vec.emphasis {
                    let v = vec.values.get(i).copied().flatten()?;
                    let name = vec.names.get(i).map_or_else(
                        || format!("value {} (index {})", vec.offset + i + 1, vec.offset + i),
                        |n| format!("the {n} value"),
                    );
                    found.push((
                        Hide::Entry {
                            label: vec.label.clone(),
                            index: i,
                        },
                        v,
                        format!("What is {name} of {}?", lower_first(&vec.label)),
                    ));
                }
            }
            _ => {}
        }
    }
    if found.len() != 1 {
        return None;
    }
    let (place, v, ask) = found.pop()?;
    if !v.is_finite() {
        return None;
    }
    let shown = fmt_num(v);
    let mut hide = vec![place];
    let mut hints = Vec::new();
    let mut working = shown.clone();
    if let Some(f) = &step.formula {
        if let Some(left) = formula_left(f, &shown) {
            hide.push(Hide::Formula(format!("{left} = {MARK}")));
            working = format!("{left} = {shown}");
            if let Some(sum) = step.sum.as_ref().filter(|s| s.values().len() >= 2) {
                hints = product_hints(sum);
                working = format!("{left} = {} = {shown}", signed_sum(&sum.values()));
            }
        }
    }
    if shown.chars().filter(char::is_ascii_digit).count() > 1 {
        // a single digit is too likely to be some other number of the text
        hide.push(Hide::Words {
            step: index,
            word: shown.clone(),
            formula: false,
        });
    }
    if hints.is_empty() {
        hints.push(format!("{} (the step's own working)", step.heading));
    }
    Some(Question {
        step: index,
        ask,
        answer: Answer::Number(v),
        hints,
        working,
        hide,
        in_app: true,
    })
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("the {}{}", f.to_lowercase(), c.as_str()),
        None => String::new(),
    }
}

/// The formula up to its last ` = ` when what follows reads `shown`.
pub fn formula_left<'a>(formula: &'a str, shown: &str) -> Option<&'a str> {
    let at = formula.rfind(" = ")?;
    (formula[at + 3..].trim() == shown).then_some(&formula[..at])
}

/// The hints of a sum: the products one by one, then the sum of the first half.
pub fn product_hints(sum: &Sum) -> Vec<String> {
    let values = sum.values();
    let mut parts: Vec<String> = sum
        .products
        .iter()
        .map(|&(a, b)| format!("{} x {} = {}", fmt_num(a), fmt_num(b), fmt_num(a * b)))
        .collect();
    if let Some(b) = sum.bias {
        parts.push(if b < 0.0 {
            format!("- {}", fmt_num(-b))
        } else {
            format!("+ {}", fmt_num(b))
        });
    }
    let half = values.len().div_ceil(2);
    let partial: f32 = values.iter().take(half).sum();
    vec![
        format!("The products one by one: {}", parts.join(", ")),
        format!(
            "The first {half} of the {} terms add up to {}; now add the rest",
            values.len(),
            fmt_num(partial)
        ),
    ]
}

/// Signed values written as one sum: `25 - 3 + 0.5`.
fn signed_sum(values: &[f32]) -> String {
    let mut s = String::new();
    for (i, v) in values.iter().enumerate() {
        if i == 0 {
            s.push_str(&fmt_num(*v));
        } else if *v < 0.0 {
            s.push_str(&format!(" - {}", fmt_num(v.abs())));
        } else {
            s.push_str(&format!(" + {}", fmt_num(*v)));
        }
    }
    s
}

/// Every ([`Panel`] index, cell index) a [`mask`] blanked.
pub type Blanked = Vec<(usize, usize)>;

/// Step `index` as shown with these questions' answers hidden (`blank` for each hidden
/// word: `?` on screen, [`BLANK`] on a worksheet): cells and entries of questions of this
/// step and earlier ones (a worksheet passes them all, the app only the open one);
/// headings, formulas, text and whole panels of this step's questions. Also returns the
/// cells it blanked, so a printer can draw them as blanks rather than `?`.
pub fn mask(step: &Step, index: usize, questions: &[&Question], blank: &str) -> (Step, Blanked) {
    let mut out = step.clone();
    let mut blanked = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for q in questions.iter().filter(|q| q.step <= index) {
        let here = q.step == index;
        for h in &q.hide {
            match h {
                Hide::Cell { label, row, col } => {
                    hide_cell(&mut out.panels, label, (*row, *col), &mut blanked);
                }
                Hide::Entry { label, index: e } => {
                    hide_entry(&mut out.panels, label, *e, &mut blanked);
                }
                Hide::Panel { label, as_label } if here => {
                    hide_panel(&mut out.panels, label, as_label.as_deref(), &mut blanked);
                }
                Hide::Emphasis(label) if here => {
                    for p in &mut out.panels {
                        match p {
                            Panel::Grid(g) if &g.label == label => g.emphasis.clear(),
                            Panel::Vector(v) if &v.label == label => v.emphasis.clear(),
                            _ => {}
                        }
                    }
                }
                Hide::Drop(label) if here => dropped.push(label.clone()),
                Hide::Heading(h) if here => out.heading = h.replace(MARK, blank),
                Hide::Formula(f) if here => out.formula = Some(f.replace(MARK, blank)),
                Hide::Text(t) if here => {
                    out.text = t.iter().map(|p| p.replace(MARK, blank)).collect();
                }
                Hide::Words {
                    step: s,
                    word,
                    formula,
                } if *s == index => {
                    out.text = out
                        .text
                        .iter()
                        .map(|p| replace_words(p, word, blank))
                        .collect();
                    if *formula {
                        out.formula = out.formula.map(|f| replace_words(&f, word, blank));
                    }
                }
                _ => {}
            }
        }
    }
    if !dropped.is_empty() {
        drop_panels(&mut out.panels, &dropped, &mut blanked);
    }
    blanked.sort_unstable();
    blanked.dedup();
    (out, blanked)
}

/// Blank cell (`row`, `col`) of every grid called `label` ([`Hide::Cell`]).
fn hide_cell(panels: &mut [Panel], label: &str, (row, col): (usize, usize), blanked: &mut Blanked) {
    for (pi, p) in panels.iter_mut().enumerate() {
        if let Panel::Grid(g) = p {
            if g.label == label && row < g.rows && col < g.cols {
                let i = row * g.cols + col;
                if let Some(c) = g.cells.get_mut(i) {
                    if c.take().is_some() {
                        blanked.push((pi, i));
                    }
                }
            }
        }
    }
}

/// Blank entry `e` of every vector called `label` ([`Hide::Entry`]).
fn hide_entry(panels: &mut [Panel], label: &str, e: usize, blanked: &mut Blanked) {
    for (pi, p) in panels.iter_mut().enumerate() {
        if let Panel::Vector(v) = p {
            if v.label == label {
                if let Some(c) = v.values.get_mut(e) {
                    if c.take().is_some() {
                        blanked.push((pi, e));
                    }
                }
            }
        }
    }
}

/// Blank every value of the grids and vectors called `label`, with their emphasis (and
/// a grid's dimming); a grid may take the label `as_label` ([`Hide::Panel`]).
fn hide_panel(panels: &mut [Panel], label: &str, as_label: Option<&str>, blanked: &mut Blanked) {
    for (pi, p) in panels.iter_mut().enumerate() {
        match p {
            Panel::Grid(g) if g.label == label => {
                for (i, c) in g.cells.iter_mut().enumerate() {
                    if c.take().is_some() {
                        blanked.push((pi, i));
                    }
                }
                g.emphasis.clear();
                g.dimmed = false;
                if let Some(l) = as_label {
                    g.label = l.to_string();
                }
            }
            Panel::Vector(v) if v.label == label => {
                for (i, c) in v.values.iter_mut().enumerate() {
                    if c.take().is_some() {
                        blanked.push((pi, i));
                    }
                }
                v.emphasis.clear();
            }
            _ => {}
        }
    }
}

/// Leave out the panels called one of `dropped` ([`Hide::Drop`]), and renumber the
/// blanks of the panels after them.
fn drop_panels(panels: &mut Vec<Panel>, dropped: &[String], blanked: &mut Blanked) {
    let label = |p: &Panel| match p {
        Panel::Grid(g) => g.label.clone(),
        Panel::Image(i) => i.label.clone(),
        Panel::Bars(b) => b.label.clone(),
        Panel::Vector(v) => v.label.clone(),
        Panel::Pipeline(p) => p.label.clone(),
    };
    let keep: Vec<bool> = panels
        .iter()
        .map(|p| !dropped.contains(&label(p)))
        .collect();
    let new_index: Vec<usize> = keep
        .iter()
        .scan(0, |n, &k| {
            let i = *n;
            *n += usize::from(k);
            Some(i)
        })
        .collect();
    *blanked = std::mem::take(blanked)
        .into_iter()
        .filter(|&(p, _)| keep[p])
        .map(|(p, c)| (new_index[p], c))
        .collect();
    let mut k = keep.iter();
    panels.retain(|_| *k.next().unwrap_or(&true));
}

/// `text` with every whole word `word` (punctuation around it kept) replaced by `blank`.
pub fn replace_words(text: &str, word: &str, blank: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut first = true;
    for piece in text.split(' ') {
        if !first {
            out.push(' ');
        }
        first = false;
        let start = piece
            .find(|c: char| !matches!(c, '(' | '[' | '"' | '\''))
            .unwrap_or(piece.len());
        let core_and_tail = &piece[start..];
        let core = core_and_tail.trim_end_matches([',', '.', ';', ':', ')', ']', '!', '?', '"']);
        // `155.` at the end of a sentence: the point is punctuation
        if core == word {
            out.push_str(&piece[..start]);
            out.push_str(blank);
            out.push_str(&core_and_tail[core.len()..]);
        } else {
            out.push_str(piece);
        }
    }
    out
}

/// Which of `n` cells the app asks: the first `first`, then one in `every` (by 1-based
/// position), and always the last.
pub fn sample(i: usize, n: usize, first: usize, every: usize) -> bool {
    i < first || (every > 0 && (i + 1).is_multiple_of(every)) || i + 1 == n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::frame::{Grid, Vector};

    fn num(v: f32, t: &str) -> Verdict {
        check_number(v, t)
    }

    #[test]
    fn whole_numbers_are_exact_in_any_spelling() {
        for t in ["155", "+155", "155.", "155.0", "155.000", " 155 ", "0155"] {
            assert_eq!(num(155.0, t), Verdict::Right, "{t}");
        }
        for t in ["154", "155.1", "156", "-155", "15.5", "1550"] {
            assert_eq!(num(155.0, t), Verdict::Wrong, "{t}");
        }
        assert_eq!(num(-155.0, "-155"), Verdict::Right);
        assert_eq!(num(-155.0, "-155.0"), Verdict::Right);
        assert_eq!(num(-155.0, "155"), Verdict::Wrong, "the sign counts");
        for t in ["0", "-0", "+0", "0.", ".0", "-.0", "0.000"] {
            assert_eq!(num(0.0, t), Verdict::Right, "{t}");
            assert_eq!(num(-0.0, t), Verdict::Right, "-0 is 0: {t}");
        }
        assert_eq!(num(0.0, "0.001"), Verdict::Wrong);
        // float noise from the engine does not make 155 inexact
        assert_eq!(num(154.99998, "155"), Verdict::Right);
        assert_eq!(num(0.6 + 1e-7, "0.6"), Verdict::Right);
    }

    #[test]
    fn values_shown_exactly_must_be_typed_exactly() {
        assert_eq!(num(0.5, "0.5"), Verdict::Right);
        assert_eq!(num(0.5, ".5"), Verdict::Right);
        assert_eq!(num(0.5, "0.50"), Verdict::Right);
        assert_eq!(
            num(0.5, "1"),
            Verdict::Wrong,
            "no rounding of an exact value"
        );
        assert_eq!(num(0.5, "0"), Verdict::Wrong);
        assert_eq!(num(0.25, "0.3"), Verdict::Wrong);
        assert_eq!(num(0.25, "0.2"), Verdict::Wrong);
        assert_eq!(num(-1.5, "-1.5"), Verdict::Right);
        assert_eq!(num(-1.5, "-2"), Verdict::Wrong);
        assert_eq!(num(2.0, "2"), Verdict::Right);
    }

    #[test]
    fn rounded_values_accept_rounding_and_cutting_to_the_shown_precision() {
        // a softmax 0.6652 shows as 0.665
        let p = 0.6652_f32;
        assert_eq!(fmt_num(p), "0.665");
        for t in ["0.665", "0.67", "0.66", ".67", "0.6652", "+0.665"] {
            assert_eq!(num(p, t), Verdict::Right, "{t}");
        }
        for t in ["0.664", "0.666", "0.68", "0.65", "0.6659", "0.6"] {
            assert!(
                matches!(num(p, t), Verdict::Wrong | Verdict::TooCoarse(_)),
                "{t}"
            );
        }
        assert_eq!(
            num(p, "0.7"),
            Verdict::TooCoarse(2),
            "right so far, too few decimals"
        );
        assert_eq!(num(p, "1"), Verdict::TooCoarse(2));
        assert_eq!(num(p, "0.6"), Verdict::TooCoarse(2), "cut off at 1 decimal");
        assert_eq!(num(p, "0.8"), Verdict::Wrong);
        assert_eq!(num(p, "-0.665"), Verdict::Wrong);
        // negative values: rounded or cut off towards zero
        let n = -0.6652_f32;
        for t in ["-0.665", "-0.67", "-0.66", "-.67"] {
            assert_eq!(num(n, t), Verdict::Right, "{t}");
        }
        assert_eq!(num(n, "0.67"), Verdict::Wrong);
        assert_eq!(num(n, "-0.68"), Verdict::Wrong);
        // one decimal shown (values from 100 up): that one decimal is needed
        let big = 123.46_f32;
        assert_eq!(fmt_num(big), "123.5");
        assert_eq!(num(big, "123.5"), Verdict::Right);
        assert_eq!(num(big, "123.4"), Verdict::Right, "cut off");
        assert_eq!(num(big, "123.46"), Verdict::Right);
        assert_eq!(num(big, "123"), Verdict::TooCoarse(1));
        assert_eq!(num(big, "124"), Verdict::TooCoarse(1));
        assert_eq!(num(big, "123.6"), Verdict::Wrong);
        // 1/9 shows as 0.111
        let ninth = 1.0_f32 / 9.0;
        assert_eq!(num(ninth, "0.11"), Verdict::Right);
        assert_eq!(num(ninth, "0.111"), Verdict::Right);
        assert_eq!(num(ninth, "0.1111"), Verdict::Right);
        assert_eq!(num(ninth, "0.112"), Verdict::Wrong);
        // small values show more decimals: 0.00214 (5) needs 4
        let small = 0.002_144_f32;
        assert_eq!(fmt_num(small), "0.00214");
        assert_eq!(num(small, "0.00214"), Verdict::Right);
        assert_eq!(num(small, "0.0021"), Verdict::Right);
        assert_eq!(num(small, "0.002"), Verdict::TooCoarse(4));
        assert_eq!(num(small, "0.0022"), Verdict::Wrong);
        assert_eq!(num(small, "0.003"), Verdict::Wrong);
        // the shown value rounded again counts too (0.665 shown, 0.67 typed)
        let edge = 0.664_96_f32;
        assert_eq!(fmt_num(edge), "0.665");
        assert_eq!(num(edge, "0.67"), Verdict::Right);
        assert_eq!(num(edge, "0.66"), Verdict::Right);
    }

    #[test]
    fn what_is_not_a_number_is_never_a_wrong_try() {
        for t in [
            "", " ", "-", "+", ".", "-.", "1.2.3", "1-2", "--1", "+-1", "1e3", "abc",
        ] {
            assert!(matches!(num(155.0, t), Verdict::Invalid(_)), "{t:?}");
        }
        assert!(matches!(num(1.0, &"9".repeat(19)), Verdict::Invalid(_)));
        assert_eq!(num(1.0, &"0".repeat(17)), Verdict::Wrong);
        // what the learner typed is escaped in the message
        let Verdict::Invalid(msg) = num(1.0, "1\u{1b}[2J") else {
            panic!("invalid");
        };
        assert!(!msg.contains('\u{1b}'), "{msg:?}");
        assert_eq!(num(f32::NAN, "1"), Verdict::Wrong);
    }

    #[test]
    fn choices_and_sets_are_typed_as_numbers() {
        let c = Answer::Choice {
            options: vec!["circle".into(), "square".into(), "triangle".into()],
            right: 1,
        };
        assert_eq!(c.check("2"), Verdict::Right);
        assert_eq!(c.check("1"), Verdict::Wrong);
        assert!(matches!(c.check("4"), Verdict::Invalid(_)));
        assert!(matches!(c.check("0"), Verdict::Invalid(_)));
        assert!(matches!(c.check("1.5"), Verdict::Invalid(_)));
        assert_eq!(c.shown(), "square");
        let s = Answer::Set {
            options: vec![
                "map 1".into(),
                "map 2".into(),
                "map 3".into(),
                "map 4".into(),
            ],
            right: vec![0, 2],
        };
        assert_eq!(s.check("13"), Verdict::Right);
        assert_eq!(s.check("31"), Verdict::Right);
        assert_eq!(s.check("133"), Verdict::Right);
        assert_eq!(s.check("1"), Verdict::Wrong);
        assert_eq!(s.check("134"), Verdict::Wrong);
        assert!(matches!(s.check("15"), Verdict::Invalid(_)));
        assert!(matches!(s.check("-1"), Verdict::Invalid(_)));
        assert!(matches!(s.check("10"), Verdict::Invalid(_)));
        assert_eq!(s.shown(), "map 1, map 3");
        let none = Answer::Set {
            options: vec!["map 1".into()],
            right: vec![],
        };
        assert_eq!(none.check("0"), Verdict::Right);
        assert_eq!(none.check("1"), Verdict::Wrong);
        assert_eq!(none.shown(), "none");
    }

    fn conv_like_step() -> Step {
        let mut g = Grid::full("Feature map 2x2", 2, 2, &[155.0, -155.0, 0.0, 0.0]);
        g.cells[2] = None;
        g.cells[3] = None;
        g.emphasis = vec![(0, 1)];
        Step {
            heading: "Window 2 of 4".into(),
            text: vec!["the products add up to -155, written at row 1.".into()],
            panels: vec![
                Panel::Grid(Grid::full("Image", 1, 1, &[255.0])),
                Panel::Grid(g),
            ],
            formula: Some("(255 x 1) + (255 x -1) + (100 x -1) + (55 x -1) = -155".into()),
            sum: Some(Sum {
                products: vec![(255.0, 1.0), (255.0, -1.0), (100.0, -1.0), (55.0, -1.0)],
                bias: None,
            }),
        }
    }

    #[test]
    fn the_default_asks_the_value_a_step_writes() {
        let step = conv_like_step();
        let q = from_step(3, &step).expect("a question");
        assert_eq!(q.step, 3);
        assert_eq!(q.answer, Answer::Number(-155.0));
        assert_eq!(
            q.ask,
            "What goes into row 1, column 2 of the feature map 2x2?"
        );
        assert_eq!(
            q.hints,
            [
                "The products one by one: 255 x 1 = 255, 255 x -1 = -255, 100 x -1 = -100, 55 x -1 = -55",
                "The first 2 of the 4 terms add up to 0; now add the rest"
            ]
        );
        assert_eq!(
            q.working,
            "(255 x 1) + (255 x -1) + (100 x -1) + (55 x -1) = 255 - 255 - 100 - 55 = -155"
        );
        let (shown, blanked) = mask(&step, 3, &[&q], "?");
        assert_eq!(
            shown.formula.as_deref(),
            Some("(255 x 1) + (255 x -1) + (100 x -1) + (55 x -1) = ?")
        );
        assert_eq!(shown.text, ["the products add up to ?, written at row 1."]);
        let Panel::Grid(g) = &shown.panels[1] else {
            panic!("grid")
        };
        assert_eq!(g.cells[1], None);
        assert_eq!(g.cells[0], Some(155.0), "other cells stay");
        assert_eq!(blanked, [(1, 1)]);
        // a later step with the same grid hides the cell on a worksheet, not its own words
        let (later, blanked) = mask(&step, 4, &[&q], BLANK);
        assert_eq!(later.formula, step.formula);
        assert_eq!(blanked, [(1, 1)]);
        // an earlier step is untouched
        assert_eq!(mask(&step, 2, &[&q], BLANK).0, step);
    }

    #[test]
    fn steps_that_write_nothing_or_many_values_ask_nothing() {
        let mut step = conv_like_step();
        if let Panel::Grid(g) = &mut step.panels[1] {
            g.emphasis = vec![(0, 0), (0, 1)];
        }
        assert_eq!(from_step(0, &step), None);
        if let Panel::Grid(g) = &mut step.panels[1] {
            g.emphasis.clear();
        }
        assert_eq!(from_step(0, &step), None);
        // a vector entry is asked as an entry
        let v = Step {
            heading: "Score 1".into(),
            text: Vec::new(),
            panels: vec![Panel::Vector(Vector {
                label: "Scores".into(),
                values: vec![Some(0.6), None],
                emphasis: vec![0],
                offset: 0,
                names: vec!["circle".into(), "square".into()],
            })],
            formula: Some("circle: (2 x 0.2) + (1 x 0.1) + 0.1 = 0.6".into()),
            sum: Some(Sum {
                products: vec![(2.0, 0.2), (1.0, 0.1)],
                bias: Some(0.1),
            }),
        };
        let q = from_step(1, &v).expect("asks");
        assert_eq!(q.ask, "What is the circle value of the scores?");
        assert_eq!(
            q.hints[0],
            "The products one by one: 2 x 0.2 = 0.4, 1 x 0.1 = 0.1, + 0.1"
        );
        assert_eq!(
            q.working,
            "circle: (2 x 0.2) + (1 x 0.1) + 0.1 = 0.4 + 0.1 + 0.1 = 0.6"
        );
        let (shown, blanked) = mask(&v, 1, &[&q], "?");
        assert_eq!(blanked, [(0, 0)]);
        assert_eq!(
            shown.formula.as_deref(),
            Some("circle: (2 x 0.2) + (1 x 0.1) + 0.1 = ?")
        );
    }

    #[test]
    fn words_are_replaced_whole() {
        assert_eq!(replace_words("reaches 310.", "310", "?"), "reaches ?.");
        assert_eq!(
            replace_words("(the map reaches 310)", "310", "?"),
            "(the map reaches ?)"
        );
        assert_eq!(
            replace_words("3100 and 310, 1310", "310", "_"),
            "3100 and _, 1310"
        );
        assert_eq!(replace_words("-155 and 155", "155", "_"), "-155 and _");
        assert_eq!(replace_words("6x6 and 6", "6", "_"), "6x6 and _");
    }

    #[test]
    fn samples_take_the_first_then_one_in_n_and_the_last() {
        let picked: Vec<usize> = (0..16).filter(|&i| sample(i, 16, 4, 4)).collect();
        assert_eq!(picked, [0, 1, 2, 3, 7, 11, 15]);
        let picked: Vec<usize> = (0..5).filter(|&i| sample(i, 5, 2, 0)).collect();
        assert_eq!(picked, [0, 1, 4]);
    }
}
