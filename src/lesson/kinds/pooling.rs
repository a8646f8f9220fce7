//! Max pooling: the ReLU map of an image and a filter, then the largest value of each
//! window, one window per step.

use std::sync::Arc;

use ndarray::{s, Array2};
use serde::Deserialize;

use super::maps::{max_pool, ImageFile, Maps, Pool, Takes};
use super::{ImageKindFile, LessonKind};
use crate::lesson::check::Ctx;
use crate::lesson::draw::{
    as_batch, channel, fill, fmt_num, grid, partial, shape_text, step, with_emphasis, with_window,
};
use crate::lesson::frame::{Panel, Step};
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{self, Hide, Question, MARK};
use crate::nn::ops;
use crate::Result;

/// The fields of a pooling lesson.
#[derive(Debug, Deserialize)]
pub(crate) struct File {}

impl ImageKindFile for File {
    const NAME: &'static str = "pooling";
    const TAKES: Takes = Takes {
        kernels: false,
        pool: Pool::Always,
    };

    fn placeholders(block: &str) -> &'static [&'static str] {
        match block {
            "text.step" => &["step", "steps", "row", "col", "value"],
            _ => &[],
        }
    }

    fn check(self, ctx: &Ctx, image: ImageFile) -> Result<Arc<dyn LessonKind>> {
        let maps = image.check(ctx, Self::TAKES)?.finish(ctx)?;
        let pool = maps.pool.ok_or_else(|| ctx.missing("pool_size"))?;
        Ok(Arc::new(Pooling { maps, pool }))
    }
}

/// A checked pooling lesson.
#[derive(Debug)]
struct Pooling {
    maps: Maps,
    /// Window size and stride.
    pool: (usize, usize),
}

impl LessonKind for Pooling {
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        self.maps.matrices()
    }

    fn filter_presets(&self) -> bool {
        true
    }

    /// Each window's largest value (every window: a pooled map is small).
    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<Question> {
        let Ok(conv) = self.maps.convolve(l) else {
            return Vec::new();
        };
        let relu_map = ops::relu(&conv.maps[0]);
        let (k, st) = (self.pool.0.max(1), self.pool.1.max(1));
        let (mh, mw) = relu_map.dim();
        if k > mh || k > mw {
            return Vec::new();
        }
        let (ph, pw) = ((mh - k) / st + 1, (mw - k) / st + 1);
        let n = ph * pw;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let Some(mut q) = steps.get(i + 1).and_then(|s| quiz::from_step(i + 1, s)) else {
                continue;
            };
            let (oy, ox) = (i / pw, i % pw);
            let (wy, wx) = (oy * st, ox * st);
            let vals: Vec<String> = relu_map
                .slice(s![wy..wy + k, wx..wx + k])
                .iter()
                .map(|&v| fmt_num(v))
                .collect();
            let vars = [
                ("step", (i + 1).to_string()),
                ("steps", n.to_string()),
                ("row", (oy + 1).to_string()),
                ("col", (ox + 1).to_string()),
                ("value", MARK.to_string()),
            ];
            q.hide.retain(|h| !matches!(h, Hide::Words { .. }));
            q.hide.push(Hide::Text(fill(&l.text().step, &vars)));
            q.ask = format!(
                "Window {} of {n}: which value does max pooling keep (row {}, column {} of the pooled map)?",
                i + 1,
                oy + 1,
                ox + 1
            );
            q.hints = vec![
                format!(
                    "Max pooling keeps only the largest of the window's {} values",
                    k * k
                ),
                format!("The window holds {}", vals.join(", ")),
            ];
            out.push(q);
        }
        out
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let t = l.text();
        let conv = self.maps.convolve(l)?;
        let relu_map = ops::relu(&conv.maps[0]);
        let pooled4 = max_pool(l, &as_batch(&relu_map), self.pool)?;
        let pooled = channel(&pooled4, 0);
        let (k, st) = (self.pool.0.max(1), self.pool.1.max(1));
        let (ph, pw) = pooled.dim();
        let steps = ph * pw;
        let in_label = format!("ReLU map {}", shape_text(&relu_map));
        let out_label = format!("Pooled {}", shape_text(&pooled));

        let mut frames = Vec::with_capacity(steps + 2);
        let mut intro = step(
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
                let mut f = step(
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
        let mut f = step(
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
}
