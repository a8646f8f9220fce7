//! The whole network on a generated shape picture, stage by stage: convolution, ReLU and
//! pooling, dropout, flatten, a fully connected layer with random (untrained) weights, and
//! softmax.

use std::sync::Arc;

use ndarray::{Array1, Array2, Array4};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use toml::Spanned;

use super::dropout::{probability, Picture};
use super::fully_connected::classes;
use super::maps::{self, filter_matrices, max_pool};
use super::{KindFile, LessonKind};
use crate::data::Shape;
use crate::lesson::check::{Ctx, Matrix};
use crate::lesson::draw::{
    as_batch, channel, fill, fmt_num, grey_image, grid, keep_scale, rgb_image, stack, step,
};
use crate::lesson::frame::{Bars, Panel, Pipeline, Stage, Step, Vector};
use crate::lesson::model::Lesson;
use crate::nn::ops;
use crate::{Error, Result};

/// The fields of an architecture lesson.
#[derive(Debug, Deserialize)]
pub(crate) struct File {
    kernel: Option<Spanned<Matrix>>,
    kernels: Option<Spanned<Vec<Matrix>>>,
    padding: Option<Spanned<usize>>,
    pool_size: Option<Spanned<usize>>,
    dropout_p: Option<Spanned<f32>>,
    seed: Option<Spanned<u64>>,
    classes: Option<Spanned<Vec<String>>>,
    shape: Option<Spanned<Shape>>,
    image_size: Option<Spanned<usize>>,
}

impl KindFile for File {
    const NAME: &'static str = "architecture";

    fn placeholders(block: &str) -> &'static [&'static str] {
        match block {
            "text.step" => &["p", "scale"],
            _ => &[],
        }
    }

    fn check(self, ctx: &Ctx) -> Result<Arc<dyn LessonKind>> {
        let kernels = maps::kernels(ctx, &self.kernel, Some(&self.kernels))?;
        let padding = ctx.int_in("padding", &self.padding, 1, (0, 8), "a padding")?;
        let pool_size = ctx.int_in("pool_size", &self.pool_size, 2, (1, 8), "a pool size")?;
        let p = probability(ctx, &self.dropout_p)?;
        let classes = classes(ctx, &self.classes)?;
        let picture = Picture::check(ctx, &self.shape, &self.image_size, &self.seed)?;
        let Some(k) = kernels.first() else {
            return Err(ctx.missing("kernels"));
        };
        let size = picture.size + 2 * padding;
        if k.nrows() > size || k.ncols() > size {
            return Err(ctx.err(
                ctx.kind_span.clone(),
                "kernels",
                "the filters are bigger than the image",
            ));
        }
        let side = size + 1 - k.nrows().max(k.ncols());
        if pool_size > side {
            let span = self
                .pool_size
                .as_ref()
                .map_or(ctx.kind_span.clone(), Spanned::span);
            return Err(ctx.err(
                span,
                "pool_size",
                format!(
                    "a {pool_size}x{pool_size} pool does not fit the {side}x{side} feature maps"
                ),
            ));
        }
        Ok(Arc::new(Architecture {
            kernels,
            padding,
            pool_size,
            p,
            classes,
            picture,
        }))
    }
}

/// A checked architecture lesson.
#[derive(Debug)]
struct Architecture {
    kernels: Vec<Array2<f32>>,
    padding: usize,
    pool_size: usize,
    p: f32,
    classes: Vec<String>,
    picture: Picture,
}

impl LessonKind for Architecture {
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        filter_matrices(&self.kernels)
    }

    fn dropout(&self) -> Option<(f32, u64)> {
        Some((self.p, self.picture.seed))
    }

    fn filter_presets(&self) -> bool {
        true
    }

    fn inspects_model(&self) -> bool {
        true
    }

    /// The picture, then one step per stage of the network (see [`Show`]).
    /// A prediction before flatten: how many values the pooled maps become (asked on the
    /// dropout stage, whose maps have the pooled shape).
    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<crate::lesson::quiz::Question> {
        use crate::lesson::quiz::{Answer, Question};
        let (Ok(run), Some(at)) = (
            self.forward(l),
            steps.iter().position(|s| s.heading.starts_with("Stage 4")),
        ) else {
            return Vec::new();
        };
        let (_, c, ph, pw) = run.pooled.dim();
        let n = c * ph * pw;
        vec![Question {
            step: at,
            ask: format!(
                "These {c} maps are {ph}x{pw} each. How many values will flatten put in its one row?"
            ),
            answer: Answer::Number(n as f32),
            hints: vec![
                "Flatten keeps every value and only changes the layout".into(),
                format!("{c} maps x {ph} rows x {pw} columns"),
            ],
            working: format!("{c} x {ph} x {pw} = {n}"),
            hide: Vec::new(),
            in_app: true,
        }]
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let run = self.forward(l)?;
        let show = Show {
            kind: self,
            l,
            stages: self.stages(&run),
            run,
        };
        let mut frames = Vec::with_capacity(8);
        show.picture(&mut frames);
        show.convolution(&mut frames);
        show.pooling(&mut frames);
        show.dropout(&mut frames);
        show.flatten(&mut frames);
        show.fully_connected(&mut frames);
        show.softmax(&mut frames);
        Ok(frames)
    }
}

/// The network's forward pass on the lesson's picture, every stage kept.
struct Run<'a> {
    /// The dropout probability the learner set.
    p: f32,
    img: image::RgbImage,
    /// The picture in grey, scaled to -1..1.
    grey: Array2<f32>,
    kernels: Vec<&'a Array2<f32>>,
    conv: Array4<f32>,
    pooled: Array4<f32>,
    dropped: Array4<f32>,
    /// 0 for a dropped map, per map: [1, C].
    mask: Array2<f32>,
    flat: Array2<f32>,
    scores: Vec<f32>,
    probs: Vec<f32>,
}

impl Architecture {
    /// Run the picture through the lesson's filters, ReLU, pooling, dropout (the
    /// learner's p and seed), flatten, an untrained fully connected layer and softmax.
    fn forward<'a>(&self, l: &'a Lesson) -> Result<Run<'a>> {
        let p = l.dropout_p();
        let size = self.picture.size;
        let img = self.picture.draw();
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
        let pad = self.padding;
        if kh > size + 2 * pad || kw > size + 2 * pad {
            return Err(Error::Lesson(format!(
                "{}: the filters are bigger than the image",
                l.source()
            )));
        }
        let conv = ops::conv2d(&as_batch(&grey), &stack(&kernels, true)?, None, 1, pad);
        let act = ops::relu(&conv);
        let pooled = max_pool(l, &act, (self.pool_size, self.pool_size))?;
        let mut rng = ChaCha8Rng::seed_from_u64(l.seed());
        let (dropped, mask) = ops::dropout2d(&pooled, p, &mut rng);
        let flat = ops::flatten(&dropped);
        let n = flat.ncols();
        let k = self.classes.len();
        // untrained weights, drawn like PyTorch's default Linear init: uniform in ±1/sqrt(n)
        let mut wrng = ChaCha8Rng::seed_from_u64(self.picture.seed ^ 0x5EED_F00D);
        let bound = 1.0 / (n as f32).sqrt();
        let w = Array2::from_shape_fn((k, n), |_| wrng.gen_range(-bound..bound));
        let b = Array1::from_shape_fn(k, |_| wrng.gen_range(-bound..bound));
        let scores = ops::linear(&flat, &w, &b);
        let probs = ops::softmax(&scores);
        Ok(Run {
            p,
            img,
            grey,
            kernels,
            conv,
            pooled,
            dropped,
            mask,
            flat,
            scores: scores.row(0).to_vec(),
            probs: probs.row(0).to_vec(),
        })
    }

    /// The stages of the network with the shape of what each one passes on.
    fn stages(&self, run: &Run) -> Vec<Stage> {
        let size = self.picture.size;
        let (kh, kw) = run.kernels[0].dim();
        let (_, c, ch, cw) = run.conv.dim();
        let (_, _, ph, pw) = run.pooled.dim();
        let (n, k, ps) = (run.flat.ncols(), self.classes.len(), self.pool_size);
        vec![
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
                name: format!("Dropout p={}", fmt_num(run.p)),
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
        ]
    }
}

/// The lesson's steps, one method per stage, each with the network's pipeline (its
/// stage lit) and what the stage made.
struct Show<'a> {
    kind: &'a Architecture,
    l: &'a Lesson,
    run: Run<'a>,
    stages: Vec<Stage>,
}

impl Show<'_> {
    /// Paragraph `i` of `text.step`, its placeholders ({p}, {scale}) filled.
    fn para(&self, i: usize) -> Vec<String> {
        let p = self.run.p;
        let vars = [("p", fmt_num(p)), ("scale", fmt_num(keep_scale(p)))];
        fill(
            &self
                .l
                .text()
                .step
                .get(i)
                .cloned()
                .into_iter()
                .collect::<Vec<_>>(),
            &vars,
        )
    }

    /// The network's pipeline, stage `active` lit (none: the whole network).
    fn pipe(&self, active: Option<usize>) -> Panel {
        Panel::Pipeline(Pipeline {
            label: "The network".into(),
            stages: self.stages.clone(),
            active,
        })
    }

    /// The maps of `x` as grey pictures, "{what} 1", "{what} 2" ...
    fn maps_as_images(x: &Array4<f32>, what: &str) -> Vec<Panel> {
        (0..x.dim().1)
            .map(|i| Panel::Image(grey_image(format!("{what} {}", i + 1), &channel(x, i))))
            .collect()
    }

    /// The whole network, then stage 1: the picture, in colour and as the network reads it.
    fn picture(&self, frames: &mut Vec<Step>) {
        let (size, img) = (self.kind.picture.size, &self.run.img);
        frames.push(step(
            "The whole network, stage by stage",
            self.l.text().intro.clone(),
            vec![self.pipe(None), Panel::Image(rgb_image("The picture", img))],
        ));

        let mut f = step(
            format!("Stage 1: the {}", self.kind.picture.shape.name()),
            self.para(0),
            vec![
                self.pipe(Some(0)),
                Panel::Image(rgb_image("In colour", img)),
                Panel::Image(grey_image("What the network reads", &self.run.grey)),
            ],
        );
        f.formula = Some(format!(
            "3x{size}x{size} colour pixels 0..255 -> 1x{size}x{size} grey, scaled to -1..1"
        ));
        frames.push(f);
    }

    /// Stage 2: the filters and the feature maps they make.
    fn convolution(&self, frames: &mut Vec<Step>) {
        let (size, pad) = (self.kind.picture.size, self.kind.padding);
        let (kh, kw) = self.run.kernels[0].dim();
        let (_, c, ch, cw) = self.run.conv.dim();
        let mut panels = vec![self.pipe(Some(1))];
        panels.extend(
            self.run
                .kernels
                .iter()
                .enumerate()
                .map(|(i, kk)| Panel::Grid(grid(format!("Filter {}", i + 1), kk))),
        );
        panels.extend(Self::maps_as_images(&self.run.conv, "Feature map"));
        let mut f = step("Stage 2: convolution", self.para(1), panels);
        f.formula = Some(format!(
            "1x{size}x{size} with {c} filters of {kh}x{kw}, padding {pad} -> {c}x{ch}x{cw}"
        ));
        frames.push(f);
    }

    /// Stage 3: ReLU and max pooling.
    fn pooling(&self, frames: &mut Vec<Step>) {
        let ps = self.kind.pool_size;
        let (_, c, ch, cw) = self.run.conv.dim();
        let (_, _, ph, pw) = self.run.pooled.dim();
        let mut panels = vec![self.pipe(Some(2))];
        panels.extend(Self::maps_as_images(&self.run.pooled, "Pooled map"));
        let mut f = step("Stage 3: ReLU and pooling", self.para(2), panels);
        f.formula = Some(format!(
            "negatives -> 0, then {ps}x{ps} max pooling: {c}x{ch}x{cw} -> {c}x{ph}x{pw}"
        ));
        frames.push(f);
    }

    /// Stage 4: dropout, each map kept or dropped.
    fn dropout(&self, frames: &mut Vec<Step>) {
        let (p, mask, dropped) = (self.run.p, &self.run.mask, &self.run.dropped);
        let (_, c, _, _) = self.run.conv.dim();
        let mut panels = vec![self.pipe(Some(3))];
        panels.extend((0..c).map(|i| {
            let gone = mask[[0, i]] == 0.0;
            Panel::Image(grey_image(
                format!("Map {} {}", i + 1, if gone { "dropped" } else { "kept" }),
                &channel(dropped, i),
            ))
        }));
        let n_dropped = mask.iter().filter(|&&m| m == 0.0).count();
        let mut f = step("Stage 4: dropout", self.para(3), panels);
        f.formula = Some(format!(
            "p = {}: {n_dropped} of {c} maps dropped this time; kept maps x {}",
            fmt_num(p),
            fmt_num(keep_scale(p))
        ));
        frames.push(f);
    }

    /// Stage 5: flatten, a slice of the long vector.
    fn flatten(&self, frames: &mut Vec<Step>) {
        let flat = &self.run.flat;
        let n = flat.ncols();
        let (_, c, ph, pw) = self.run.pooled.dim();
        // a slice of the long vector, starting near its first non-zero value
        let shown = n.min(24);
        let first = flat.row(0).iter().position(|&v| v != 0.0).unwrap_or(0);
        let start = (first / 8 * 8).min(n - shown);
        let mut f = step(
            "Stage 5: flatten",
            self.para(4),
            vec![
                self.pipe(Some(4)),
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
    }

    /// Stage 6: the fully connected layer's scores (untrained weights).
    fn fully_connected(&self, frames: &mut Vec<Step>) {
        let classes = &self.kind.classes;
        let (n, k) = (self.run.flat.ncols(), classes.len());
        let mut f = step(
            "Stage 6: fully connected",
            self.para(5),
            vec![
                self.pipe(Some(5)),
                Panel::Vector(Vector {
                    label: "Scores".to_string(),
                    values: self.run.scores.iter().copied().map(Some).collect(),
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
    }

    /// Stage 7: softmax, the probabilities (the lesson's closing words with it).
    fn softmax(&self, frames: &mut Vec<Step>) {
        let classes = &self.kind.classes;
        let prob_vec = &self.run.probs;
        let mut f = step(
            "Stage 7: softmax",
            [self.para(6), self.l.text().closing.clone()].concat(),
            vec![
                self.pipe(Some(6)),
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
                .zip(prob_vec)
                .map(|(cl, p)| format!("{cl} {}", fmt_num(*p)))
                .collect::<Vec<_>>()
                .join(", "),
        );
        frames.push(f);
    }
}
