//! ReLU: the feature map of an image and a filter (as in convolution), then negatives set
//! to 0, cell by cell.

use std::sync::Arc;

use ndarray::Array2;
use serde::Deserialize;

use super::maps::{ImageFile, Maps, Pool, Takes};
use super::{ImageKindFile, LessonKind};
use crate::lesson::check::Ctx;
use crate::lesson::draw::{
    fill, fmt_num, grid, partial, shape_text, step, with_emphasis, with_window,
};
use crate::lesson::frame::{Panel, Step};
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{self, Hide, Question, MARK};
use crate::nn::ops;
use crate::Result;

/// The fields of a relu lesson.
#[derive(Debug, Deserialize)]
pub(crate) struct File {}

impl ImageKindFile for File {
    const NAME: &'static str = "relu";
    const TAKES: Takes = Takes {
        kernels: false,
        pool: Pool::No,
    };

    fn placeholders(block: &str) -> &'static [&'static str] {
        match block {
            "text.step" => &["step", "steps", "row", "col", "value", "result"],
            _ => &[],
        }
    }

    fn check(self, ctx: &Ctx, image: ImageFile) -> Result<Arc<dyn LessonKind>> {
        let maps = image.check(ctx, Self::TAKES)?.finish(ctx)?;
        Ok(Arc::new(Relu { maps }))
    }
}

/// A checked relu lesson.
#[derive(Debug)]
struct Relu {
    maps: Maps,
}

/// The cell steps of a map: each cell that is not 0 has a step of its own; a run of
/// cells that are 0 in reading order (the padding ring, sums that came to 0) shares one,
/// since max(0, 0) = 0 needs no working. Each entry is the run of cell indices.
fn cell_runs(map: &Array2<f32>) -> Vec<std::ops::Range<usize>> {
    let cols = map.ncols();
    let n = map.len();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < n {
        let zero = |k: usize| map[[k / cols, k % cols]] == 0.0;
        let mut end = i + 1;
        if zero(i) {
            while end < n && zero(end) {
                end += 1;
            }
        }
        runs.push(i..end);
        i = end;
    }
    runs
}

impl LessonKind for Relu {
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        self.maps.matrices()
    }

    fn filter_presets(&self) -> bool {
        true
    }

    /// Each output cell; the app asks the cells whose input is not 0 (an edge cell of 0
    /// stays 0), the first four of them, then one in three and the last.
    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<Question> {
        let Ok(conv) = self.maps.convolve(l) else {
            return Vec::new();
        };
        let map = &conv.maps[0];
        let (rows, cols) = map.dim();
        let n = rows * cols;
        let asked: Vec<usize> = (0..n)
            .filter(|&i| map[[i / cols, i % cols]] != 0.0)
            .collect();
        let mut out = Vec::with_capacity(n);
        // a cell of 0 is not asked: it shares a step with its neighbours of 0
        for (k, run) in cell_runs(map).into_iter().enumerate() {
            if run.len() != 1 || map[[run.start / cols, run.start % cols]] == 0.0 {
                continue;
            }
            let i = run.start;
            let Some(mut q) = steps.get(k + 1).and_then(|s| quiz::from_step(k + 1, s)) else {
                continue;
            };
            let (r, c) = (i / cols, i % cols);
            let v = map[[r, c]];
            let vars = [
                ("step", (i + 1).to_string()),
                ("steps", n.to_string()),
                ("row", (r + 1).to_string()),
                ("col", (c + 1).to_string()),
                ("value", fmt_num(v)),
                ("result", MARK.to_string()),
            ];
            q.hide.retain(|h| !matches!(h, Hide::Words { .. }));
            q.hide.push(Hide::Text(fill(&l.text().step, &vars)));
            q.ask = format!(
                "Cell {} of {n} holds {}: what does ReLU make of it?",
                i + 1,
                fmt_num(v)
            );
            q.hints = vec![
                "ReLU keeps the larger of 0 and the value: max(0, x)".to_string(),
                if v < 0.0 {
                    format!("{} is below 0", fmt_num(v))
                } else {
                    format!("{} is not below 0", fmt_num(v))
                },
            ];
            q.working = format!(
                "max(0, {}) = {}: {}",
                fmt_num(v),
                q.answer.shown(),
                if v < 0.0 {
                    "a negative value becomes 0"
                } else {
                    "the value passes through unchanged"
                }
            );
            q.in_app = asked
                .iter()
                .position(|&j| j == i)
                .is_some_and(|k| quiz::sample(k, asked.len(), 4, 3));
            out.push(q);
        }
        out
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let t = l.text();
        let conv = self.maps.convolve(l)?;
        let map = &conv.maps[0];
        let out = ops::relu(map);
        let (rows, cols) = map.dim();
        let steps = rows * cols;
        let in_label = format!("Feature map {}", shape_text(map));
        let out_label = format!("After ReLU {}", shape_text(map));

        let mut frames = Vec::with_capacity(steps + 2);
        let mut intro = step(
            "ReLU: negative values become 0",
            t.intro.clone(),
            vec![
                Panel::Grid(grid(in_label.clone(), map)),
                Panel::Grid(partial(out_label.clone(), &out, 0)),
            ],
        );
        intro.formula = Some("ReLU(x) = max(0, x)".into());
        frames.push(intro);
        for run in cell_runs(map) {
            if run.len() > 1 || map[[run.start / cols, run.start % cols]] == 0.0 {
                let cells: Vec<(usize, usize)> =
                    run.clone().map(|k| (k / cols, k % cols)).collect();
                let (first, last) = (cells[0], cells[cells.len() - 1]);
                let mut input = grid(in_label.clone(), map);
                input.emphasis = cells.clone();
                let mut f = step(
                    if cells.len() == 1 {
                        format!("Cell {} of {steps}: 0 stays 0", run.start + 1)
                    } else if cells.len() == 2 {
                        format!(
                            "Cells {} and {} of {steps}: zeros stay 0",
                            run.start + 1,
                            run.end
                        )
                    } else {
                        format!(
                            "Cells {} to {} of {steps}: {} zeros stay 0",
                            run.start + 1,
                            run.end,
                            cells.len()
                        )
                    },
                    Vec::new(),
                    vec![
                        Panel::Grid(input),
                        Panel::Grid(with_emphasis(
                            partial(out_label.clone(), &out, run.end),
                            cells.clone(),
                        )),
                    ],
                );
                f.formula = Some(format!(
                    "max(0, 0) = 0 for each: row {}, column {} to row {}, column {}",
                    first.0 + 1,
                    first.1 + 1,
                    last.0 + 1,
                    last.1 + 1
                ));
                frames.push(f);
                continue;
            }
            {
                let (r, c) = (run.start / cols, run.start % cols);
                let n = run.start + 1;
                let (v, y) = (map[[r, c]], out[[r, c]]);
                let vars = [
                    ("step", n.to_string()),
                    ("steps", steps.to_string()),
                    ("row", (r + 1).to_string()),
                    ("col", (c + 1).to_string()),
                    ("value", fmt_num(v)),
                    ("result", fmt_num(y)),
                ];
                let mut f = step(
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
        let mut f = step(
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
}
