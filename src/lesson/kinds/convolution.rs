//! Convolution: a filter slid over an image, one window per step, then the finished
//! feature map shown as a picture.

use std::sync::Arc;

use ndarray::Array2;
use serde::Deserialize;

use super::maps::{self, image_of, ImageFile, Maps, Pool, Takes};
use super::{ImageKindFile, LessonKind};
use crate::lesson::check::Ctx;
use crate::lesson::draw::{
    fill, fmt_num, grey_image, grid, min_max, normalised, shape_text, step, with_emphasis,
    with_window,
};
use crate::lesson::frame::{Grid, Panel, Step, Sum};
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{self, Answer, Hide, Question, MARK};
use crate::Result;

/// The fields of a convolution lesson.
#[derive(Debug, Deserialize)]
pub(crate) struct File {}

impl ImageKindFile for File {
    const NAME: &'static str = "convolution";
    const TAKES: Takes = Takes {
        kernels: false,
        pool: Pool::No,
    };

    fn placeholders(block: &str) -> &'static [&'static str] {
        match block {
            "text.step" => &["step", "steps", "row", "col", "value"],
            _ => &[],
        }
    }

    fn check(self, ctx: &Ctx, image: ImageFile) -> Result<Arc<dyn LessonKind>> {
        let maps = image.check(ctx, Self::TAKES)?.finish(ctx)?;
        Ok(Arc::new(Convolution { maps }))
    }
}

/// A checked convolution lesson.
#[derive(Debug)]
struct Convolution {
    maps: Maps,
}

impl LessonKind for Convolution {
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        self.maps.matrices()
    }

    fn filter_presets(&self) -> bool {
        true
    }

    /// Each feature-map cell the filter computes (step 1 to n); the app asks the first
    /// row's worth (4), then one in four and the last; a worksheet asks them all.
    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<Question> {
        let Ok(conv) = self.maps.convolve(l) else {
            return Vec::new();
        };
        let (_, _, oh, ow) = conv.raw.dim();
        let (r0, c0) = conv.offset;
        let n = oh * ow;
        let (kh, kw) = l.kernels().first().map_or((0, 0), |k| k.dim());
        let (lo, hi) = min_max(&conv.maps[0]);
        let last = steps.len().saturating_sub(1);
        let mut out = Vec::with_capacity(n);
        for w in 0..n {
            let Some(mut q) = steps.get(w + 1).and_then(|s| quiz::from_step(w + 1, s)) else {
                continue;
            };
            let cell = ((w / ow) + r0, (w % ow) + c0);
            let vars = [
                ("step", (w + 1).to_string()),
                ("steps", n.to_string()),
                ("row", (cell.0 + 1).to_string()),
                ("col", (cell.1 + 1).to_string()),
                ("value", MARK.to_string()),
            ];
            q.hide.retain(|h| !matches!(h, Hide::Words { .. }));
            q.hide.push(Hide::Text(fill(&l.text().step, &vars)));
            q.ask = format!(
                "Window {} of {n}: what do the {} products add up to (row {}, column {} of the feature map)?",
                w + 1,
                kh * kw,
                cell.0 + 1,
                cell.1 + 1
            );
            q.in_app = quiz::sample(w, n, ow.min(4), 4);
            out.push(q);
        }
        // the picture step: the map's smallest and largest values, asked on worksheets
        // (the rescaled grid and the picture would give them, and every cell, away)
        if hi > lo && last > n {
            for (which, v) in [("smallest", lo), ("largest", hi)] {
                out.push(Question {
                    step: last,
                    ask: format!(
                        "What is the {which} value of the feature map (the {} of the rescaling)?",
                        if which == "smallest" { "min" } else { "max" }
                    ),
                    answer: Answer::Number(v),
                    hints: vec![format!("Look over your answers for the {which} one")],
                    working: format!(
                        "the {which} value anywhere in the feature map: {}",
                        fmt_num(v)
                    ),
                    hide: vec![
                        Hide::Words {
                            step: last,
                            word: fmt_num(v),
                            formula: true,
                        },
                        Hide::Drop("Scaled to 0..255".into()),
                        Hide::Drop("As a picture".into()),
                    ],
                    in_app: false,
                });
            }
        }
        out
    }

    /// The image and the filter, one step per window, the finished map (or its filled
    /// edges), and the map as a picture.
    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let conv = self.maps.convolve(l)?;
        let img = image_of(l)?;
        let k = l.kernels()[0].clone();
        let p = self.maps.padding;
        let (gr, gc) = conv.maps[0].dim();
        let slide = Slide {
            l,
            maps: &self.maps,
            in_label: if p > 0 {
                format!("Image {} + {p} ring(s) of 0", shape_text(img))
            } else {
                format!("Image {}", shape_text(img))
            },
            f_label: format!("Filter {}", shape_text(&k)),
            out_label: format!("Feature map {gr}x{gc}"),
            conv,
            k,
        };
        let (_, _, oh, ow) = slide.conv.raw.dim();
        let mut frames = Vec::with_capacity(oh * ow + 3);
        frames.push(slide.intro());
        slide.windows(&mut frames);
        frames.push(slide.result());
        frames.push(slide.picture());
        Ok(frames)
    }
}

/// The filter slid over the lesson's image, with the grids' labels; one method per part
/// of the lesson.
struct Slide<'a> {
    l: &'a Lesson,
    maps: &'a Maps,
    conv: maps::Conv,
    /// The first filter.
    k: Array2<f32>,
    in_label: String,
    f_label: String,
    out_label: String,
}

impl Slide<'_> {
    /// The feature map.
    fn map(&self) -> &Array2<f32> {
        &self.conv.maps[0]
    }

    /// The feature map with only the `filled` cells known.
    fn unknown(&self, filled: &[(usize, usize)]) -> Grid {
        let map = self.map();
        let gc = map.ncols();
        let mut g = grid(self.out_label.clone(), map);
        for c in &mut g.cells {
            *c = None;
        }
        for &(r, c) in filled {
            g.cells[r * gc + c] = Some(map[[r, c]]);
        }
        g
    }

    /// The image, the filter and an empty map: how many windows, how many products each.
    fn intro(&self) -> Step {
        let (kh, kw) = self.k.dim();
        let (_, _, oh, ow) = self.conv.raw.dim();
        let steps = oh * ow;
        let mut intro = step(
            "Convolution: a filter slides over an image",
            self.l.text().intro.clone(),
            vec![
                Panel::Grid(grid(self.in_label.clone(), &self.conv.padded)),
                Panel::Grid(grid(self.f_label.clone(), &self.k)),
                Panel::Grid(self.unknown(&[])),
            ],
        );
        intro.formula = Some(format!(
            "{} windows of {kh}x{kw}, each gives one number: the sum of {} products",
            steps,
            kh * kw
        ));
        intro
    }

    /// One step per window, in reading order: its products and the cell they fill.
    fn windows(&self, frames: &mut Vec<Step>) {
        let (conv, k) = (&self.conv, &self.k);
        let (kh, kw) = k.dim();
        let stride = self.maps.stride.max(1);
        let (_, _, oh, ow) = conv.raw.dim();
        let (r0, c0) = conv.offset;
        let steps = oh * ow;
        let mut filled = Vec::with_capacity(steps);
        for oy in 0..oh {
            for ox in 0..ow {
                let (wy, wx) = (oy * stride, ox * stride);
                let value = conv.raw[[0, 0, oy, ox]];
                let cell = (oy + r0, ox + c0);
                filled.push(cell);
                let sum = Sum {
                    products: (0..kh)
                        .flat_map(|ky| (0..kw).map(move |kx| (ky, kx)))
                        .map(|(ky, kx)| (conv.padded[[wy + ky, wx + kx]], k[[ky, kx]]))
                        .collect(),
                    bias: None,
                };
                let n = filled.len();
                let vars = [
                    ("step", n.to_string()),
                    ("steps", steps.to_string()),
                    ("row", (cell.0 + 1).to_string()),
                    ("col", (cell.1 + 1).to_string()),
                    ("value", fmt_num(value)),
                ];
                let mut f = step(
                    format!(
                        "Window {n} of {steps}: row {}, column {}",
                        cell.0 + 1,
                        cell.1 + 1
                    ),
                    fill(&self.l.text().step, &vars),
                    vec![
                        Panel::Grid(with_window(
                            grid(self.in_label.clone(), &conv.padded),
                            wy,
                            wx,
                            kh,
                            kw,
                        )),
                        Panel::Grid(grid(self.f_label.clone(), k)),
                        Panel::Grid(with_emphasis(self.unknown(&filled), vec![cell])),
                    ],
                );
                f.formula = Some(format!("{} = {}", sum.text(), fmt_num(value)));
                f.sum = Some(sum);
                frames.push(f);
            }
        }
    }

    /// The finished map and its size; or, when the lesson fills the edges the filter
    /// cannot reach, those edges.
    fn result(&self) -> Step {
        let (conv, k, map) = (&self.conv, &self.k, self.map());
        let (kh, kw) = k.dim();
        let stride = self.maps.stride.max(1);
        let (_, _, oh, ow) = conv.raw.dim();
        let (gr, gc) = map.dim();
        let (r0, c0) = conv.offset;
        let t = self.l.text();
        if let Some(fillv) = self.maps.edge_fill.filter(|_| (gr, gc) != (oh, ow)) {
            let border: Vec<(usize, usize)> = (0..gr)
                .flat_map(|r| (0..gc).map(move |c| (r, c)))
                .filter(|&(r, c)| r < r0 || c < c0 || r >= r0 + oh || c >= c0 + ow)
                .collect();
            let mut f = step(
                format!("The edges: filled with {}", fmt_num(fillv)),
                t.result.clone(),
                vec![
                    Panel::Grid(grid(self.in_label.clone(), &conv.padded)),
                    Panel::Grid(grid(self.f_label.clone(), k)),
                    Panel::Grid(with_emphasis(
                        grid(self.out_label.clone(), map),
                        border.clone(),
                    )),
                ],
            );
            f.formula = Some(format!(
                "the filter's centre never reaches these {} edge cells, so each gets the padding value {}",
                border.len(),
                fmt_num(fillv)
            ));
            f
        } else {
            let mut f = step(
                "The finished feature map",
                t.result.clone(),
                vec![
                    Panel::Grid(grid(self.in_label.clone(), &conv.padded)),
                    Panel::Grid(grid(self.f_label.clone(), k)),
                    Panel::Grid(grid(self.out_label.clone(), map)),
                ],
            );
            f.formula = Some(format!(
                "({} - {kh}) / {stride} + 1 = {oh} rows, ({} - {kw}) / {stride} + 1 = {ow} columns",
                conv.padded.nrows(),
                conv.padded.ncols()
            ));
            f
        }
    }

    /// The map as a picture: rescaled from its smallest to its largest value.
    fn picture(&self) -> Step {
        let map = self.map();
        let (lo, hi) = min_max(map);
        let mut f = step(
            "Showing the feature map as a picture",
            self.l.text().closing.clone(),
            vec![
                Panel::Grid(grid(self.out_label.clone(), map)),
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
        f
    }
}
