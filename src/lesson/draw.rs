//! Building steps for display: grids, pictures and the text with its placeholders filled.
//!
//! The only arithmetic here is for display: scaling a map to 0..255 grey to draw it as a
//! picture. Every result a step shows comes from [`crate::nn::ops`], in the kinds.

use ndarray::{s, Array2, Array4, Axis};

use crate::lesson::frame::{Grid, ImagePanel, Panel, Step, Window};
use crate::{Error, Result};

pub(crate) use crate::lesson::number::fmt_num;

/// Replace `{name}` placeholders in each paragraph.
pub(crate) fn fill(paragraphs: &[String], vars: &[(&str, String)]) -> Vec<String> {
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

/// A step with no formula.
pub(crate) fn step(heading: impl Into<String>, text: Vec<String>, panels: Vec<Panel>) -> Step {
    Step {
        heading: heading.into(),
        text,
        panels,
        formula: None,
        sum: None,
    }
}

pub(crate) fn grid(label: impl Into<String>, m: &Array2<f32>) -> Grid {
    let v: Vec<f32> = m.iter().copied().collect();
    Grid::full(label, m.nrows(), m.ncols(), &v)
}

/// A grid whose first `known` cells (row-major) are filled from `m`, the rest `?`.
pub(crate) fn partial(label: impl Into<String>, m: &Array2<f32>, known: usize) -> Grid {
    let mut g = grid(label, m);
    for (i, c) in g.cells.iter_mut().enumerate() {
        if i >= known {
            *c = None;
        }
    }
    g
}

pub(crate) fn with_window(
    mut g: Grid,
    row: usize,
    col: usize,
    height: usize,
    width: usize,
) -> Grid {
    g.window = Some(Window {
        row,
        col,
        height,
        width,
    });
    g
}

pub(crate) fn with_emphasis(mut g: Grid, cells: Vec<(usize, usize)>) -> Grid {
    g.emphasis = cells;
    g
}

/// `m` as an [1, 1, H, W] tensor.
pub(crate) fn as_batch(m: &Array2<f32>) -> Array4<f32> {
    m.clone().insert_axis(Axis(0)).insert_axis(Axis(0))
}

/// Several equal-size matrices as a [1, C, H, W] tensor (or [C, 1, H, W] with `as_filters`).
pub(crate) fn stack(ms: &[&Array2<f32>], as_filters: bool) -> Result<Array4<f32>> {
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
pub(crate) fn channel(x: &Array4<f32>, c: usize) -> Array2<f32> {
    x.slice(s![0, c, .., ..]).to_owned()
}

/// A map scaled to 0..255 grey: its smallest value becomes 0 (black), its largest 255
/// (white); a map whose values are all equal becomes all black.
pub(crate) fn normalised(m: &Array2<f32>) -> Array2<f32> {
    let (lo, hi) = min_max(m);
    if hi > lo {
        m.mapv(|v| ((v - lo) / (hi - lo) * 255.0).round())
    } else {
        m.mapv(|_| 0.0)
    }
}

pub(crate) fn min_max(m: &Array2<f32>) -> (f32, f32) {
    m.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

pub(crate) fn grey_image(label: impl Into<String>, m: &Array2<f32>) -> ImagePanel {
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

pub(crate) fn rgb_image(label: impl Into<String>, img: &image::RgbImage) -> ImagePanel {
    ImagePanel {
        label: label.into(),
        width: img.width() as usize,
        height: img.height() as usize,
        rgb: img.as_raw().clone(),
    }
}

pub(crate) use crate::nn::dropout::keep_scale;

pub(crate) fn shape_text(m: &Array2<f32>) -> String {
    format!("{}x{}", m.nrows(), m.ncols())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        let out = fill(
            &["row {row}, value {value}".into()],
            &[("row", "2".into()), ("value", "155".into())],
        );
        assert_eq!(out, vec!["row 2, value 155".to_string()]);
    }
}
