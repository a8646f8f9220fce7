//! Flatten: the feature maps of an image (several filters, ReLU, perhaps pooling) unrolled
//! into one vector, one value per step.

use std::sync::Arc;

use ndarray::Array2;
use serde::Deserialize;

use super::maps::{ImageFile, Maps, Pool, Takes};
use super::{ImageKindFile, LessonKind};
use crate::lesson::check::Ctx;
use crate::lesson::draw::{channel, fill, fmt_num, grid, step, with_emphasis, with_window};
use crate::lesson::frame::{Panel, Step, Vector};
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{self, Answer, Hide, Question, MARK};
use crate::nn::ops;
use crate::Result;

/// Most values a flatten lesson may produce (one step each).
pub(crate) const MAX_FLAT: usize = 256;

/// The fields of a flatten lesson.
#[derive(Debug, Deserialize)]
pub(crate) struct File {}

impl ImageKindFile for File {
    const NAME: &'static str = "flatten";
    const TAKES: Takes = Takes {
        kernels: true,
        pool: Pool::WhenGiven,
    };

    fn placeholders(block: &str) -> &'static [&'static str] {
        match block {
            "text.step" => &["step", "steps", "index", "map", "row", "col", "value"],
            _ => &[],
        }
    }

    fn check(self, ctx: &Ctx, image: ImageFile) -> Result<Arc<dyn LessonKind>> {
        // the maps are pooled only when the file gives a pool size
        let maps = image.check(ctx, Self::TAKES)?.finish(ctx)?;
        let (h, w) = maps.out_size();
        let n = maps.kernels.len() * h * w;
        if n > MAX_FLAT {
            return Err(ctx.err(
                ctx.kind_span.clone(),
                "kernels",
                format!(
                    "the maps hold {n} values, too many to step through one by one; \
                     keep it to {MAX_FLAT} (a smaller image, fewer filters, or pooling)"
                ),
            ));
        }
        Ok(Arc::new(Flatten { maps }))
    }
}

/// A checked flatten lesson.
#[derive(Debug)]
struct Flatten {
    maps: Maps,
}

impl LessonKind for Flatten {
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        self.maps.matrices()
    }

    fn filter_presets(&self) -> bool {
        true
    }

    /// The index a highlighted cell lands at (every cell; the app asks the first, then one
    /// in four and the last).
    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<Question> {
        let Ok(x) = self.maps.feature_stack(l) else {
            return Vec::new();
        };
        let (_, c, h, w) = x.dim();
        let n = c * h * w;
        let vec_label = format!("Vector ({n} values)");
        let (heading, formula) = (
            |at: &str, i: usize| heading(at, i, h, w),
            |i: usize| formula(i, h, w),
        );
        let mut out = Vec::with_capacity(n);
        for i in 0..n.min(steps.len().saturating_sub(2)) {
            let (ci, r, col) = (i / (h * w), (i / w) % h, i % w);
            let vars = [
                ("step", (i + 1).to_string()),
                ("steps", n.to_string()),
                ("index", MARK.to_string()),
                ("map", (ci + 1).to_string()),
                ("row", (r + 1).to_string()),
                ("col", (col + 1).to_string()),
                ("value", fmt_num(x[[0, ci, r, col]])),
            ];
            out.push(Question {
                step: i + 1,
                ask: format!(
                    "Map {}, row {}, column {} is highlighted: at which index of the vector (counting from 0) does it land?",
                    ci + 1,
                    r + 1,
                    col + 1
                ),
                answer: Answer::Number(i as f32),
                hints: vec![
                    format!(
                        "Each map holds {h} x {w} = {} values, so map {} starts at index {ci} x {} = {}",
                        h * w,
                        ci + 1,
                        h * w,
                        ci * h * w
                    ),
                    format!(
                        "Each row holds {w} values, so row {} of that map starts {r} x {w} = {} further on",
                        r + 1,
                        r * w
                    ),
                ],
                working: formula(i),
                hide: vec![
                    Hide::Heading(heading(MARK, i)),
                    Hide::Formula(format!(
                        "{} = {MARK}",
                        formula(i).rsplit_once(" = ").map_or("", |(left, _)| left)
                    )),
                    Hide::Panel {
                        label: vec_label.clone(),
                        as_label: None,
                    },
                    Hide::Text(fill(&l.text().step, &vars)),
                ],
                in_app: quiz::sample(i, n, 1, 4),
            });
        }
        out
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let t = l.text();
        let x = self.maps.feature_stack(l)?;
        let v = ops::flatten(&x);
        let v: Vec<f32> = v.row(0).to_vec();
        let (_, c, h, w) = x.dim();
        let n = v.len();
        let maps: Vec<Array2<f32>> = (0..c).map(|i| channel(&x, i)).collect();
        let map_label = |i: usize| format!("Map {} ({h}x{w})", i + 1);
        let vec_label = format!("Vector ({n} values)");

        let mut frames = Vec::with_capacity(n + 2);
        let mut intro = step(
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
                ("map", (ci + 1).to_string()),
                ("row", (r + 1).to_string()),
                ("col", (col + 1).to_string()),
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
            let mut f = step(
                heading(&i.to_string(), i, h, w),
                fill(&t.step, &vars),
                panels,
            );
            f.formula = Some(format!("{}  (value {})", formula(i, h, w), fmt_num(v[i])));
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
        let mut f = step(
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
}

/// A cell's step heading: the index (0-based, as PyTorch counts; `at` is how it is shown)
/// and the map, row and column, counted from 1 as every lesson counts them.
fn heading(at: &str, i: usize, h: usize, w: usize) -> String {
    let (ci, r, col) = (i / (h * w), (i / w) % h, i % w);
    format!(
        "Index {at}: map {}, row {}, column {}",
        ci + 1,
        r + 1,
        col + 1
    )
}

/// How index `i` is computed: map, row and column counted from 0, as PyTorch does.
fn formula(i: usize, h: usize, w: usize) -> String {
    let (ci, r, col) = (i / (h * w), (i / w) % h, i % w);
    format!(
        "index = map x {} + row x {w} + column, counting each from 0: {ci} x {} + {r} x {w} + {col} = {i}",
        h * w,
        h * w
    )
}
