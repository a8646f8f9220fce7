//! The step engine: turns a lesson into frames by calling [`crate::nn::ops`].
//!
//! Every result a frame shows (sums, maps, maxima, probabilities) comes from the ops. The
//! only arithmetic done here is for display: the individual products of a window written
//! out in a formula, and scaling a map to 0..255 grey to draw it as a picture.

use ndarray::{s, Array1, Array2, Array4, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::lesson::frame::{Bars, Frame, Grid, ImagePanel, Panel, Pipeline, Stage, Vector, Window};
use crate::lesson::model::{Kind, Lesson};
use crate::lesson::shapes;
use crate::nn::ops;
use crate::{Error, Result};

/// Every frame of `lesson`, computed from its current inputs (including the learner's edits).
pub fn frames(lesson: &Lesson) -> Result<Vec<Frame>> {
    let frames = match lesson.kind() {
        Kind::Convolution => convolution(lesson)?,
        Kind::Relu => relu(lesson)?,
        Kind::Pooling => pooling(lesson)?,
        Kind::Dropout => dropout(lesson)?,
        Kind::Flatten => flatten(lesson)?,
        Kind::FullyConnected => fully_connected(lesson)?,
        Kind::Architecture => architecture(lesson)?,
        Kind::Train => train(lesson),
    };
    Ok(frames)
}

// ---------------------------------------------------------------------------------------
// display helpers

/// A number as a learner would write it: `155`, `-155`, `0.5`, `1.333`, `0.0021`.
pub fn fmt_num(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == v.round() && v.abs() < 1.0e9 {
        let s = format!("{v:.0}");
        return if s == "-0" { "0".into() } else { s };
    }
    let a = v.abs();
    let decimals = if a >= 100.0 {
        1
    } else if a >= 0.01 {
        3
    } else {
        // small values keep two significant digits
        (2.0 - a.log10().floor()) as usize
    };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Replace `{name}` placeholders in each paragraph.
fn fill(paragraphs: &[String], vars: &[(&str, String)]) -> Vec<String> {
    paragraphs
        .iter()
        .map(|p| {
            let mut out = p.clone();
            for (k, v) in vars {
                out = out.replace(&format!("{{{k}}}"), v);
            }
            out
        })
        .collect()
}

fn grid(label: impl Into<String>, m: &Array2<f32>) -> Grid {
    let v: Vec<f32> = m.iter().copied().collect();
    Grid::full(label, m.nrows(), m.ncols(), &v)
}

/// A grid whose first `known` cells (row-major) are filled from `m`, the rest `?`.
fn partial(label: impl Into<String>, m: &Array2<f32>, known: usize) -> Grid {
    let mut g = grid(label, m);
    for (i, c) in g.cells.iter_mut().enumerate() {
        if i >= known {
            *c = None;
        }
    }
    g
}

fn with_window(mut g: Grid, row: usize, col: usize, height: usize, width: usize) -> Grid {
    g.window = Some(Window {
        row,
        col,
        height,
        width,
    });
    g
}

fn with_emphasis(mut g: Grid, cells: Vec<(usize, usize)>) -> Grid {
    g.emphasis = cells;
    g
}

/// `m` as an [1, 1, H, W] tensor.
fn as_batch(m: &Array2<f32>) -> Array4<f32> {
    m.clone().insert_axis(Axis(0)).insert_axis(Axis(0))
}

/// Several equal-size matrices as a [1, C, H, W] tensor (or [C, 1, H, W] with `as_filters`).
fn stack(ms: &[&Array2<f32>], as_filters: bool) -> Result<Array4<f32>> {
    let Some(first) = ms.first() else {
        return Err(Error::Lesson("no matrices to stack".into()));
    };
    let (h, w) = first.dim();
    if ms.iter().any(|m| m.dim() != (h, w)) {
        return Err(Error::Lesson("the filters (or maps) differ in size".into()));
    }
    let shape = if as_filters {
        (ms.len(), 1, h, w)
    } else {
        (1, ms.len(), h, w)
    };
    let flat: Vec<f32> = ms.iter().flat_map(|m| m.iter().copied()).collect();
    Array4::from_shape_vec(shape, flat).map_err(|e| Error::Lesson(e.to_string()))
}

/// Channel `c` of sample 0 of a [N, C, H, W] tensor.
fn channel(x: &Array4<f32>, c: usize) -> Array2<f32> {
    x.slice(s![0, c, .., ..]).to_owned()
}

/// A map scaled to 0..255 grey: its smallest value becomes 0 (black), its largest 255
/// (white); a map whose values are all equal becomes all black.
fn normalised(m: &Array2<f32>) -> Array2<f32> {
    let (lo, hi) = min_max(m);
    if hi > lo {
        m.mapv(|v| ((v - lo) / (hi - lo) * 255.0).round())
    } else {
        m.mapv(|_| 0.0)
    }
}

fn min_max(m: &Array2<f32>) -> (f32, f32) {
    m.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

fn grey_image(label: impl Into<String>, m: &Array2<f32>) -> ImagePanel {
    let n = normalised(m);
    let rgb = n
        .iter()
        .flat_map(|&v| {
            let g = v.clamp(0.0, 255.0) as u8;
            [g, g, g]
        })
        .collect();
    ImagePanel {
        label: label.into(),
        width: m.ncols(),
        height: m.nrows(),
        rgb,
    }
}

fn rgb_image(label: impl Into<String>, img: &image::RgbImage) -> ImagePanel {
    ImagePanel {
        label: label.into(),
        width: img.width() as usize,
        height: img.height() as usize,
        rgb: img.as_raw().clone(),
    }
}

fn frame(heading: impl Into<String>, text: Vec<String>, panels: Vec<Panel>) -> Frame {
    Frame {
        heading: heading.into(),
        text,
        panels,
        formula: None,
    }
}

fn shape_text(m: &Array2<f32>) -> String {
    format!("{}x{}", m.nrows(), m.ncols())
}

// ---------------------------------------------------------------------------------------
// the shared first stages: convolution (+ edge fill), ReLU, pooling

/// The result of sliding the lesson's filters over its image.
struct Conv {
    /// The image as the windows see it (with `padding` rings of 0 around it).
    padded: Array2<f32>,
    /// What `ops::conv2d` returned: [1, C, oh, ow].
    raw: Array4<f32>,
    /// The maps as shown: `raw`, placed inside a border of `edge_fill` when the lesson
    /// asks for one (the seed's way of keeping the image's size).
    maps: Vec<Array2<f32>>,
    /// Where raw cell (0, 0) sits in a shown map.
    offset: (usize, usize),
}

fn image_of(l: &Lesson) -> Result<&Array2<f32>> {
    l.image()
        .ok_or_else(|| Error::Lesson(format!("{}: this lesson has no image", l.source())))
}

fn convolve(l: &Lesson) -> Result<Conv> {
    let img = image_of(l)?;
    let kernels = l.kernels();
    let Some(k0) = kernels.first() else {
        return Err(Error::Lesson(format!(
            "{}: this lesson has no filter",
            l.source()
        )));
    };
    let (p, stride) = (l.spec.padding, l.spec.stride.max(1));
    let (kh, kw) = k0.dim();
    if kh > img.nrows() + 2 * p || kw > img.ncols() + 2 * p {
        return Err(Error::Lesson(format!(
            "{}: the {kh}x{kw} filter is bigger than the image",
            l.source()
        )));
    }
    let w = stack(&kernels, true)?;
    let raw = ops::conv2d(&as_batch(img), &w, None, stride, p);
    let mut padded = Array2::zeros((img.nrows() + 2 * p, img.ncols() + 2 * p));
    padded
        .slice_mut(s![p..p + img.nrows(), p..p + img.ncols()])
        .assign(img);
    let (_, c, oh, ow) = raw.dim();
    let (maps, offset) = match l.spec.edge_fill {
        Some(fillv) if stride == 1 && p == 0 => {
            let off = (kh / 2, kw / 2);
            let maps = (0..c)
                .map(|ci| {
                    let mut m = Array2::from_elem(img.dim(), fillv);
                    m.slice_mut(s![off.0..off.0 + oh, off.1..off.1 + ow])
                        .assign(&channel(&raw, ci));
                    m
                })
                .collect();
            (maps, off)
        }
        _ => ((0..c).map(|ci| channel(&raw, ci)).collect(), (0, 0)),
    };
    Ok(Conv {
        padded,
        raw,
        maps,
        offset,
    })
}

/// The maps after convolution, ReLU and (if the lesson pools) max pooling: [1, C, H, W].
fn feature_stack(l: &Lesson) -> Result<Array4<f32>> {
    let conv = convolve(l)?;
    let maps: Vec<&Array2<f32>> = conv.maps.iter().collect();
    let x = ops::relu(&stack(&maps, false)?);
    if l.spec.pool {
        pool(l, &x)
    } else {
        Ok(x)
    }
}

fn pool(l: &Lesson, x: &Array4<f32>) -> Result<Array4<f32>> {
    let (_, _, h, w) = x.dim();
    let (k, st) = (l.spec.pool_size.max(1), l.spec.pool_stride.max(1));
    if k > h || k > w {
        return Err(Error::Lesson(format!(
            "{}: a {k}x{k} pool does not fit the {h}x{w} map",
            l.source()
        )));
    }
    Ok(ops::max_pool2d(x, k, st))
}

// ---------------------------------------------------------------------------------------
// convolution

fn convolution(l: &Lesson) -> Result<Vec<Frame>> {
    let t = &l.spec.text;
    let conv = convolve(l)?;
    let img = image_of(l)?;
    let k = l.kernels()[0].clone();
    let (kh, kw) = k.dim();
    let stride = l.spec.stride.max(1);
    let p = l.spec.padding;
    let (_, _, oh, ow) = conv.raw.dim();
    let map = &conv.maps[0];
    let (gr, gc) = map.dim();
    let (r0, c0) = conv.offset;
    let in_label = if p > 0 {
        format!("Image {} + {p} ring(s) of 0", shape_text(img))
    } else {
        format!("Image {}", shape_text(img))
    };
    let f_label = format!("Filter {}", shape_text(&k));
    let out_label = format!("Feature map {gr}x{gc}");
    let steps = oh * ow;
    let unknown = |filled: &[(usize, usize)]| -> Grid {
        let mut g = grid(out_label.clone(), map);
        for c in &mut g.cells {
            *c = None;
        }
        for &(r, c) in filled {
            g.cells[r * gc + c] = Some(map[[r, c]]);
        }
        g
    };

    let mut frames = Vec::with_capacity(steps + 3);
    let mut intro = frame(
        "Convolution: a filter slides over an image",
        t.intro.clone(),
        vec![
            Panel::Grid(grid(in_label.clone(), &conv.padded)),
            Panel::Grid(grid(f_label.clone(), &k)),
            Panel::Grid(unknown(&[])),
        ],
    );
    intro.formula = Some(format!(
        "{} windows of {kh}x{kw}, each gives one number: the sum of {} products",
        steps,
        kh * kw
    ));
    frames.push(intro);

    let mut filled = Vec::with_capacity(steps);
    for oy in 0..oh {
        for ox in 0..ow {
            let (wy, wx) = (oy * stride, ox * stride);
            let value = conv.raw[[0, 0, oy, ox]];
            let cell = (oy + r0, ox + c0);
            filled.push(cell);
            let terms: Vec<String> = (0..kh)
                .flat_map(|ky| (0..kw).map(move |kx| (ky, kx)))
                .map(|(ky, kx)| {
                    format!(
                        "({} x {})",
                        fmt_num(conv.padded[[wy + ky, wx + kx]]),
                        fmt_num(k[[ky, kx]])
                    )
                })
                .collect();
            let n = filled.len();
            let vars = [
                ("step", n.to_string()),
                ("steps", steps.to_string()),
                ("row", (cell.0 + 1).to_string()),
                ("col", (cell.1 + 1).to_string()),
                ("value", fmt_num(value)),
            ];
            let mut f = frame(
                format!(
                    "Window {n} of {steps}: row {}, column {}",
                    cell.0 + 1,
                    cell.1 + 1
                ),
                fill(&t.step, &vars),
                vec![
                    Panel::Grid(with_window(
                        grid(in_label.clone(), &conv.padded),
                        wy,
                        wx,
                        kh,
                        kw,
                    )),
                    Panel::Grid(grid(f_label.clone(), &k)),
                    Panel::Grid(with_emphasis(unknown(&filled), vec![cell])),
                ],
            );
            f.formula = Some(format!("{} = {}", terms.join(" + "), fmt_num(value)));
            frames.push(f);
        }
    }

    if let Some(fillv) = l.spec.edge_fill.filter(|_| (gr, gc) != (oh, ow)) {
        let border: Vec<(usize, usize)> = (0..gr)
            .flat_map(|r| (0..gc).map(move |c| (r, c)))
            .filter(|&(r, c)| r < r0 || c < c0 || r >= r0 + oh || c >= c0 + ow)
            .collect();
        let mut f = frame(
            format!("The edges: filled with {}", fmt_num(fillv)),
            t.result.clone(),
            vec![
                Panel::Grid(grid(in_label.clone(), &conv.padded)),
                Panel::Grid(grid(f_label.clone(), &k)),
                Panel::Grid(with_emphasis(grid(out_label.clone(), map), border.clone())),
            ],
        );
        f.formula = Some(format!(
            "the filter's centre never reaches these {} edge cells, so each gets the padding value {}",
            border.len(),
            fmt_num(fillv)
        ));
        frames.push(f);
    } else {
        let mut f = frame(
            "The finished feature map",
            t.result.clone(),
            vec![
                Panel::Grid(grid(in_label.clone(), &conv.padded)),
                Panel::Grid(grid(f_label.clone(), &k)),
                Panel::Grid(grid(out_label.clone(), map)),
            ],
        );
        f.formula = Some(format!(
            "({} - {kh}) / {stride} + 1 = {oh} rows, ({} - {kw}) / {stride} + 1 = {ow} columns",
            conv.padded.nrows(),
            conv.padded.ncols()
        ));
        frames.push(f);
    }

    let (lo, hi) = min_max(map);
    let mut f = frame(
        "Showing the feature map as a picture",
        t.closing.clone(),
        vec![
            Panel::Grid(grid(out_label.clone(), map)),
            Panel::Grid(grid("Scaled to 0..255", &normalised(map))),
            Panel::Image(grey_image("As a picture", map)),
        ],
    );
    f.formula = Some(if hi > lo {
        format!(
            "shown = (value - min) / (max - min) x 255, with min = {} and max = {}: {} -> 0, {} -> 255",
            fmt_num(lo),
            fmt_num(hi),
            fmt_num(lo),
            fmt_num(hi)
        )
    } else {
        format!("every value is {}: the picture is flat", fmt_num(lo))
    });
    frames.push(f);
    Ok(frames)
}

// ---------------------------------------------------------------------------------------
// ReLU

fn relu(l: &Lesson) -> Result<Vec<Frame>> {
    let t = &l.spec.text;
    let conv = convolve(l)?;
    let map = &conv.maps[0];
    let out = ops::relu(map);
    let (rows, cols) = map.dim();
    let steps = rows * cols;
    let in_label = format!("Feature map {}", shape_text(map));
    let out_label = format!("After ReLU {}", shape_text(map));

    let mut frames = Vec::with_capacity(steps + 2);
    let mut intro = frame(
        "ReLU: negative values become 0",
        t.intro.clone(),
        vec![
            Panel::Grid(grid(in_label.clone(), map)),
            Panel::Grid(partial(out_label.clone(), &out, 0)),
        ],
    );
    intro.formula = Some("ReLU(x) = max(0, x)".into());
    frames.push(intro);
    for r in 0..rows {
        for c in 0..cols {
            let n = r * cols + c + 1;
            let (v, y) = (map[[r, c]], out[[r, c]]);
            let vars = [
                ("step", n.to_string()),
                ("steps", steps.to_string()),
                ("row", (r + 1).to_string()),
                ("col", (c + 1).to_string()),
                ("value", fmt_num(v)),
                ("result", fmt_num(y)),
            ];
            let mut f = frame(
                format!("Cell {n} of {steps}: row {}, column {}", r + 1, c + 1),
                fill(&t.step, &vars),
                vec![
                    Panel::Grid(with_window(grid(in_label.clone(), map), r, c, 1, 1)),
                    Panel::Grid(with_emphasis(
                        partial(out_label.clone(), &out, n),
                        vec![(r, c)],
                    )),
                ],
            );
            f.formula = Some(format!("max(0, {}) = {}", fmt_num(v), fmt_num(y)));
            frames.push(f);
        }
    }
    let negatives = map.iter().filter(|&&v| v < 0.0).count();
    let mut f = frame(
        "The ReLU map",
        [t.result.clone(), t.closing.clone()].concat(),
        vec![
            Panel::Grid(grid(in_label, map)),
            Panel::Grid(grid(out_label, &out)),
        ],
    );
    f.formula = Some(format!(
        "{negatives} of {steps} values were negative and became 0; the rest pass through unchanged"
    ));
    frames.push(f);
    Ok(frames)
}

// ---------------------------------------------------------------------------------------
// max pooling

fn pooling(l: &Lesson) -> Result<Vec<Frame>> {
    let t = &l.spec.text;
    let conv = convolve(l)?;
    let relu_map = ops::relu(&conv.maps[0]);
    let pooled4 = pool(l, &as_batch(&relu_map))?;
    let pooled = channel(&pooled4, 0);
    let (k, st) = (l.spec.pool_size.max(1), l.spec.pool_stride.max(1));
    let (ph, pw) = pooled.dim();
    let steps = ph * pw;
    let in_label = format!("ReLU map {}", shape_text(&relu_map));
    let out_label = format!("Pooled {}", shape_text(&pooled));

    let mut frames = Vec::with_capacity(steps + 2);
    let mut intro = frame(
        format!("Max pooling: {k}x{k} windows, stride {st}"),
        t.intro.clone(),
        vec![
            Panel::Grid(grid(in_label.clone(), &relu_map)),
            Panel::Grid(partial(out_label.clone(), &pooled, 0)),
        ],
    );
    intro.formula = Some(format!(
        "each {k}x{k} window keeps only its largest value: {} values become 1",
        k * k
    ));
    frames.push(intro);
    for oy in 0..ph {
        for ox in 0..pw {
            let n = oy * pw + ox + 1;
            let (wy, wx) = (oy * st, ox * st);
            let vals: Vec<String> = relu_map
                .slice(s![wy..wy + k, wx..wx + k])
                .iter()
                .map(|&v| fmt_num(v))
                .collect();
            let m = pooled[[oy, ox]];
            let vars = [
                ("step", n.to_string()),
                ("steps", steps.to_string()),
                ("row", (oy + 1).to_string()),
                ("col", (ox + 1).to_string()),
                ("value", fmt_num(m)),
            ];
            let mut f = frame(
                format!("Window {n} of {steps}: row {}, column {}", oy + 1, ox + 1),
                fill(&t.step, &vars),
                vec![
                    Panel::Grid(with_window(grid(in_label.clone(), &relu_map), wy, wx, k, k)),
                    Panel::Grid(with_emphasis(
                        partial(out_label.clone(), &pooled, n),
                        vec![(oy, ox)],
                    )),
                ],
            );
            f.formula = Some(format!("max({}) = {}", vals.join(", "), fmt_num(m)));
            frames.push(f);
        }
    }
    let mut f = frame(
        "The pooled map",
        [t.result.clone(), t.closing.clone()].concat(),
        vec![
            Panel::Grid(grid(in_label, &relu_map)),
            Panel::Grid(grid(out_label, &pooled)),
        ],
    );
    f.formula = Some(format!(
        "{}x{} = {} values became {ph}x{pw} = {steps} values",
        relu_map.nrows(),
        relu_map.ncols(),
        relu_map.len()
    ));
    frames.push(f);
    Ok(frames)
}

// ---------------------------------------------------------------------------------------
// dropout

fn keep_scale(p: f32) -> f32 {
    if p >= 1.0 {
        0.0
    } else {
        1.0 / (1.0 - p)
    }
}

fn dropout(l: &Lesson) -> Result<Vec<Frame>> {
    let t = &l.spec.text;
    let x = feature_stack(l)?;
    let p = l.state.dropout_p;
    let mut rng = ChaCha8Rng::seed_from_u64(l.state.seed);
    let (out, mask) = ops::dropout2d(&x, p, &mut rng);
    let c = x.dim().1;
    let scale = keep_scale(p);
    let before: Vec<Array2<f32>> = (0..c).map(|i| channel(&x, i)).collect();
    let after: Vec<Array2<f32>> = (0..c).map(|i| channel(&out, i)).collect();
    let dropped: Vec<bool> = (0..c).map(|i| mask[[0, i]] == 0.0).collect();
    let after_grid = |i: usize| -> Grid {
        let label = if dropped[i] {
            format!("Map {}", i + 1)
        } else {
            format!("Map {} kept (x{})", i + 1, fmt_num(scale))
        };
        let mut g = grid(label, &after[i]);
        g.dimmed = dropped[i];
        g
    };
    let base_vars = |extra: Vec<(&'static str, String)>| -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("p", fmt_num(p)),
            ("scale", fmt_num(scale)),
            ("maps", c.to_string()),
        ];
        v.extend(extra);
        v
    };

    let mut frames = Vec::with_capacity(c + 3);
    let mut intro = frame(
        format!("Dropout: {c} feature maps, p = {}", fmt_num(p)),
        fill(&t.intro, &base_vars(vec![])),
        before
            .iter()
            .enumerate()
            .map(|(i, m)| Panel::Grid(grid(format!("Map {}", i + 1), m)))
            .collect(),
    );
    intro.formula = Some(format!(
        "each map is dropped with probability {}; a kept map is multiplied by 1 / (1 - {}) = {}",
        fmt_num(p),
        fmt_num(p),
        fmt_num(scale)
    ));
    frames.push(intro);

    for i in 0..c {
        let verdict = if dropped[i] { "dropped" } else { "kept" };
        let vars = base_vars(vec![
            ("step", (i + 1).to_string()),
            ("steps", c.to_string()),
            ("map", (i + 1).to_string()),
            ("result", verdict.to_string()),
        ]);
        let mut f = frame(
            format!("Map {} of {c}: {verdict}", i + 1),
            fill(&t.step, &vars),
            vec![
                Panel::Grid(with_emphasis(
                    grid(format!("Map {} before", i + 1), &before[i]),
                    Vec::new(),
                )),
                Panel::Grid(after_grid(i)),
            ],
        );
        f.formula = Some(if dropped[i] {
            format!("map {} dropped: every value x 0 = 0", i + 1)
        } else {
            // an example cell: the largest value of the map
            let (at, v) =
                before[i]
                    .indexed_iter()
                    .fold(((0, 0), f32::NEG_INFINITY), |acc, (ix, &v)| {
                        if v > acc.1 {
                            (ix, v)
                        } else {
                            acc
                        }
                    });
            format!(
                "map {} kept: every value x {} (for example {} x {} = {})",
                i + 1,
                fmt_num(scale),
                fmt_num(v),
                fmt_num(scale),
                fmt_num(after[i][at])
            )
        });
        frames.push(f);
    }

    let n_dropped = dropped.iter().filter(|&&d| d).count();
    let mut f = frame(
        format!("After dropout: {n_dropped} of {c} maps dropped"),
        fill(&t.result, &base_vars(vec![])),
        (0..c).map(|i| Panel::Grid(after_grid(i))).collect(),
    );
    f.formula = Some(format!(
        "this draw dropped {n_dropped} of {c}; on average p x {c} = {} maps are dropped (seed {})",
        fmt_num(p * c as f32),
        l.state.seed
    ));
    frames.push(f);

    // the other tactic: vary the training images themselves
    let size = l.spec.image_size as u32;
    let img = shapes::draw(l.spec.shape, size, l.spec.seed);
    let mut f = frame(
        "Another defence: vary the training images",
        [t.augment.clone(), t.closing.clone()].concat(),
        vec![
            Panel::Image(rgb_image("Original", &img)),
            Panel::Image(rgb_image("Flipped (upside down)", &shapes::flip(&img))),
            Panel::Image(rgb_image("Mirrored (left-right)", &shapes::mirror(&img))),
            Panel::Image(rgb_image("Skewed (slanted)", &shapes::skew(&img, 0.3))),
        ],
    );
    f.formula = Some(format!(
        "one {size}x{size} picture, four training examples: same label, different pixels"
    ));
    frames.push(f);
    Ok(frames)
}

// ---------------------------------------------------------------------------------------
// flatten

fn flatten(l: &Lesson) -> Result<Vec<Frame>> {
    let t = &l.spec.text;
    let x = feature_stack(l)?;
    let v = ops::flatten(&x);
    let v: Vec<f32> = v.row(0).to_vec();
    let (_, c, h, w) = x.dim();
    let n = v.len();
    let maps: Vec<Array2<f32>> = (0..c).map(|i| channel(&x, i)).collect();
    let map_label = |i: usize| format!("Map {i} ({h}x{w})");
    let vec_label = format!("Vector ({n} values)");

    let mut frames = Vec::with_capacity(n + 2);
    let mut intro = frame(
        format!("Flatten: {c} maps become one vector"),
        t.intro.clone(),
        maps.iter()
            .enumerate()
            .map(|(i, m)| Panel::Grid(grid(map_label(i), m)))
            .chain(std::iter::once(Panel::Vector(Vector {
                label: vec_label.clone(),
                values: vec![None; n],
                emphasis: Vec::new(),
                offset: 0,
                names: Vec::new(),
            })))
            .collect(),
    );
    intro.formula = Some(format!("{c} maps x {h} rows x {w} columns = {n} values"));
    frames.push(intro);

    for i in 0..n {
        let (ci, r, col) = (i / (h * w), (i / w) % h, i % w);
        let vars = [
            ("step", (i + 1).to_string()),
            ("steps", n.to_string()),
            ("index", i.to_string()),
            ("map", ci.to_string()),
            ("row", r.to_string()),
            ("col", col.to_string()),
            ("value", fmt_num(v[i])),
        ];
        let mut panels: Vec<Panel> = maps
            .iter()
            .enumerate()
            .map(|(mi, m)| {
                let g = grid(map_label(mi), m);
                Panel::Grid(if mi == ci {
                    with_emphasis(with_window(g, r, col, 1, 1), vec![(r, col)])
                } else {
                    g
                })
            })
            .collect();
        panels.push(Panel::Vector(Vector {
            label: vec_label.clone(),
            values: v
                .iter()
                .enumerate()
                .map(|(j, &x)| (j <= i).then_some(x))
                .collect(),
            emphasis: vec![i],
            offset: 0,
            names: Vec::new(),
        }));
        let mut f = frame(
            format!("Index {i}: map {ci}, row {r}, column {col}"),
            fill(&t.step, &vars),
            panels,
        );
        f.formula = Some(format!(
            "index = map x {} + row x {w} + column = {ci} x {} + {r} x {w} + {col} = {i}  (value {})",
            h * w,
            h * w,
            fmt_num(v[i])
        ));
        frames.push(f);
    }

    let mut panels: Vec<Panel> = maps
        .iter()
        .enumerate()
        .map(|(i, m)| Panel::Grid(grid(map_label(i), m)))
        .collect();
    panels.push(Panel::Vector(Vector {
        label: vec_label,
        values: v.iter().copied().map(Some).collect(),
        emphasis: Vec::new(),
        offset: 0,
        names: Vec::new(),
    }));
    let mut f = frame(
        "The flattened vector",
        [t.result.clone(), t.closing.clone()].concat(),
        panels,
    );
    f.formula = Some(format!(
        "shape [1, {c}, {h}, {w}] -> [1, {n}], as PyTorch's x.view(-1, {n}) reads it"
    ));
    frames.push(f);
    Ok(frames)
}

// ---------------------------------------------------------------------------------------
// fully connected

fn fully_connected(l: &Lesson) -> Result<Vec<Frame>> {
    let t = &l.spec.text;
    let missing = || Error::Lesson(format!("{}: needs inputs and weights", l.source()));
    let inputs = l.matrix("inputs").ok_or_else(missing)?;
    let w = l.matrix("weights").ok_or_else(missing)?;
    let n_in = inputs.ncols();
    let k = w.nrows();
    if w.ncols() != n_in || l.spec.classes.len() != k {
        return Err(Error::Lesson(format!(
            "{}: the weights must have one row per class and one column per input",
            l.source()
        )));
    }
    let b: Array1<f32> = match l.matrix("bias") {
        Some(b) if b.ncols() == k => b.row(0).to_owned(),
        Some(_) => return Err(Error::Lesson(format!("{}: one bias per class", l.source()))),
        None => Array1::zeros(k),
    };
    let has_bias = l.matrix("bias").is_some();
    let scores = ops::linear(inputs, w, &b);
    let probs = ops::softmax(&scores);
    let scores: Vec<f32> = scores.row(0).to_vec();
    let probs: Vec<f32> = probs.row(0).to_vec();
    let classes = &l.spec.classes;
    let x: Vec<f32> = inputs.row(0).to_vec();

    let input_panel = || {
        Panel::Vector(Vector {
            label: format!("Inputs ({n_in} values)"),
            values: x.iter().copied().map(Some).collect(),
            emphasis: Vec::new(),
            offset: 0,
            names: Vec::new(),
        })
    };
    let w_label = format!("Weights: a row per class ({})", classes.join(", "));
    let score_panel = |known: usize, emph: Option<usize>| {
        Panel::Vector(Vector {
            label: "Scores".to_string(),
            values: scores
                .iter()
                .enumerate()
                .map(|(j, &s)| (j < known).then_some(s))
                .collect(),
            emphasis: emph.into_iter().collect(),
            offset: 0,
            names: classes.clone(),
        })
    };
    let bars = || {
        Panel::Bars(Bars {
            label: "Probabilities".into(),
            items: classes.iter().cloned().zip(probs.iter().copied()).collect(),
        })
    };

    let mut frames = Vec::with_capacity(k + 3);
    let mut intro = frame(
        format!("Fully connected: {n_in} values in, {k} scores out"),
        t.intro.clone(),
        vec![
            input_panel(),
            Panel::Grid(grid(w_label.clone(), w)),
            score_panel(0, None),
        ],
    );
    intro.formula = Some(format!(
        "{k} classes x {n_in} inputs = {} weights{}",
        k * n_in,
        if has_bias {
            format!(", plus {k} biases")
        } else {
            String::new()
        }
    ));
    frames.push(intro);

    for j in 0..k {
        let terms: Vec<String> = (0..n_in)
            .map(|i| format!("({} x {})", fmt_num(x[i]), fmt_num(w[[j, i]])))
            .collect();
        let bias = if has_bias && b[j] < 0.0 {
            format!(" - {}", fmt_num(-b[j]))
        } else if has_bias {
            format!(" + {}", fmt_num(b[j]))
        } else {
            String::new()
        };
        let vars = [
            ("step", (j + 1).to_string()),
            ("steps", k.to_string()),
            ("class", classes[j].clone()),
            ("value", fmt_num(scores[j])),
        ];
        let mut f = frame(
            format!("Score {} of {k}: {}", j + 1, classes[j]),
            fill(&t.step, &vars),
            vec![
                input_panel(),
                Panel::Grid(with_window(grid(w_label.clone(), w), j, 0, 1, n_in)),
                score_panel(j + 1, Some(j)),
            ],
        );
        f.formula = Some(format!(
            "{}: {}{bias} = {}",
            classes[j],
            terms.join(" + "),
            fmt_num(scores[j])
        ));
        frames.push(f);
    }

    // the exponentials are written out for display; the probabilities come from ops::softmax
    let exps: Vec<f32> = scores.iter().map(|&s| s.exp()).collect();
    let total_exp: f32 = exps.iter().sum();
    let powers: Vec<String> = scores
        .iter()
        .zip(&exps)
        .map(|(&s, &e)| format!("e^{} = {}", fmt_num(s), fmt_num(e)))
        .collect();
    let shares: Vec<String> = (0..k)
        .map(|j| {
            format!(
                "{} {} / {} = {}",
                classes[j],
                fmt_num(exps[j]),
                fmt_num(total_exp),
                fmt_num(probs[j])
            )
        })
        .collect();
    let parts = [
        powers.join(", "),
        format!("total {}", fmt_num(total_exp)),
        shares.join(", "),
    ];
    let mut f = frame(
        "Softmax: scores become probabilities",
        t.result.clone(),
        vec![score_panel(k, None), bars()],
    );
    f.formula = Some(parts.join("; "));
    frames.push(f);

    let best = probs
        .iter()
        .enumerate()
        .fold(0, |b, (j, &p)| if p > probs[b] { j } else { b });
    let sum: String = probs
        .iter()
        .map(|&p| fmt_num(p))
        .collect::<Vec<_>>()
        .join(" + ");
    let total: f32 = probs.iter().sum();
    let mut f = frame(
        format!("The prediction: {}", classes[best]),
        fill(
            &t.closing,
            &[
                ("class", classes[best].clone()),
                ("value", fmt_num(probs[best])),
            ],
        ),
        vec![score_panel(k, Some(best)), bars()],
    );
    f.formula = Some(format!("{sum} = {}", fmt_num(total)));
    frames.push(f);
    Ok(frames)
}

// ---------------------------------------------------------------------------------------
// the whole network

fn architecture(l: &Lesson) -> Result<Vec<Frame>> {
    let t = &l.spec.text;
    let p = l.state.dropout_p;
    let vars = [("p", fmt_num(p)), ("scale", fmt_num(keep_scale(p)))];
    let para = |i: usize| -> Vec<String> {
        fill(
            &t.step.get(i).cloned().into_iter().collect::<Vec<_>>(),
            &vars,
        )
    };
    let size = l.spec.image_size;
    let img = shapes::draw(l.spec.shape, size as u32, l.spec.seed);
    // grey, scaled to -1..1 as the seed's Normalize(mean 0.5, std 0.5) does
    let grey = Array2::from_shape_fn((size, size), |(y, x)| {
        let px = img.get_pixel(x as u32, y as u32).0;
        let g = (f32::from(px[0]) + f32::from(px[1]) + f32::from(px[2])) / 3.0 / 255.0;
        (g - 0.5) / 0.5
    });
    let kernels = l.kernels();
    let Some(k0) = kernels.first() else {
        return Err(Error::Lesson(format!("{}: needs kernels", l.source())));
    };
    let (kh, kw) = k0.dim();
    let pad = l.spec.padding;
    if kh > size + 2 * pad || kw > size + 2 * pad {
        return Err(Error::Lesson(format!(
            "{}: the filters are bigger than the image",
            l.source()
        )));
    }
    let conv = ops::conv2d(&as_batch(&grey), &stack(&kernels, true)?, None, 1, pad);
    let act = ops::relu(&conv);
    let pooled = pool(l, &act)?;
    let mut rng = ChaCha8Rng::seed_from_u64(l.state.seed);
    let (dropped, mask) = ops::dropout2d(&pooled, p, &mut rng);
    let flat = ops::flatten(&dropped);
    let n = flat.ncols();
    let classes = &l.spec.classes;
    let k = classes.len();
    // untrained weights, drawn like PyTorch's default Linear init: uniform in ±1/sqrt(n)
    let mut wrng = ChaCha8Rng::seed_from_u64(l.spec.seed ^ 0x5EED_F00D);
    let bound = 1.0 / (n as f32).sqrt();
    let w = Array2::from_shape_fn((k, n), |_| wrng.gen_range(-bound..bound));
    let b = Array1::from_shape_fn(k, |_| wrng.gen_range(-bound..bound));
    let scores = ops::linear(&flat, &w, &b);
    let probs = ops::softmax(&scores);

    let (_, c, ch, cw) = conv.dim();
    let (_, _, ph, pw) = pooled.dim();
    let ps = l.spec.pool_size;
    let stages = vec![
        Stage {
            name: "Image (grey)".into(),
            shape: format!("1x{size}x{size}"),
        },
        Stage {
            name: format!("Convolution, {c} filters {kh}x{kw}"),
            shape: format!("{c}x{ch}x{cw}"),
        },
        Stage {
            name: format!("ReLU + max pool {ps}x{ps}"),
            shape: format!("{c}x{ph}x{pw}"),
        },
        Stage {
            name: format!("Dropout p={}", fmt_num(p)),
            shape: format!("{c}x{ph}x{pw}"),
        },
        Stage {
            name: "Flatten".into(),
            shape: n.to_string(),
        },
        Stage {
            name: "Fully connected".into(),
            shape: k.to_string(),
        },
        Stage {
            name: "Softmax".into(),
            shape: format!("{k} probabilities"),
        },
    ];
    let pipe = |active: Option<usize>| {
        Panel::Pipeline(Pipeline {
            label: "The network".into(),
            stages: stages.clone(),
            active,
        })
    };
    let maps_as_images = |x: &Array4<f32>, what: &str| -> Vec<Panel> {
        (0..x.dim().1)
            .map(|i| Panel::Image(grey_image(format!("{what} {}", i + 1), &channel(x, i))))
            .collect()
    };
    let score_vec: Vec<f32> = scores.row(0).to_vec();
    let prob_vec: Vec<f32> = probs.row(0).to_vec();

    let mut frames = Vec::with_capacity(8);
    frames.push(frame(
        "The whole network, stage by stage",
        t.intro.clone(),
        vec![pipe(None), Panel::Image(rgb_image("The picture", &img))],
    ));

    let mut f = frame(
        format!("Stage 1: the {}", shape_word(l)),
        para(0),
        vec![
            pipe(Some(0)),
            Panel::Image(rgb_image("In colour", &img)),
            Panel::Image(grey_image("What the network reads", &grey)),
        ],
    );
    f.formula = Some(format!(
        "3x{size}x{size} colour pixels 0..255 -> 1x{size}x{size} grey, scaled to -1..1"
    ));
    frames.push(f);

    let mut panels = vec![pipe(Some(1))];
    panels.extend(
        kernels
            .iter()
            .enumerate()
            .map(|(i, kk)| Panel::Grid(grid(format!("Filter {}", i + 1), kk))),
    );
    panels.extend(maps_as_images(&conv, "Feature map"));
    let mut f = frame("Stage 2: convolution", para(1), panels);
    f.formula = Some(format!(
        "1x{size}x{size} with {c} filters of {kh}x{kw}, padding {pad} -> {c}x{ch}x{cw}"
    ));
    frames.push(f);

    let mut panels = vec![pipe(Some(2))];
    panels.extend(maps_as_images(&pooled, "Pooled map"));
    let mut f = frame("Stage 3: ReLU and pooling", para(2), panels);
    f.formula = Some(format!(
        "negatives -> 0, then {ps}x{ps} max pooling: {c}x{ch}x{cw} -> {c}x{ph}x{pw}"
    ));
    frames.push(f);

    let mut panels = vec![pipe(Some(3))];
    panels.extend((0..c).map(|i| {
        let gone = mask[[0, i]] == 0.0;
        Panel::Image(grey_image(
            format!("Map {} {}", i + 1, if gone { "dropped" } else { "kept" }),
            &channel(&dropped, i),
        ))
    }));
    let n_dropped = mask.iter().filter(|&&m| m == 0.0).count();
    let mut f = frame("Stage 4: dropout", para(3), panels);
    f.formula = Some(format!(
        "p = {}: {n_dropped} of {c} maps dropped this time; kept maps x {}",
        fmt_num(p),
        fmt_num(keep_scale(p))
    ));
    frames.push(f);

    // a slice of the long vector, starting near its first non-zero value
    let shown = n.min(24);
    let first = flat.row(0).iter().position(|&v| v != 0.0).unwrap_or(0);
    let start = (first / 8 * 8).min(n - shown);
    let mut f = frame(
        "Stage 5: flatten",
        para(4),
        vec![
            pipe(Some(4)),
            Panel::Vector(Vector {
                label: format!("Values {} to {} of {n}", start, start + shown - 1),
                values: flat
                    .row(0)
                    .iter()
                    .skip(start)
                    .take(shown)
                    .copied()
                    .map(Some)
                    .collect(),
                emphasis: Vec::new(),
                offset: start,
                names: Vec::new(),
            }),
        ],
    );
    f.formula = Some(format!("{c}x{ph}x{pw} -> {n} values in one row"));
    frames.push(f);

    let mut f = frame(
        "Stage 6: fully connected",
        para(5),
        vec![
            pipe(Some(5)),
            Panel::Vector(Vector {
                label: "Scores".to_string(),
                values: score_vec.iter().copied().map(Some).collect(),
                emphasis: Vec::new(),
                offset: 0,
                names: classes.clone(),
            }),
        ],
    );
    f.formula = Some(format!(
        "{k} weighted sums of {n} values each: {} weights + {k} biases, random (not trained yet)",
        k * n
    ));
    frames.push(f);

    let mut f = frame(
        "Stage 7: softmax",
        [para(6), t.closing.clone()].concat(),
        vec![
            pipe(Some(6)),
            Panel::Bars(Bars {
                label: "Probabilities".into(),
                items: classes
                    .iter()
                    .cloned()
                    .zip(prob_vec.iter().copied())
                    .collect(),
            }),
        ],
    );
    f.formula = Some(
        classes
            .iter()
            .zip(&prob_vec)
            .map(|(cl, p)| format!("{cl} {}", fmt_num(*p)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    frames.push(f);
    Ok(frames)
}

fn shape_word(l: &Lesson) -> &'static str {
    match l.spec.shape {
        crate::lesson::model::ShapeName::Circle => "circle",
        crate::lesson::model::ShapeName::Square => "square",
        crate::lesson::model::ShapeName::Triangle => "triangle",
    }
}

// ---------------------------------------------------------------------------------------
// training (its own screen comes from another issue)

fn train(l: &Lesson) -> Vec<Frame> {
    let t = &l.spec.text;
    // the seed's network, its shapes worked out from a 3x128x128 input
    let (s, c1, c3) = (128usize, 12usize, 24usize);
    let (s2, s4) = (s / 2, s / 4);
    let stages = vec![
        ("Image (colour)", format!("3x{s}x{s}")),
        ("conv1: 12 filters 3x3, padding 1", format!("{c1}x{s}x{s}")),
        ("max pool 2x2 + ReLU", format!("{c1}x{s2}x{s2}")),
        (
            "conv2: 12 filters 3x3, padding 1",
            format!("{c1}x{s2}x{s2}"),
        ),
        ("max pool 2x2 + ReLU", format!("{c1}x{s4}x{s4}")),
        (
            "conv3: 24 filters 3x3, padding 1",
            format!("{c3}x{s4}x{s4}"),
        ),
        (
            "Dropout2d p=0.2 + ReLU + dropout",
            format!("{c3}x{s4}x{s4}"),
        ),
        ("Flatten", (c3 * s4 * s4).to_string()),
        ("Fully connected", "3".to_string()),
        ("Log-softmax", "3".to_string()),
    ];
    let pipe = Panel::Pipeline(Pipeline {
        label: "The network that will be trained".into(),
        stages: stages
            .into_iter()
            .map(|(n, sh)| Stage {
                name: n.into(),
                shape: sh,
            })
            .collect(),
        active: None,
    });
    let mut frames = vec![frame(
        l.title().to_string(),
        t.intro.clone(),
        vec![pipe.clone()],
    )];
    if !t.step.is_empty() || !t.result.is_empty() || !t.closing.is_empty() {
        frames.push(frame(
            "How training works: press s to start",
            [t.step.clone(), t.result.clone(), t.closing.clone()].concat(),
            vec![pipe],
        ));
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_a_person_writes_them() {
        assert_eq!(fmt_num(155.0), "155");
        assert_eq!(fmt_num(-155.0), "-155");
        assert_eq!(fmt_num(-0.0), "0");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(1.0 / 9.0), "0.111");
        assert_eq!(fmt_num(0.0021), "0.0021");
        assert_eq!(fmt_num(123.46), "123.5");
    }

    #[test]
    fn placeholders_are_filled() {
        let out = fill(
            &["row {row}, value {value}".into()],
            &[("row", "2".into()), ("value", "155".into())],
        );
        assert_eq!(out, vec!["row 2, value 155".to_string()]);
    }
}
