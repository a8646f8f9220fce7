//! Lesson files (serde + TOML) and the [`Lesson`] a learner steps through and edits.
//!
//! What every lesson has (id, title, summary, kind, text) is read here; the rest of the
//! file belongs to the lesson's kind (`kinds/<kind>.rs`), which checks it and computes
//! every step from it with [`crate::nn::ops`]. See `lessons/README.md` for the format.

use std::ops::Range;
use std::sync::Arc;

use ndarray::Array2;
use serde::de::IgnoredAny;
use serde::Deserialize;
use toml::Spanned;

use crate::lesson::check::{self, fail, field_names, Ctx, MAX_ABS};
use crate::lesson::frame::Step;
use crate::lesson::kinds::{self, Capabilities, LessonKind, Registration};
use crate::Result;

/// A matrix the learner may edit in the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditTarget {
    /// What it is called on screen ("image", "filter", "filter 2", "weights").
    pub name: String,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
}

/// Largest lesson file read: a lesson is a few KB (the biggest built-in one is under 5 KB), so
/// a bigger file is a mistake, refused before it is read whole or parsed.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

/// The words of a lesson. Each block is a string; blank lines separate paragraphs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextFile {
    intro: Option<Spanned<String>>,
    step: Option<Spanned<String>>,
    result: Option<Spanned<String>>,
    closing: Option<Spanned<String>>,
    augment: Option<Spanned<String>>,
}

/// What every lesson file has; the kind reads the other fields from the same file.
#[derive(Debug, Clone, Deserialize)]
struct CommonFile {
    id: Spanned<String>,
    title: Spanned<String>,
    #[serde(default)]
    summary: String,
    kind: Spanned<String>,
    #[serde(default)]
    text: TextFile,
}

/// The words of a lesson, split into paragraphs, with control characters escaped.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Text {
    /// Shown on the first step.
    pub intro: Vec<String>,
    /// Shown on every computing step; may hold placeholders such as `{row}`.
    pub step: Vec<String>,
    /// Shown once the result is complete.
    pub result: Vec<String>,
    /// Shown on the last step.
    pub closing: Vec<String>,
    /// Dropout: the steps on flipping, mirroring and skewing images.
    pub augment: Vec<String>,
}

/// The numbers a learner may change, and the current dropout settings.
#[derive(Debug, Clone, PartialEq)]
struct State {
    /// Editable matrices in edit-target order, with their screen names.
    matrices: Vec<(String, Array2<f32>)>,
    dropout_p: f32,
    seed: u64,
    /// One training step: the target class (index) and how many updates are taken.
    target: usize,
    updates: usize,
}

/// A loaded lesson: its words, its kind's inputs, the learner's edits, and the steps
/// computed from them ([`Lesson::frames`]).
#[derive(Debug, Clone)]
pub struct Lesson {
    source: String,
    id: String,
    title: String,
    summary: String,
    text: Text,
    kind_name: &'static str,
    kind: Arc<dyn LessonKind>,
    start: State,
    state: State,
}

/// Two lessons are equal when they came from the same file with the same inputs and
/// hold the same edits. The kinds' inputs are compared by their `Debug` text (every kind
/// derives it over all its fields; `f32` prints exactly), so kinds need no `PartialEq`
/// of their own.
impl PartialEq for Lesson {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
            && self.id == other.id
            && self.title == other.title
            && self.summary == other.summary
            && self.text == other.text
            && self.kind_name == other.kind_name
            && self.start == other.start
            && self.state == other.state
            && (Arc::ptr_eq(&self.kind, &other.kind)
                || format!("{:?}", self.kind) == format!("{:?}", other.kind))
    }
}

/// Well-known 3x3 filters offered as presets: (name, row-major weights).
pub(crate) const PRESETS: &[(&str, [f32; 9])] = &[
    (
        "Edge (Laplacian)",
        [0.0, -1.0, 0.0, -1.0, 4.0, -1.0, 0.0, -1.0, 0.0],
    ),
    (
        "Outline (all directions)",
        [-1.0, -1.0, -1.0, -1.0, 8.0, -1.0, -1.0, -1.0, -1.0],
    ),
    (
        "Sobel horizontal edges",
        [-1.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0],
    ),
    (
        "Sobel vertical edges",
        [-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0],
    ),
    ("Sharpen", [0.0, -1.0, 0.0, -1.0, 5.0, -1.0, 0.0, -1.0, 0.0]),
    ("Blur (box, 1/9 each)", [1.0 / 9.0; 9]),
    ("Identity", [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
];

/// The range `adjust_probability` keeps dropout's p in.
pub(crate) const P_MAX_ADJUST: f32 = 0.9;

/// `n` bytes for a message: `18.0 MB`, `300.0 KB`.
pub(crate) fn size_text(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KB", n as f64 / 1024.0)
    }
}

/// The error for a lesson file of `size` bytes (or more) over [`MAX_FILE_BYTES`].
pub(crate) fn too_large(name: &str, size: u64) -> crate::Error {
    fail(format!(
        "{name}: {} is too large for a lesson file (at most {} KB; a lesson is a few KB)",
        size_text(size),
        MAX_FILE_BYTES / 1024
    ))
}

impl Lesson {
    /// Parse and check one lesson file; `name` is how errors refer to it.
    pub fn parse(name: &str, text: &str) -> Result<Lesson> {
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(too_large(name, text.len() as u64));
        }
        let common: CommonFile = check::parse(name, text)?;
        let kind_span = common.kind.span();
        let reg = kinds::find(common.kind.get_ref()).ok_or_else(|| {
            let (line, col) = check::line_col(text, kind_span.start);
            let names: Vec<String> = kinds::KINDS
                .iter()
                .map(|k| format!("`{}`", k.name))
                .collect();
            fail(format!(
                "{name}: line {line}, column {col}: unknown variant `{}`, expected one of {}",
                common.kind.get_ref(),
                names.join(", ")
            ))
        })?;
        let ctx = Ctx {
            name,
            text,
            kind: reg.name,
            kind_span,
        };
        check_fields(&ctx, reg)?;
        // the words are checked after the kind's fields are read and before their
        // values are checked: the order a file's mistakes have always been reported in
        let mut words = None;
        let kind = (reg.load)(&ctx, &mut || {
            words = Some(common_words(&ctx, reg, &common)?);
            Ok(())
        })?;
        let Some((id, title, summary, text)) = words else {
            return Err(fail(format!("{name}: the lesson's words were not read")));
        };
        let (dropout_p, seed) = kind.dropout().unwrap_or((0.5, 0));
        let target = kind.target_classes().map_or(0, |(_, t)| t);
        let start = State {
            matrices: kind.matrices(),
            dropout_p,
            seed,
            target,
            updates: 1,
        };
        Ok(Lesson {
            source: name.to_string(),
            id,
            title,
            summary,
            text,
            kind_name: reg.name,
            kind,
            state: start.clone(),
            start,
        })
    }

    /// The lesson's id (`convolution`), as `cnn-tutor lesson ID` takes it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The title shown in the menu (control characters escaped).
    pub fn title(&self) -> &str {
        &self.title
    }

    /// A one-line summary for the menu (control characters escaped).
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// What the lesson teaches: its kind's name as lesson files write it (`fully-connected`).
    pub fn kind(&self) -> &'static str {
        self.kind_name
    }

    /// What the app offers on this lesson.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            dropout: self.kind.dropout().is_some(),
            filter_presets: self.preset_target().is_some(),
            editable: !self.state.matrices.is_empty(),
            training: self.kind.opens_training(),
            inspect: self.kind.inspects_model(),
            training_step: self.kind.target_classes().is_some(),
        }
    }

    /// The lab setup the training screen opens with from step `step` (experiments);
    /// `None` keeps the learner's last settings.
    pub fn lab_setup(&self, step: usize) -> Option<crate::train::lab::LabSetup> {
        self.kind.lab(step)
    }

    /// The file this lesson came from (for messages).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every step of the lesson, computed by `nn::ops` from the lesson's inputs (and edits).
    pub fn frames(&self) -> Result<Vec<Step>> {
        self.kind.steps(self)
    }

    /// "Your turn": the questions of these steps (the lesson's [`Lesson::frames`]), as the
    /// lesson's kind asks them.
    pub fn questions(&self, steps: &[Step]) -> Vec<crate::lesson::quiz::Question> {
        self.kind.questions(self, steps)
    }

    /// Matrices the learner may edit (convolution: "image", "filter"); empty if none.
    pub fn edit_targets(&self) -> Vec<EditTarget> {
        self.state
            .matrices
            .iter()
            .map(|(name, m)| EditTarget {
                name: name.clone(),
                rows: m.nrows(),
                cols: m.ncols(),
            })
            .collect()
    }

    /// The current value of one cell of an edit target (0 when out of range).
    pub fn value(&self, target: usize, row: usize, col: usize) -> f32 {
        self.state
            .matrices
            .get(target)
            .and_then(|(_, m)| m.get((row, col)))
            .copied()
            .unwrap_or(0.0)
    }

    /// Change one cell of an edit target. Out-of-range cells and non-finite values are
    /// ignored; magnitudes are clamped to one million.
    pub fn set_value(&mut self, target: usize, row: usize, col: usize, v: f32) {
        if !v.is_finite() {
            return;
        }
        if let Some(cell) = self
            .state
            .matrices
            .get_mut(target)
            .and_then(|(_, m)| m.get_mut((row, col)))
        {
            *cell = v.clamp(-MAX_ABS, MAX_ABS);
        }
    }

    /// Well-known filters to try, by name; empty unless the lesson's first filter is 3x3.
    pub fn presets(&self) -> Vec<String> {
        if self.preset_target().is_some() {
            PRESETS.iter().map(|(n, _)| (*n).to_string()).collect()
        } else {
            Vec::new()
        }
    }

    /// Put preset `index` (from [`Lesson::presets`]) into the first filter.
    /// Out-of-range indices, and lessons without presets, do nothing.
    pub fn apply_preset(&mut self, index: usize) {
        let (Some(t), Some((_, w))) = (self.preset_target(), PRESETS.get(index)) else {
            return;
        };
        if let Some((_, m)) = self.state.matrices.get_mut(t) {
            for (cell, v) in m.iter_mut().zip(w.iter()) {
                *cell = *v;
            }
        }
    }

    /// Undo all edits (numbers, dropout p and seed).
    pub fn reset(&mut self) {
        self.state = self.start.clone();
    }

    /// Dropout and architecture: draw new random drops (a new seed) and return true;
    /// other kinds: nothing, false.
    pub fn reroll(&mut self) -> bool {
        if self.kind.dropout().is_none() {
            return false;
        }
        self.state.seed = next_seed(self.state.seed);
        true
    }

    /// Dropout and architecture: change p by `delta`, clamped to 0..=0.9, and return true;
    /// other kinds: false.
    pub fn adjust_probability(&mut self, delta: f32) -> bool {
        if self.kind.dropout().is_none() || !delta.is_finite() {
            return false;
        }
        let p = (self.state.dropout_p + delta).clamp(0.0, P_MAX_ADJUST);
        // keep p on a clean grid of hundredths so it prints the way it was typed
        self.state.dropout_p = (p * 100.0).round() / 100.0;
        true
    }

    /// The current dropout probability (dropout and architecture lessons).
    pub fn dropout_p(&self) -> f32 {
        self.state.dropout_p
    }

    /// The current dropout seed (changes on [`Lesson::reroll`]).
    pub fn seed(&self) -> u64 {
        self.state.seed
    }

    /// A training-step lesson: the target class's name (changes with [`Lesson::next_target`]).
    pub fn target_class(&self) -> Option<&str> {
        let (names, _) = self.kind.target_classes()?;
        names.get(self.state.target).map(String::as_str)
    }

    /// A training-step lesson: make the next class the target and return true; other
    /// kinds: false.
    pub fn next_target(&mut self) -> bool {
        let Some((names, _)) = self.kind.target_classes() else {
            return false;
        };
        self.state.target = (self.state.target + 1) % names.len().max(1);
        true
    }

    /// The target class's index (0 in lessons without one).
    pub(crate) fn target(&self) -> usize {
        self.state.target
    }

    /// How many update steps a training-step lesson takes (1 at first).
    pub fn updates(&self) -> usize {
        self.state.updates
    }

    /// A training-step lesson: take `delta` more (or fewer) update steps, kept within 1 to
    /// 50, and return true when the number changed.
    pub fn adjust_updates(&mut self, delta: i32) -> bool {
        if self.kind.target_classes().is_none() {
            return false;
        }
        let max = crate::lesson::kinds::backprop::MAX_UPDATES as i64;
        let n = (self.state.updates as i64 + i64::from(delta)).clamp(1, max) as usize;
        let changed = n != self.state.updates;
        self.state.updates = n;
        changed
    }

    /// The lesson's words.
    pub(crate) fn text(&self) -> &Text {
        &self.text
    }

    /// The edit target presets go into: the first filter, when it is 3x3 (so a preset
    /// never changes any size), in kinds that offer presets.
    fn preset_target(&self) -> Option<usize> {
        if !self.kind.filter_presets() {
            return None;
        }
        let t = self
            .state
            .matrices
            .iter()
            .position(|(n, _)| n.starts_with("filter"))?;
        (self.state.matrices[t].1.dim() == (3, 3)).then_some(t)
    }

    /// The current image (edited), if the lesson has one the learner can edit.
    pub(crate) fn image(&self) -> Option<&Array2<f32>> {
        self.matrix("image")
    }

    /// The current filters (edited), in order.
    pub(crate) fn kernels(&self) -> Vec<&Array2<f32>> {
        self.state
            .matrices
            .iter()
            .filter(|(n, _)| n.starts_with("filter"))
            .map(|(_, m)| m)
            .collect()
    }

    /// A current matrix by screen name.
    pub(crate) fn matrix(&self, name: &str) -> Option<&Array2<f32>> {
        self.state
            .matrices
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m)
    }
}

/// A deterministic "new" seed (splitmix64 step).
fn next_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Id, title, summary and text of a lesson file, checked; title, summary and text with
/// control characters escaped.
fn common_words(
    ctx: &Ctx,
    reg: &Registration,
    common: &CommonFile,
) -> Result<(String, String, String, Text)> {
    let id = common.id.get_ref().trim().to_string();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(ctx.err(
            common.id.span(),
            "id",
            "use lowercase letters, digits and `-` only (it is typed on the command line)",
        ));
    }
    let title = common.title.get_ref().trim();
    if title.is_empty() {
        return Err(ctx.err(common.title.span(), "title", "the title is empty"));
    }
    let t = &common.text;
    let text = Text {
        intro: paragraphs(ctx, reg, "text.intro", &t.intro)?,
        step: paragraphs(ctx, reg, "text.step", &t.step)?,
        result: paragraphs(ctx, reg, "text.result", &t.result)?,
        closing: paragraphs(ctx, reg, "text.closing", &t.closing)?,
        augment: paragraphs(ctx, reg, "text.augment", &t.augment)?,
    };
    Ok((
        id,
        crate::text::escaped(title).into_owned(),
        crate::text::escaped(common.summary.trim()).into_owned(),
        text,
    ))
}

/// Refuse top-level fields that neither every lesson nor this kind takes: one another
/// kind takes is "not used by a ... lesson"; one no kind takes is unknown (a typo).
fn check_fields(ctx: &Ctx, reg: &Registration) -> Result<()> {
    let common = field_names::<CommonFile>();
    let own = (reg.fields)();
    let mut given: Vec<(Spanned<String>, Range<usize>)> = check::parse::<
        std::collections::BTreeMap<Spanned<String>, Spanned<IgnoredAny>>,
    >(ctx.name, ctx.text)?
    .into_iter()
    .map(|(k, v)| (k, v.span()))
    .collect();
    given.sort_by_key(|(k, _)| k.span().start);
    for (key, value_span) in given {
        let field = key.get_ref().as_str();
        if common.contains(&field) || own.contains(&field) {
            continue;
        }
        if kinds::KINDS.iter().any(|k| (k.fields)().contains(&field)) {
            return Err(ctx.err(
                value_span,
                field,
                format!(
                    "not used by a {} lesson (it takes: {})",
                    ctx.kind,
                    if own.is_empty() {
                        "no numbers".to_string()
                    } else {
                        own.join(", ")
                    }
                ),
            ));
        }
        let (line, col) = check::line_col(ctx.text, key.span().start);
        let expected: Vec<String> = common
            .iter()
            .chain(own.iter())
            .map(|f| format!("`{f}`"))
            .collect();
        return Err(fail(format!(
            "{}: line {line}, column {col}: unknown field `{field}`, expected one of {}",
            ctx.name,
            expected.join(", ")
        )));
    }
    Ok(())
}

/// Text block `field` split into paragraphs (blank lines between them; line breaks inside
/// one become spaces, tabs too), its placeholders checked, control characters escaped.
fn paragraphs(
    ctx: &Ctx,
    reg: &Registration,
    field: &str,
    s: &Option<Spanned<String>>,
) -> Result<Vec<String>> {
    let Some(s) = s else {
        return Ok(Vec::new());
    };
    check_placeholders(ctx, field, s, (reg.placeholders)(field))?;
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in s.get_ref().lines() {
        let line = line.trim();
        if line.is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(line);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out
        .into_iter()
        .map(|p| crate::text::escaped(&p.replace('\t', " ")).into_owned())
        .collect())
}

fn check_placeholders(ctx: &Ctx, field: &str, s: &Spanned<String>, known: &[&str]) -> Result<()> {
    let text = s.get_ref();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(ctx.err(
                s.span(),
                field,
                "a `{` with no closing `}` (placeholders look like {row})",
            ));
        };
        let name = &after[..close];
        if !known.contains(&name) {
            let msg = if known.is_empty() {
                format!("{{{name}}}: this block takes no placeholders")
            } else {
                format!(
                    "unknown placeholder {{{name}}}; this block knows: {}",
                    known
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            };
            return Err(ctx.err(s.span(), field, msg));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}
