//! A lesson as data: `cnn-tutor lesson ID --json`, one JSON document with every step, for
//! handouts, slides and tests. Numbers are the computed `f32`s at full precision (printed
//! as the shortest text that reads back as the same `f32`), not the display rounding;
//! a value not computed yet is `null`.
//!
//! How each panel becomes `{"kind", "title", "rows", "highlight", "labels"}`:
//! - grid: its rows; `highlight` the cells of the window, then the emphasised cells;
//! - vector: one row; `highlight` the emphasised entries (`[0, i]`); `labels` its names
//!   (class names), when it has them;
//! - bars: one row of values; `labels` the bar names;
//! - image: its grey values (0 to 255; the mean of red, green and blue), one row per
//!   pixel row;
//! - pipeline: one row per stage, the numbers of its output shape (`2x64x64` is
//!   `[2, 64, 64]`); `labels` the stage names; `highlight` `[[stage, 0]]` for the active one.

use serde::Serialize;

use crate::lesson::frame::{Panel, Step};
use crate::lesson::model::Lesson;
use crate::{Error, Result};

/// The whole lesson.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// The lesson's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Every step, in order.
    pub steps: Vec<StepData>,
}

/// One step.
#[derive(Debug, Clone, Serialize)]
pub struct StepData {
    /// The step's heading.
    pub title: String,
    /// The explanation, paragraphs separated by a blank line.
    pub text: String,
    /// The arithmetic written out, if the step has any.
    pub formula: Option<String>,
    /// What the step draws.
    pub panels: Vec<PanelData>,
}

/// One panel.
#[derive(Debug, Clone, Serialize)]
pub struct PanelData {
    /// `grid`, `vector`, `bars`, `image` or `pipeline`.
    pub kind: &'static str,
    /// The panel's label.
    pub title: String,
    /// The numbers, row by row; `null` for a value not computed yet.
    pub rows: Vec<Vec<Option<f32>>>,
    /// `[row, column]` of each highlighted cell.
    pub highlight: Vec<[usize; 2]>,
    /// Names of the entries (class names, stage names), when the panel has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// The lesson's steps as a [`Document`].
pub fn document(lesson: &Lesson) -> Result<Document> {
    Ok(Document {
        id: lesson.id().to_string(),
        title: lesson.title().to_string(),
        steps: lesson.frames()?.iter().map(step).collect(),
    })
}

/// The lesson as one JSON document (pretty-printed, ending in a newline).
pub fn json(lesson: &Lesson) -> Result<String> {
    let doc = document(lesson)?;
    let mut s = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::Lesson(format!("{}: {e}", lesson.source())))?;
    s.push('\n');
    Ok(s)
}

fn step(s: &Step) -> StepData {
    StepData {
        title: s.heading.clone(),
        text: s.text.join("\n\n"),
        formula: s.formula.clone(),
        panels: s.panels.iter().map(panel).collect(),
    }
}

fn panel(p: &Panel) -> PanelData {
    match p {
        Panel::Grid(g) => {
            let rows = (0..g.rows)
                .map(|r| (0..g.cols).map(|c| g.get(r, c)).collect())
                .collect();
            let mut highlight: Vec<[usize; 2]> = Vec::new();
            if let Some(w) = g.window {
                for r in w.row..w.row + w.height {
                    for c in w.col..w.col + w.width {
                        highlight.push([r, c]);
                    }
                }
            }
            for &(r, c) in &g.emphasis {
                if !highlight.contains(&[r, c]) {
                    highlight.push([r, c]);
                }
            }
            PanelData {
                kind: "grid",
                title: g.label.clone(),
                rows,
                highlight,
                labels: Vec::new(),
            }
        }
        Panel::Vector(v) => PanelData {
            kind: "vector",
            title: v.label.clone(),
            rows: vec![v.values.clone()],
            highlight: v.emphasis.iter().map(|&i| [0, i]).collect(),
            labels: v.names.clone(),
        },
        Panel::Bars(b) => PanelData {
            kind: "bars",
            title: b.label.clone(),
            rows: vec![b.items.iter().map(|(_, v)| Some(*v)).collect()],
            highlight: Vec::new(),
            labels: b.items.iter().map(|(n, _)| n.clone()).collect(),
        },
        Panel::Image(img) => {
            let rows = (0..img.height)
                .map(|r| {
                    (0..img.width)
                        .map(|c| {
                            let i = (r * img.width + c) * 3;
                            img.rgb.get(i..i + 3).map(|px| {
                                (f32::from(px[0]) + f32::from(px[1]) + f32::from(px[2])) / 3.0
                            })
                        })
                        .collect()
                })
                .collect();
            PanelData {
                kind: "image",
                title: img.label.clone(),
                rows,
                highlight: Vec::new(),
                labels: Vec::new(),
            }
        }
        Panel::Pipeline(p) => PanelData {
            kind: "pipeline",
            title: p.label.clone(),
            rows: p
                .stages
                .iter()
                .map(|s| s.shape.split('x').map(|n| n.trim().parse().ok()).collect())
                .collect(),
            highlight: p.active.map(|a| [a, 0]).into_iter().collect(),
            labels: p.stages.iter().map(|s| s.name.clone()).collect(),
        },
    }
}
