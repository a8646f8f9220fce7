//! Dropout: whole feature maps (of an image through several filters, ReLU and perhaps
//! pooling) dropped at random; then flipping, mirroring and skewing a shape picture.

use std::sync::Arc;

use ndarray::{Array2, Array4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use toml::Spanned;

use super::maps::{ImageFile, Maps, Pool, Takes};
use super::{ImageKindFile, LessonKind};
use crate::data::shapes::{self, Shape, ShapeParams};
use crate::lesson::check::Ctx;
use crate::lesson::draw::{
    channel, fill, fmt_num, grid, keep_scale, rgb_image, step, with_emphasis,
};
use crate::lesson::frame::{Grid, Panel, Step};
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{Answer, Hide, Question, MARK};
use crate::nn::ops;
use crate::Result;

/// The fields of a dropout lesson.
#[derive(Debug, Deserialize)]
pub(crate) struct File {
    dropout_p: Option<Spanned<f32>>,
    seed: Option<Spanned<u64>>,
    shape: Option<Spanned<Shape>>,
    image_size: Option<Spanned<usize>>,
}

impl ImageKindFile for File {
    const NAME: &'static str = "dropout";
    const TAKES: Takes = Takes {
        kernels: true,
        pool: Pool::WhenGiven,
    };

    fn placeholders(block: &str) -> &'static [&'static str] {
        match block {
            "text.intro" | "text.result" => &["p", "scale", "maps"],
            "text.step" => &["step", "steps", "map", "maps", "result", "p", "scale"],
            _ => &[],
        }
    }

    fn check(self, ctx: &Ctx, image: ImageFile) -> Result<Arc<dyn LessonKind>> {
        let checked = image.check(ctx, Self::TAKES)?;
        let p = probability(ctx, &self.dropout_p)?;
        let picture = Picture::check(ctx, &self.shape, &self.image_size, &self.seed)?;
        // the maps are pooled only when the file gives a pool size
        let maps = checked.finish(ctx)?;
        Ok(Arc::new(Dropout { maps, p, picture }))
    }
}

/// `dropout_p`: from 0 up to (not including) 1, default 0.5.
pub(crate) fn probability(ctx: &Ctx, p: &Option<Spanned<f32>>) -> Result<f32> {
    let Some(p) = p else {
        return Ok(0.5);
    };
    let v = *p.get_ref();
    if !(0.0..1.0).contains(&v) || v.is_nan() {
        return Err(ctx.err(
            p.span(),
            "dropout_p",
            format!("{v} is not a probability from 0 up to (not including) 1"),
        ));
    }
    Ok(v)
}

/// A generated shape picture: which shape, how big, and the seed of its random choices
/// (the seed also fixes the lesson's first dropout draw).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Picture {
    pub shape: Shape,
    pub size: usize,
    pub seed: u64,
}

impl Picture {
    /// `shape` (default triangle), `image_size` (16 to 256, default 128) and `seed`.
    pub fn check(
        ctx: &Ctx,
        shape: &Option<Spanned<Shape>>,
        size: &Option<Spanned<usize>>,
        seed: &Option<Spanned<u64>>,
    ) -> Result<Picture> {
        let seed = seed.as_ref().map_or(0, |s| *s.get_ref());
        let shape = shape.as_ref().map_or(Shape::Triangle, |s| *s.get_ref());
        let size = size.as_ref().map_or(Ok(128), |s| {
            if (16..=256).contains(s.get_ref()) {
                Ok(*s.get_ref())
            } else {
                Err(ctx.err(s.span(), "image_size", "use a size from 16 to 256 pixels"))
            }
        })?;
        Ok(Picture { shape, size, seed })
    }

    /// The picture, drawn with the dataset's recipe; the same seed gives the same pixels.
    pub fn draw(&self) -> image::RgbImage {
        let params = ShapeParams::random(&mut ChaCha8Rng::seed_from_u64(self.seed));
        shapes::draw_shape_sized(self.shape, params, self.size as u32)
    }
}

/// A checked dropout lesson.
#[derive(Debug)]
struct Dropout {
    maps: Maps,
    p: f32,
    picture: Picture,
}

impl LessonKind for Dropout {
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        self.maps.matrices()
    }

    fn dropout(&self) -> Option<(f32, u64)> {
        Some((self.p, self.picture.seed))
    }

    fn filter_presets(&self) -> bool {
        true
    }

    /// The scale 1 / (1 - p) and how many maps a draw drops on average (first step), and
    /// what a kept map's largest value becomes (each kept map's step).
    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<Question> {
        let Ok(d) = Draw::new(&self.maps, l) else {
            return Vec::new();
        };
        let c = d.maps();
        if steps.len() < c + 2 {
            return Vec::new();
        }
        let mut qs = Vec::with_capacity(c + 2);
        qs.push(d.scale_question());
        let kept: Vec<usize> = (0..c).filter(|&i| !d.dropped(i)).collect();
        qs.extend(kept.iter().map(|&i| d.kept_question(i)));
        // not "which maps did this draw keep?": each map's step has just said so. A
        // prediction instead, asked before the draw is shown.
        qs.insert(1, d.expected_question(c - kept.len()));
        let (course, value) = d.course_dropouts();
        if let (Some(v), 2) = (value, course.len()) {
            qs.push(d.value_question(c + 3, v));
        }
        qs
    }

    /// The maps, one step per map (dropped or kept and scaled), all of them after the
    /// draw, and the other defence: flipped, mirrored and slanted pictures.
    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let d = Draw::new(&self.maps, l)?;
        let c = d.maps();
        let mut frames = Vec::with_capacity(c + 3);
        frames.push(d.intro());
        frames.extend((0..c).map(|i| d.map_step(i)));
        frames.push(d.result());
        frames.extend(d.course_dropouts().0);
        frames.push(self.augment(l));
        Ok(frames)
    }
}

impl Dropout {
    /// The other tactic: vary the training images themselves.
    fn augment(&self, l: &Lesson) -> Step {
        let t = l.text();
        let size = self.picture.size;
        let img = self.picture.draw();
        let mut f = step(
            "Another defence: vary the training images",
            [t.augment.clone(), t.closing.clone()].concat(),
            vec![
                Panel::Image(rgb_image("Original", &img)),
                Panel::Image(rgb_image("Upside down", &shapes::flip(&img))),
                Panel::Image(rgb_image("Mirrored", &shapes::mirror(&img))),
                Panel::Image(rgb_image("Slanted", &shapes::skew(&img, 0.3))),
            ],
        );
        f.formula = Some(format!(
            "one {size}x{size} picture, four training examples (turned upside down, mirrored left to right, slanted): same label, different pixels"
        ));
        f
    }
}

/// A value the course's element dropout kept: its map, p, the scale, before and after.
#[derive(Debug, Clone, Copy)]
struct ValueDrop {
    map: usize,
    /// Row and column in the map (from 0).
    at: (usize, usize),
    p: f32,
    scale: f32,
    before: f32,
    after: f32,
}

/// One draw of dropout over the lesson's feature maps, with the learner's p and seed;
/// the steps and the questions are made from it.
struct Draw<'a> {
    l: &'a Lesson,
    p: f32,
    /// What a kept map is multiplied by, 1 / (1 - p).
    scale: f32,
    /// The maps before the draw: [1, C, H, W].
    x: Array4<f32>,
    /// The maps after it.
    out: Array4<f32>,
    /// 0 for a dropped map: [1, C].
    mask: Array2<f32>,
}

/// The largest value of `m` (the first in reading order on a tie) and where it is.
fn largest(m: &Array2<f32>) -> ((usize, usize), f32) {
    m.indexed_iter()
        .fold(((0, 0), f32::NEG_INFINITY), |acc, (ix, &v)| {
            if v > acc.1 {
                (ix, v)
            } else {
                acc
            }
        })
}

impl<'a> Draw<'a> {
    /// The lesson's feature maps through one dropout draw.
    fn new(maps: &Maps, l: &'a Lesson) -> Result<Draw<'a>> {
        let x = maps.feature_stack(l)?;
        let p = l.dropout_p();
        let mut rng = ChaCha8Rng::seed_from_u64(l.seed());
        let (out, mask) = ops::dropout2d(&x, p, &mut rng);
        Ok(Draw {
            l,
            p,
            scale: keep_scale(p),
            x,
            out,
            mask,
        })
    }

    /// How many maps.
    fn maps(&self) -> usize {
        self.x.dim().1
    }

    fn dropped(&self, i: usize) -> bool {
        self.mask[[0, i]] == 0.0
    }

    /// The placeholders every block takes ({p}, {scale}, {maps}), the scale written
    /// `scale`, and `extra`.
    fn vars(&self, extra: Vec<(&'static str, String)>, scale: &str) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("p", fmt_num(self.p)),
            ("scale", scale.to_string()),
            ("maps", self.maps().to_string()),
        ];
        v.extend(extra);
        v
    }

    /// Map `i` after the draw: dimmed when dropped.
    fn after_grid(&self, i: usize) -> Grid {
        let dropped = self.dropped(i);
        let label = if dropped {
            format!("Map {}", i + 1)
        } else {
            format!("Map {} kept (x{})", i + 1, fmt_num(self.scale))
        };
        let mut g = grid(label, &channel(&self.out, i));
        g.dimmed = dropped;
        g
    }

    /// The maps before the draw, and what dropout does with probability p.
    fn intro(&self) -> Step {
        let (p, c) = (self.p, self.maps());
        let mut intro = step(
            format!("Dropout: {c} feature maps, p = {}", fmt_num(p)),
            fill(
                &self.l.text().intro,
                &self.vars(vec![], &fmt_num(self.scale)),
            ),
            (0..c)
                .map(|i| Panel::Grid(grid(format!("Map {}", i + 1), &channel(&self.x, i))))
                .collect(),
        );
        intro.formula = Some(format!(
            "each map is dropped with probability {}; a kept map is multiplied by 1 / (1 - {}) = {}",
            fmt_num(p),
            fmt_num(p),
            fmt_num(self.scale)
        ));
        intro
    }

    /// Map `i`: dropped (every value 0), or kept and scaled (its largest value as the
    /// example).
    fn map_step(&self, i: usize) -> Step {
        let (c, scale) = (self.maps(), self.scale);
        let dropped = self.dropped(i);
        let before = channel(&self.x, i);
        let verdict = if dropped { "dropped" } else { "kept" };
        let vars = self.vars(
            vec![
                ("step", (i + 1).to_string()),
                ("steps", c.to_string()),
                ("map", (i + 1).to_string()),
                ("result", verdict.to_string()),
            ],
            &fmt_num(scale),
        );
        let mut f = step(
            format!("Map {} of {c}: {verdict}", i + 1),
            fill(&self.l.text().step, &vars),
            vec![
                Panel::Grid(with_emphasis(
                    grid(format!("Map {} before", i + 1), &before),
                    Vec::new(),
                )),
                Panel::Grid(self.after_grid(i)),
            ],
        );
        f.formula = Some(if dropped {
            format!("map {} dropped: every value x 0 = 0", i + 1)
        } else {
            // an example cell: the largest value of the map
            let (at, v) = largest(&before);
            format!(
                "map {} kept: every value x {} (for example {} x {} = {})",
                i + 1,
                fmt_num(scale),
                fmt_num(v),
                fmt_num(scale),
                fmt_num(channel(&self.out, i)[at])
            )
        });
        f
    }

    /// Every map after the draw: how many it dropped, how many one drops on average.
    fn result(&self) -> Step {
        let c = self.maps();
        let n_dropped = (0..c).filter(|&i| self.dropped(i)).count();
        let mut f = step(
            format!("After dropout: {n_dropped} of {c} maps dropped"),
            fill(
                &self.l.text().result,
                &self.vars(vec![], &fmt_num(self.scale)),
            ),
            (0..c).map(|i| Panel::Grid(self.after_grid(i))).collect(),
        );
        f.formula = Some(format!(
            "this draw dropped {n_dropped} of {c}; on average p x {c} = {} maps are dropped",
            fmt_num(self.p * c as f32)
        ));
        f
    }

    /// The course's two dropouts on the same maps, with the course's probabilities (read
    /// from its architecture): `Dropout2d` on whole maps, then `F.dropout` on single
    /// values of a map that survived.
    fn course_dropouts(&self) -> (Vec<Step>, Option<ValueDrop>) {
        use crate::nn::arch::{Arch, Layer};
        let layers = Arch::course().layers;
        let p_map = layers.iter().find_map(|l| match l {
            Layer::Dropout2d { p } => Some(*p),
            _ => None,
        });
        let p_value = layers.iter().find_map(|l| match l {
            Layer::Dropout { p } => Some(*p),
            _ => None,
        });
        let (Some(p_map), Some(p_value)) = (p_map, p_value) else {
            return (Vec::new(), None);
        };
        let c = self.maps();
        let mut rng = ChaCha8Rng::seed_from_u64(self.l.seed());
        let (maps, mask) = ops::dropout2d(&self.x, p_map, &mut rng);
        let s_map = keep_scale(p_map);
        let kept: Vec<usize> = (0..c).filter(|&i| mask[[0, i]] != 0.0).collect();
        let grids: Vec<Panel> = (0..c)
            .map(|i| {
                let dropped = mask[[0, i]] == 0.0;
                let label = if dropped {
                    format!("Map {}", i + 1)
                } else {
                    format!("Map {} kept (x{})", i + 1, fmt_num(s_map))
                };
                let mut g = grid(label, &channel(&maps, i));
                g.dimmed = dropped;
                Panel::Grid(g)
            })
            .collect();
        let mut first = step(
            format!(
                "The course's first dropout: Dropout2d(p={})",
                fmt_num(p_map)
            ),
            vec![format!(
                "The course's network drops whole maps with nn.Dropout2d(p={pm}) after its \
                 third convolution (this lesson used p = {pl}). Drawn again on the same {c} \
                 maps with p = {pm}, {k} of {c} survive, each multiplied by 1 / (1 - {pm}) \
                 = {sm}.",
                pl = fmt_num(self.p),
                pm = fmt_num(p_map),
                k = kept.len(),
                sm = fmt_num(s_map),
            )],
            grids,
        );
        first.formula = Some(format!(
            "p = {}: each map dropped with probability {}, kept maps x {}; this draw kept {} of {c}",
            fmt_num(p_map),
            fmt_num(p_map),
            fmt_num(s_map),
            kept.len()
        ));
        let Some(&m) = kept.first() else {
            return (vec![first], None);
        };
        let before = channel(&maps, m);
        let (after, vmask) = ops::dropout(&before, p_value, &mut rng);
        let s_value = keep_scale(p_value);
        let n = before.len();
        let zeroed = vmask.iter().filter(|&&v| v == 0.0).count();
        let mut after_grid = grid(format!("Map {} after F.dropout", m + 1), &after);
        after_grid.dimmed = false;
        let mut second = step(
            format!(
                "The course's second dropout: F.dropout(p={}) on single values",
                fmt_num(p_value)
            ),
            vec![format!(
                "After ReLU and flattening, the course's forward calls F.dropout(x): each \
                 single value, not a whole map, is zeroed with probability {pv} and every \
                 survivor is multiplied by 1 / (1 - {pv}) = {sv}. Here map {mm}, which \
                 Dropout2d kept, goes through it: this draw dropped {z} of its {n} values \
                 (a value that was 0 already stays 0 either way). Like Dropout2d, it happens only while training; predictions keep \
                 every value unscaled.",
                pv = fmt_num(p_value),
                sv = fmt_num(s_value),
                mm = m + 1,
                z = zeroed,
            )],
            vec![
                Panel::Grid(grid(format!("Map {} after Dropout2d", m + 1), &before)),
                Panel::Grid(after_grid),
            ],
        );
        let kept_value = before
            .indexed_iter()
            .zip(after.iter())
            .find(|((_, &b), &a)| a != 0.0 && b != 0.0)
            .map(|((at, &b), &a)| ValueDrop {
                map: m,
                at,
                p: p_value,
                scale: s_value,
                before: b,
                after: a,
            });
        let example = kept_value
            .map(|v| {
                format!(
                    "; a kept value: {} x {} = {}",
                    fmt_num(v.before),
                    fmt_num(s_value),
                    fmt_num(v.after)
                )
            })
            .unwrap_or_default();
        second.formula = Some(format!(
            "p = {}: {zeroed} of {n} values dropped, the others x {}{example}",
            fmt_num(p_value),
            fmt_num(s_value)
        ));
        (vec![first, second], kept_value)
    }

    /// The second course step's question (step `at`): what a value that survives the
    /// element dropout becomes.
    fn value_question(&self, at: usize, v: ValueDrop) -> Question {
        Question {
            step: at,
            ask: format!(
                "Map {}'s value {} at row {}, column {} survives F.dropout(p={}): what does it become?",
                v.map + 1,
                fmt_num(v.before),
                v.at.0 + 1,
                v.at.1 + 1,
                fmt_num(v.p)
            ),
            answer: Answer::Number(v.after),
            hints: vec![
                format!("A survivor is multiplied by 1 / (1 - {})", fmt_num(v.p)),
                format!("{} x {}", fmt_num(v.before), fmt_num(v.scale)),
            ],
            working: format!(
                "{} x {} = {}",
                fmt_num(v.before),
                fmt_num(v.scale),
                fmt_num(v.after)
            ),
            hide: vec![
                Hide::Panel {
                    label: format!("Map {} after F.dropout", v.map + 1),
                    as_label: None,
                },
                Hide::Formula(format!(
                    "p = {}: survivors x {}; a kept value: {} x {} = {MARK}",
                    fmt_num(v.p),
                    fmt_num(v.scale),
                    fmt_num(v.before),
                    fmt_num(v.scale)
                )),
            ],
            in_app: true,
        }
    }

    /// The first step's question: what a kept map is multiplied by, 1 / (1 - p).
    fn scale_question(&self) -> Question {
        let (p, scale) = (self.p, self.scale);
        Question {
            step: 0,
            ask: format!("p = {}: what is a kept map multiplied by, 1 / (1 - p)?", fmt_num(p)),
            answer: Answer::Number(scale),
            hints: vec![
                format!("First 1 - p = 1 - {} = {}", fmt_num(p), fmt_num(1.0 - p)),
                format!("Then 1 divided by {}", fmt_num(1.0 - p)),
            ],
            working: format!(
                "1 / (1 - {}) = 1 / {} = {}",
                fmt_num(p),
                fmt_num(1.0 - p),
                fmt_num(scale)
            ),
            hide: vec![
                Hide::Formula(format!(
                    "each map is dropped with probability {}; a kept map is multiplied by 1 / (1 - {}) = {MARK}",
                    fmt_num(p),
                    fmt_num(p)
                )),
                Hide::Text(fill(&self.l.text().intro, &self.vars(vec![], MARK))),
            ],
            in_app: true,
        }
    }

    /// Kept map `i`'s step: what its largest value becomes.
    fn kept_question(&self, i: usize) -> Question {
        let scale = self.scale;
        let (at, v) = largest(&channel(&self.x, i));
        let y = channel(&self.out, i)[at];
        Question {
            step: i + 1,
            ask: format!(
                "Map {} is kept: what does its largest value, {}, become?",
                i + 1,
                fmt_num(v)
            ),
            answer: Answer::Number(y),
            hints: vec![
                format!(
                    "A kept map is multiplied by 1 / (1 - p) = {}",
                    fmt_num(scale)
                ),
                format!("{} x {}", fmt_num(v), fmt_num(scale)),
            ],
            working: format!("{} x {} = {}", fmt_num(v), fmt_num(scale), fmt_num(y)),
            hide: vec![
                Hide::Panel {
                    label: format!("Map {} kept (x{})", i + 1, fmt_num(scale)),
                    as_label: Some(format!("Map {} after", i + 1)),
                },
                Hide::Formula(format!(
                    "map {} kept: every value x {} (for example {} x {} = {MARK})",
                    i + 1,
                    fmt_num(scale),
                    fmt_num(v),
                    fmt_num(scale)
                )),
            ],
            in_app: true,
        }
    }

    /// The first step's prediction: how many maps a draw drops on average (this one
    /// dropped `dropped`).
    fn expected_question(&self, dropped: usize) -> Question {
        let (p, c) = (self.p, self.maps());
        let expected = c as f32 * p;
        Question {
            step: 0,
            ask: format!(
                "Each of the {c} maps is dropped with probability p = {}: how many maps does one draw drop on average?",
                fmt_num(p)
            ),
            answer: Answer::Number(expected),
            hints: vec![
                "Each map is a coin flip of its own".into(),
                format!("{c} flips, each dropping with probability {}", fmt_num(p)),
            ],
            working: format!(
                "{c} x {} = {}: the expected count (this draw dropped {} of {c}; another may drop more or fewer)",
                fmt_num(p),
                fmt_num(expected),
                dropped
            ),
            hide: Vec::new(),
            in_app: true,
        }
    }
}
