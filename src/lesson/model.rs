//! Lesson files (serde + TOML) and the [`Lesson`] a learner steps through and edits.
//!
//! A file holds the words and the *inputs* (an image, filters, a probability, a seed);
//! [`Lesson::frames`] computes every result from them with [`crate::nn::ops`].
//! See `lessons/README.md` for the format.

use std::ops::Range;

use ndarray::Array2;
use serde::Deserialize;
use toml::Spanned;

use crate::lesson::frame::Frame;
use crate::{Error, Result};

/// What a lesson teaches; decides which inputs it needs and how it steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A filter slid over an image, one window per step.
    Convolution,
    /// Negatives set to 0, cell by cell.
    Relu,
    /// Max pooling, one window per step.
    Pooling,
    /// Whole feature maps dropped at random; plus flipping, mirroring and skewing images.
    Dropout,
    /// Feature maps unrolled into one vector.
    Flatten,
    /// Weighted sums into class scores, then softmax.
    FullyConnected,
    /// The whole network on a shape image, stage by stage.
    Architecture,
    /// Training the real network (its screen is built elsewhere).
    Train,
}

impl Kind {
    /// The name used in lesson files (`fully-connected`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Convolution => "convolution",
            Kind::Relu => "relu",
            Kind::Pooling => "pooling",
            Kind::Dropout => "dropout",
            Kind::Flatten => "flatten",
            Kind::FullyConnected => "fully-connected",
            Kind::Architecture => "architecture",
            Kind::Train => "train",
        }
    }
}

/// The shapes the seed's classifier knows, drawn for the image lessons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShapeName {
    /// A filled circle.
    Circle,
    /// A filled square.
    Square,
    /// A filled triangle.
    Triangle,
}

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

type Matrix = Vec<Vec<f32>>;

/// The words of a lesson. Each block is a string; blank lines separate paragraphs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextFile {
    intro: Option<Spanned<String>>,
    step: Option<Spanned<String>>,
    result: Option<Spanned<String>>,
    closing: Option<Spanned<String>>,
    augment: Option<Spanned<String>>,
}

/// One lesson file exactly as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LessonFile {
    id: Spanned<String>,
    title: Spanned<String>,
    #[serde(default)]
    summary: String,
    kind: Spanned<Kind>,
    #[serde(default)]
    text: TextFile,
    image: Option<Spanned<Matrix>>,
    kernel: Option<Spanned<Matrix>>,
    kernels: Option<Spanned<Vec<Matrix>>>,
    stride: Option<Spanned<usize>>,
    padding: Option<Spanned<usize>>,
    edge_fill: Option<Spanned<f32>>,
    pool_size: Option<Spanned<usize>>,
    pool_stride: Option<Spanned<usize>>,
    dropout_p: Option<Spanned<f32>>,
    seed: Option<Spanned<u64>>,
    inputs: Option<Spanned<Vec<f32>>>,
    weights: Option<Spanned<Matrix>>,
    bias: Option<Spanned<Vec<f32>>>,
    classes: Option<Spanned<Vec<String>>>,
    shape: Option<Spanned<ShapeName>>,
    image_size: Option<Spanned<usize>>,
}

/// The words of a lesson, split into paragraphs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Text {
    /// Shown on the first frame.
    pub intro: Vec<String>,
    /// Shown on every computing step; may hold placeholders such as `{row}`.
    pub step: Vec<String>,
    /// Shown once the result is complete.
    pub result: Vec<String>,
    /// Shown on the last frame.
    pub closing: Vec<String>,
    /// Dropout: the frames on flipping, mirroring and skewing images.
    pub augment: Vec<String>,
}

/// The validated inputs of a lesson (the numbers as the file gave them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub kind: Kind,
    pub text: Text,
    pub image: Option<Array2<f32>>,
    pub kernels: Vec<Array2<f32>>,
    pub stride: usize,
    pub padding: usize,
    pub edge_fill: Option<f32>,
    pub pool_size: usize,
    pub pool_stride: usize,
    /// Whether the lesson pools its maps (always for pooling; for dropout and flatten
    /// only when the file gives `pool_size`).
    pub pool: bool,
    pub dropout_p: f32,
    pub seed: u64,
    pub inputs: Option<Vec<f32>>,
    pub weights: Option<Array2<f32>>,
    pub bias: Option<Vec<f32>>,
    pub classes: Vec<String>,
    pub shape: ShapeName,
    pub image_size: usize,
}

/// The numbers a learner may change, and the current dropout settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    /// Editable matrices in edit-target order, with their screen names.
    pub matrices: Vec<(String, Array2<f32>)>,
    pub dropout_p: f32,
    pub seed: u64,
}

/// A loaded lesson: its inputs, the learner's edits, and the step engine behind [`Lesson::frames`].
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    source: String,
    pub(crate) spec: Spec,
    pub(crate) state: State,
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

/// Largest image or filter side: every cell becomes a step, and the grid must fit a terminal.
pub(crate) const MAX_SIDE: usize = 16;
/// Most values a fully connected lesson takes, and most a flatten lesson may produce.
pub(crate) const MAX_INPUTS: usize = 64;
/// Most values a flatten lesson may produce (one step each).
pub(crate) const MAX_FLAT: usize = 256;
/// Largest magnitude accepted for any number in a lesson file or an edit.
pub(crate) const MAX_ABS: f32 = 1.0e6;
/// The range `adjust_probability` keeps dropout's p in.
pub(crate) const P_MAX_ADJUST: f32 = 0.9;

impl Lesson {
    /// Parse and check one lesson file; `name` is how errors refer to it.
    pub fn parse(name: &str, text: &str) -> Result<Lesson> {
        let file: LessonFile = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim().replace('\n', " ");
            match e.span() {
                Some(span) => {
                    let (line, col) = line_col(text, span.start);
                    Error::Lesson(format!("{name}: line {line}, column {col}: {msg}"))
                }
                None => Error::Lesson(format!("{name}: {msg}")),
            }
        })?;
        let ctx = Ctx { name, text };
        let spec = validate(&ctx, file)?;
        let state = initial_state(&spec);
        Ok(Lesson {
            source: name.to_string(),
            spec,
            state,
        })
    }

    /// The lesson's id (`convolution`), as `cnn-tutor lesson ID` takes it.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The title shown in the menu.
    pub fn title(&self) -> &str {
        &self.spec.title
    }

    /// A one-line summary for the menu.
    pub fn summary(&self) -> &str {
        &self.spec.summary
    }

    /// What the lesson teaches.
    pub fn kind(&self) -> Kind {
        self.spec.kind
    }

    /// The file this lesson came from (for messages).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every step of the lesson, computed by `nn::ops` from the lesson's inputs (and edits).
    pub fn frames(&self) -> Result<Vec<Frame>> {
        crate::lesson::steps::frames(self)
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
        self.state = initial_state(&self.spec);
    }

    /// Dropout and architecture: draw new random drops (a new seed) and return true;
    /// other kinds: nothing, false.
    pub fn reroll(&mut self) -> bool {
        if !self.uses_dropout() {
            return false;
        }
        self.state.seed = next_seed(self.state.seed);
        true
    }

    /// Dropout and architecture: change p by `delta`, clamped to 0..=0.9, and return true;
    /// other kinds: false.
    pub fn adjust_probability(&mut self, delta: f32) -> bool {
        if !self.uses_dropout() || !delta.is_finite() {
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

    fn uses_dropout(&self) -> bool {
        matches!(self.spec.kind, Kind::Dropout | Kind::Architecture)
    }

    /// The edit target presets go into: the first filter, when it is 3x3 (so a preset
    /// never changes any size).
    fn preset_target(&self) -> Option<usize> {
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

fn initial_state(spec: &Spec) -> State {
    let mut matrices = Vec::new();
    if let Some(img) = &spec.image {
        matrices.push(("image".to_string(), img.clone()));
    }
    if spec.kernels.len() == 1 {
        matrices.push(("filter".to_string(), spec.kernels[0].clone()));
    } else {
        for (i, k) in spec.kernels.iter().enumerate() {
            matrices.push((format!("filter {}", i + 1), k.clone()));
        }
    }
    if let Some(inputs) = &spec.inputs {
        let row = Array2::from_shape_vec((1, inputs.len()), inputs.clone())
            .unwrap_or_else(|_| Array2::zeros((1, 0)));
        matrices.push(("inputs".to_string(), row));
    }
    if let Some(w) = &spec.weights {
        matrices.push(("weights".to_string(), w.clone()));
    }
    if let Some(b) = &spec.bias {
        let row = Array2::from_shape_vec((1, b.len()), b.clone())
            .unwrap_or_else(|_| Array2::zeros((1, 0)));
        matrices.push(("bias".to_string(), row));
    }
    State {
        matrices,
        dropout_p: spec.dropout_p,
        seed: spec.seed,
    }
}

/// 1-based line and column of byte offset `at` in `text`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
        + 1;
    (line, col)
}

/// Where errors point: the file's name and text.
struct Ctx<'a> {
    name: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, field: &str, msg: impl std::fmt::Display) -> Error {
        let (line, col) = line_col(self.text, span.start);
        Error::Lesson(format!(
            "{}: line {line}, column {col}: field `{field}`: {msg}",
            self.name
        ))
    }
}

fn paragraphs(
    ctx: &Ctx,
    kind: Kind,
    field: &str,
    s: &Option<Spanned<String>>,
) -> Result<Vec<String>> {
    let Some(s) = s else {
        return Ok(Vec::new());
    };
    check_placeholders(ctx, field, s, placeholders_for(kind, field))?;
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
    Ok(out)
}

/// The placeholders the engine fills in text block `field` of a `kind` lesson.
pub(crate) fn placeholders_for(kind: Kind, field: &str) -> &'static [&'static str] {
    match (kind, field) {
        (Kind::Convolution | Kind::Pooling, "text.step") => {
            &["step", "steps", "row", "col", "value"]
        }
        (Kind::Relu, "text.step") => &["step", "steps", "row", "col", "value", "result"],
        (Kind::Dropout, "text.intro" | "text.result") => &["p", "scale", "maps"],
        (Kind::Dropout, "text.step") => &["step", "steps", "map", "maps", "result", "p", "scale"],
        (Kind::Flatten, "text.step") => &["step", "steps", "index", "map", "row", "col", "value"],
        (Kind::FullyConnected, "text.step") => &["step", "steps", "class", "value"],
        (Kind::FullyConnected, "text.closing") => &["class", "value"],
        (Kind::Architecture, "text.step") => &["p", "scale"],
        _ => &[],
    }
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

/// A rectangular matrix of usable numbers, at most `max_rows` x `max_cols`.
fn matrix(
    ctx: &Ctx,
    field: &str,
    m: &Spanned<Matrix>,
    (max_rows, max_cols): (usize, usize),
) -> Result<Array2<f32>> {
    let rows = m.get_ref();
    if rows.is_empty() || rows[0].is_empty() {
        return Err(ctx.err(m.span(), field, "the matrix is empty"));
    }
    let cols = rows[0].len();
    for (i, r) in rows.iter().enumerate() {
        if r.len() != cols {
            return Err(ctx.err(
                m.span(),
                field,
                format!(
                    "ragged matrix: row 1 has {cols} values but row {} has {}",
                    i + 1,
                    r.len()
                ),
            ));
        }
        check_numbers(ctx, field, m.span(), r)?;
    }
    if rows.len() > max_rows || cols > max_cols {
        return Err(ctx.err(
            m.span(),
            field,
            format!(
                "{}x{cols} is too big to step through; use at most {max_rows}x{max_cols}",
                rows.len()
            ),
        ));
    }
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Array2::from_shape_vec((rows.len(), cols), flat)
        .map_err(|e| ctx.err(m.span(), field, e.to_string()))
}

fn check_numbers(ctx: &Ctx, field: &str, span: Range<usize>, v: &[f32]) -> Result<()> {
    if let Some(x) = v.iter().find(|x| !x.is_finite() || x.abs() > MAX_ABS) {
        return Err(ctx.err(
            span,
            field,
            format!("{x} is not a usable number (finite, at most one million in size)"),
        ));
    }
    Ok(())
}

/// Fields each kind takes (besides id, title, summary, kind, text).
fn allowed(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Convolution | Kind::Relu => &["image", "kernel", "stride", "padding", "edge_fill"],
        Kind::Pooling => &[
            "image",
            "kernel",
            "stride",
            "padding",
            "edge_fill",
            "pool_size",
            "pool_stride",
        ],
        Kind::Dropout => &[
            "image",
            "kernel",
            "kernels",
            "stride",
            "padding",
            "edge_fill",
            "pool_size",
            "pool_stride",
            "dropout_p",
            "seed",
            "shape",
            "image_size",
        ],
        Kind::Flatten => &[
            "image",
            "kernel",
            "kernels",
            "stride",
            "padding",
            "edge_fill",
            "pool_size",
            "pool_stride",
        ],
        Kind::FullyConnected => &["inputs", "weights", "bias", "classes"],
        Kind::Architecture => &[
            "kernel",
            "kernels",
            "padding",
            "pool_size",
            "dropout_p",
            "seed",
            "classes",
            "shape",
            "image_size",
        ],
        Kind::Train => &[],
    }
}

fn validate(ctx: &Ctx, f: LessonFile) -> Result<Spec> {
    let kind = *f.kind.get_ref();
    let kind_span = f.kind.span();

    // fields given that this kind does not use
    let given: [(&str, Option<Range<usize>>); 16] = [
        ("image", f.image.as_ref().map(Spanned::span)),
        ("kernel", f.kernel.as_ref().map(Spanned::span)),
        ("kernels", f.kernels.as_ref().map(Spanned::span)),
        ("stride", f.stride.as_ref().map(Spanned::span)),
        ("padding", f.padding.as_ref().map(Spanned::span)),
        ("edge_fill", f.edge_fill.as_ref().map(Spanned::span)),
        ("pool_size", f.pool_size.as_ref().map(Spanned::span)),
        ("pool_stride", f.pool_stride.as_ref().map(Spanned::span)),
        ("dropout_p", f.dropout_p.as_ref().map(Spanned::span)),
        ("seed", f.seed.as_ref().map(Spanned::span)),
        ("inputs", f.inputs.as_ref().map(Spanned::span)),
        ("weights", f.weights.as_ref().map(Spanned::span)),
        ("bias", f.bias.as_ref().map(Spanned::span)),
        ("classes", f.classes.as_ref().map(Spanned::span)),
        ("shape", f.shape.as_ref().map(Spanned::span)),
        ("image_size", f.image_size.as_ref().map(Spanned::span)),
    ];
    let ok = allowed(kind);
    for (field, span) in &given {
        if let Some(span) = span {
            if !ok.contains(field) {
                return Err(ctx.err(
                    span.clone(),
                    field,
                    format!(
                        "not used by a {} lesson (it takes: {})",
                        kind.name(),
                        if ok.is_empty() {
                            "no numbers".to_string()
                        } else {
                            ok.join(", ")
                        }
                    ),
                ));
            }
        }
    }

    let id = f.id.get_ref().trim().to_string();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(ctx.err(
            f.id.span(),
            "id",
            "use lowercase letters, digits and `-` only (it is typed on the command line)",
        ));
    }
    let title = f.title.get_ref().trim().to_string();
    if title.is_empty() {
        return Err(ctx.err(f.title.span(), "title", "the title is empty"));
    }

    let text = Text {
        intro: paragraphs(ctx, kind, "text.intro", &f.text.intro)?,
        step: paragraphs(ctx, kind, "text.step", &f.text.step)?,
        result: paragraphs(ctx, kind, "text.result", &f.text.result)?,
        closing: paragraphs(ctx, kind, "text.closing", &f.text.closing)?,
        augment: paragraphs(ctx, kind, "text.augment", &f.text.augment)?,
    };

    let image = f
        .image
        .as_ref()
        .map(|m| matrix(ctx, "image", m, (MAX_SIDE, MAX_SIDE)))
        .transpose()?;

    if f.kernel.is_some() && f.kernels.is_some() {
        let span = f.kernels.as_ref().map(Spanned::span).unwrap_or_default();
        return Err(ctx.err(
            span,
            "kernels",
            "give either `kernel` or `kernels`, not both",
        ));
    }
    let mut kernels = Vec::new();
    if let Some(k) = &f.kernel {
        kernels.push(matrix(ctx, "kernel", k, (MAX_SIDE, MAX_SIDE))?);
    }
    if let Some(ks) = &f.kernels {
        if ks.get_ref().is_empty() || ks.get_ref().len() > 8 {
            return Err(ctx.err(ks.span(), "kernels", "give between 1 and 8 filters"));
        }
        for (i, k) in ks.get_ref().iter().enumerate() {
            let one = Spanned::new(ks.span(), k.clone());
            let name = format!("kernels[{i}]");
            let m = matrix(ctx, &name, &one, (MAX_SIDE, MAX_SIDE))?;
            if let Some(first) = kernels.first() {
                if m.dim() != first.dim() {
                    return Err(ctx.err(ks.span(), &name, "all filters must have the same size"));
                }
            }
            kernels.push(m);
        }
    }

    let stride = f.stride.as_ref().map_or(1, |s| *s.get_ref());
    if let Some(s) = &f.stride {
        if *s.get_ref() == 0 || *s.get_ref() > 8 {
            return Err(ctx.err(s.span(), "stride", "use a stride from 1 to 8"));
        }
    }
    let padding = f
        .padding
        .as_ref()
        .map_or(usize::from(kind == Kind::Architecture), |p| *p.get_ref());
    if let Some(p) = &f.padding {
        if *p.get_ref() > 8 {
            return Err(ctx.err(p.span(), "padding", "use a padding from 0 to 8"));
        }
    }
    let edge_fill = f.edge_fill.as_ref().map(|e| *e.get_ref());
    if let Some(e) = &f.edge_fill {
        check_numbers(ctx, "edge_fill", e.span(), &[*e.get_ref()])?;
        if stride != 1 || padding != 0 {
            return Err(ctx.err(
                e.span(),
                "edge_fill",
                "only works with stride 1 and padding 0 (it fills the border the filter cannot reach)",
            ));
        }
        if let Some(k) = kernels.first() {
            if k.nrows() % 2 == 0 || k.ncols() % 2 == 0 {
                return Err(ctx.err(
                    e.span(),
                    "edge_fill",
                    "needs a filter with an odd number of rows and columns, so it has a centre cell",
                ));
            }
        }
    }

    let pool_size = f.pool_size.as_ref().map_or(2, |p| *p.get_ref());
    if let Some(p) = &f.pool_size {
        if *p.get_ref() == 0 || *p.get_ref() > 8 {
            return Err(ctx.err(p.span(), "pool_size", "use a pool size from 1 to 8"));
        }
    }
    let pool_stride = f.pool_stride.as_ref().map_or(pool_size, |p| *p.get_ref());
    if let Some(p) = &f.pool_stride {
        if *p.get_ref() == 0 || *p.get_ref() > 8 {
            return Err(ctx.err(p.span(), "pool_stride", "use a pool stride from 1 to 8"));
        }
    }

    let dropout_p = f.dropout_p.as_ref().map_or(0.5, |p| *p.get_ref());
    if let Some(p) = &f.dropout_p {
        let v = *p.get_ref();
        if !(0.0..1.0).contains(&v) || v.is_nan() {
            return Err(ctx.err(
                p.span(),
                "dropout_p",
                format!("{v} is not a probability from 0 up to (not including) 1"),
            ));
        }
    }
    let seed = f.seed.as_ref().map_or(0, |s| *s.get_ref());

    let inputs = f.inputs.as_ref().map(|s| s.get_ref().clone());
    if let Some(s) = &f.inputs {
        check_numbers(ctx, "inputs", s.span(), s.get_ref())?;
        if s.get_ref().is_empty() || s.get_ref().len() > MAX_INPUTS {
            return Err(ctx.err(
                s.span(),
                "inputs",
                format!("give from 1 to {MAX_INPUTS} values"),
            ));
        }
    }
    let weights = f
        .weights
        .as_ref()
        .map(|m| matrix(ctx, "weights", m, (10, MAX_INPUTS)))
        .transpose()?;
    let bias = f.bias.as_ref().map(|s| s.get_ref().clone());
    if let Some(s) = &f.bias {
        check_numbers(ctx, "bias", s.span(), s.get_ref())?;
    }
    let classes = f.classes.as_ref().map_or_else(
        || vec!["circle".into(), "square".into(), "triangle".into()],
        |c| c.get_ref().clone(),
    );
    if let Some(c) = &f.classes {
        if c.get_ref().len() < 2 || c.get_ref().len() > 10 {
            return Err(ctx.err(c.span(), "classes", "give from 2 to 10 class names"));
        }
    }
    let shape = f
        .shape
        .as_ref()
        .map_or(ShapeName::Triangle, |s| *s.get_ref());
    let image_size = f.image_size.as_ref().map_or(128, |s| *s.get_ref());
    if let Some(s) = &f.image_size {
        if !(16..=256).contains(s.get_ref()) {
            return Err(ctx.err(s.span(), "image_size", "use a size from 16 to 256 pixels"));
        }
    }

    // what each kind needs, and whether the sizes fit together
    let need = |field: &str, present: bool| -> Result<()> {
        if present {
            Ok(())
        } else {
            Err(ctx.err(
                kind_span.clone(),
                field,
                format!("a {} lesson needs `{field}`", kind.name()),
            ))
        }
    };
    match kind {
        Kind::Convolution | Kind::Relu | Kind::Pooling | Kind::Dropout | Kind::Flatten => {
            need("image", image.is_some())?;
            need("kernel", !kernels.is_empty())?;
        }
        Kind::FullyConnected => {
            need("inputs", inputs.is_some())?;
            need("weights", weights.is_some())?;
        }
        Kind::Architecture => need("kernels", !kernels.is_empty())?,
        Kind::Train => {}
    }
    if let (Some(img), Some(k)) = (&image, kernels.first()) {
        let (h, w) = (img.nrows() + 2 * padding, img.ncols() + 2 * padding);
        if k.nrows() > h || k.ncols() > w {
            let span = f
                .kernel
                .as_ref()
                .map(Spanned::span)
                .or_else(|| f.kernels.as_ref().map(Spanned::span))
                .unwrap_or_default();
            return Err(ctx.err(
                span,
                "kernel",
                format!(
                    "the {}x{} filter is bigger than the {}x{} image{}",
                    k.nrows(),
                    k.ncols(),
                    img.nrows(),
                    img.ncols(),
                    if padding > 0 { " with its padding" } else { "" }
                ),
            ));
        }
        if matches!(kind, Kind::Pooling | Kind::Dropout | Kind::Flatten)
            && (kind == Kind::Pooling || f.pool_size.is_some())
        {
            let (mh, mw) = if edge_fill.is_some() {
                (img.nrows(), img.ncols())
            } else {
                ((h - k.nrows()) / stride + 1, (w - k.ncols()) / stride + 1)
            };
            if pool_size > mh || pool_size > mw {
                let span = f
                    .pool_size
                    .as_ref()
                    .map_or(kind_span.clone(), Spanned::span);
                return Err(ctx.err(
                    span,
                    "pool_size",
                    format!(
                        "a {pool_size}x{pool_size} pool does not fit the {mh}x{mw} feature map"
                    ),
                ));
            }
        }
    }
    if kind == Kind::Flatten {
        if let (Some(img), Some(k)) = (&image, kernels.first()) {
            let (h, w) = (img.nrows() + 2 * padding, img.ncols() + 2 * padding);
            let (mut mh, mut mw) = if edge_fill.is_some() {
                (img.nrows(), img.ncols())
            } else {
                ((h - k.nrows()) / stride + 1, (w - k.ncols()) / stride + 1)
            };
            if f.pool_size.is_some() && pool_size <= mh && pool_size <= mw {
                mh = (mh - pool_size) / pool_stride + 1;
                mw = (mw - pool_size) / pool_stride + 1;
            }
            let n = kernels.len() * mh * mw;
            if n > MAX_FLAT {
                return Err(ctx.err(
                    kind_span.clone(),
                    "kernels",
                    format!(
                        "the maps hold {n} values, too many to step through one by one; \
                         keep it to {MAX_FLAT} (a smaller image, fewer filters, or pooling)"
                    ),
                ));
            }
        }
    }
    if kind == Kind::Architecture {
        if let Some(k) = kernels.first() {
            if k.nrows() > image_size + 2 * padding || k.ncols() > image_size + 2 * padding {
                return Err(ctx.err(
                    kind_span,
                    "kernels",
                    "the filters are bigger than the image",
                ));
            }
            let side = image_size + 2 * padding + 1 - k.nrows().max(k.ncols());
            if pool_size > side {
                let span = f.pool_size.as_ref().map_or(kind_span, Spanned::span);
                return Err(ctx.err(
                    span,
                    "pool_size",
                    format!("a {pool_size}x{pool_size} pool does not fit the {side}x{side} feature maps"),
                ));
            }
        }
    }
    if let (Some(x), Some(w)) = (&inputs, &weights) {
        if w.ncols() != x.len() {
            let span = f.weights.as_ref().map(Spanned::span).unwrap_or_default();
            return Err(ctx.err(
                span,
                "weights",
                format!(
                    "each row needs one weight per input: {} inputs but rows of {}",
                    x.len(),
                    w.ncols()
                ),
            ));
        }
        if w.nrows() != classes.len() {
            let span = f.weights.as_ref().map(Spanned::span).unwrap_or_default();
            return Err(ctx.err(
                span,
                "weights",
                format!(
                    "one row per class: {} classes but {} rows",
                    classes.len(),
                    w.nrows()
                ),
            ));
        }
        if let Some(b) = &bias {
            if b.len() != w.nrows() {
                let span = f.bias.as_ref().map(Spanned::span).unwrap_or_default();
                return Err(ctx.err(
                    span,
                    "bias",
                    format!(
                        "one bias per class: {} classes but {} biases",
                        w.nrows(),
                        b.len()
                    ),
                ));
            }
        }
    }

    Ok(Spec {
        id,
        title,
        summary: f.summary.trim().to_string(),
        kind,
        text,
        image,
        kernels,
        stride,
        padding,
        edge_fill,
        pool_size,
        pool_stride,
        pool: kind == Kind::Pooling || kind == Kind::Architecture || f.pool_size.is_some(),
        dropout_p,
        seed,
        inputs,
        weights,
        bias,
        classes,
        shape,
        image_size,
    })
}
