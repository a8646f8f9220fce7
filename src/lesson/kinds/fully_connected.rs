//! Fully connected: one weighted sum of the inputs per class, plus a bias, then softmax.

use std::sync::Arc;

use ndarray::{Array1, Array2};
use serde::Deserialize;
use toml::Spanned;

use super::{KindFile, LessonKind};
use crate::lesson::check::{Ctx, Matrix};
use crate::lesson::draw::{fill, fmt_num, grid, step, with_window};
use crate::lesson::frame::{Bars, Panel, Step, Sum, Vector};
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{self, Answer, Hide, Question, MARK};
use crate::nn::ops;
use crate::{Error, Result};

/// Most values a fully connected lesson takes.
pub(crate) const MAX_INPUTS: usize = 64;

/// The fields of a fully connected lesson.
#[derive(Debug, Deserialize)]
pub(crate) struct File {
    inputs: Option<Spanned<Vec<f32>>>,
    weights: Option<Spanned<Matrix>>,
    bias: Option<Spanned<Vec<f32>>>,
    classes: Option<Spanned<Vec<String>>>,
}

impl KindFile for File {
    const NAME: &'static str = "fully-connected";

    fn placeholders(block: &str) -> &'static [&'static str] {
        match block {
            "text.step" => &["step", "steps", "class", "value"],
            "text.closing" => &["class", "value"],
            _ => &[],
        }
    }

    fn check(self, ctx: &Ctx) -> Result<Arc<dyn LessonKind>> {
        let inputs = self.inputs.as_ref().map(|s| s.get_ref().clone());
        if let Some(s) = &self.inputs {
            ctx.numbers("inputs", s.span(), s.get_ref())?;
            if s.get_ref().is_empty() || s.get_ref().len() > MAX_INPUTS {
                return Err(ctx.err(
                    s.span(),
                    "inputs",
                    format!("give from 1 to {MAX_INPUTS} values"),
                ));
            }
        }
        let weights = self
            .weights
            .as_ref()
            .map(|m| ctx.matrix("weights", m, (10, MAX_INPUTS)))
            .transpose()?;
        let bias = self.bias.as_ref().map(|s| s.get_ref().clone());
        if let Some(s) = &self.bias {
            ctx.numbers("bias", s.span(), s.get_ref())?;
        }
        let classes = classes(ctx, &self.classes)?;
        let Some(inputs) = inputs else {
            return Err(ctx.missing("inputs"));
        };
        let Some(weights) = weights else {
            return Err(ctx.missing("weights"));
        };
        let w_span = self.weights.as_ref().map(Spanned::span).unwrap_or_default();
        if weights.ncols() != inputs.len() {
            return Err(ctx.err(
                w_span,
                "weights",
                format!(
                    "each row needs one weight per input: {} inputs but rows of {}",
                    inputs.len(),
                    weights.ncols()
                ),
            ));
        }
        if weights.nrows() != classes.len() {
            return Err(ctx.err(
                w_span,
                "weights",
                format!(
                    "one row per class: {} classes but {} rows",
                    classes.len(),
                    weights.nrows()
                ),
            ));
        }
        if let Some(b) = &bias {
            if b.len() != weights.nrows() {
                let span = self.bias.as_ref().map(Spanned::span).unwrap_or_default();
                return Err(ctx.err(
                    span,
                    "bias",
                    format!(
                        "one bias per class: {} classes but {} biases",
                        weights.nrows(),
                        b.len()
                    ),
                ));
            }
        }
        Ok(Arc::new(FullyConnected {
            inputs,
            weights,
            bias,
            classes,
        }))
    }
}

/// `classes`: 2 to 10 names (default circle, square, triangle), made safe to draw.
pub(crate) fn classes(ctx: &Ctx, c: &Option<Spanned<Vec<String>>>) -> Result<Vec<String>> {
    let Some(c) = c else {
        return Ok(vec!["circle".into(), "square".into(), "triangle".into()]);
    };
    if c.get_ref().len() < 2 || c.get_ref().len() > 10 {
        return Err(ctx.err(c.span(), "classes", "give from 2 to 10 class names"));
    }
    Ok(c.get_ref()
        .iter()
        .map(|n| crate::text::escaped(n).into_owned())
        .collect())
}

/// A checked fully connected lesson.
#[derive(Debug)]
struct FullyConnected {
    inputs: Vec<f32>,
    weights: Array2<f32>,
    bias: Option<Vec<f32>>,
    classes: Vec<String>,
}

fn row(v: &[f32]) -> Array2<f32> {
    Array2::from_shape_vec((1, v.len()), v.to_vec()).unwrap_or_else(|_| Array2::zeros((1, 0)))
}

impl LessonKind for FullyConnected {
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        let mut out = vec![
            ("inputs".to_string(), row(&self.inputs)),
            ("weights".to_string(), self.weights.clone()),
        ];
        if let Some(b) = &self.bias {
            out.push(("bias".to_string(), row(b)));
        }
        out
    }

    /// Each class's score (the steps that write one), then which class wins.
    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<Question> {
        let t = l.text();
        let k = self.classes.len();
        let mut out = Vec::with_capacity(k + 1);
        for j in 0..k {
            let Some(mut q) = steps.get(j + 1).and_then(|s| quiz::from_step(j + 1, s)) else {
                continue;
            };
            let vars = [
                ("step", (j + 1).to_string()),
                ("steps", k.to_string()),
                ("class", self.classes[j].clone()),
                ("value", MARK.to_string()),
            ];
            q.hide.retain(|h| !matches!(h, Hide::Words { .. }));
            q.hide.push(Hide::Text(fill(&t.step, &vars)));
            q.ask = format!(
                "What is the {} score: each input times its weight, all added up, plus the bias?",
                self.classes[j]
            );
            out.push(q);
        }
        // the last step names the prediction: the class with the highest probability
        let last = steps.len().saturating_sub(1);
        let probs = steps.get(last).and_then(|s| {
            s.panels.iter().find_map(|p| match p {
                Panel::Bars(b) => Some(b.items.clone()),
                _ => None,
            })
        });
        if let Some(items) = probs.filter(|i| i.len() == k && k > 0) {
            let best = (0..k).fold(0, |b, j| if items[j].1 > items[b].1 { j } else { b });
            let listed: Vec<String> = items
                .iter()
                .map(|(c, p)| format!("{c} {}", fmt_num(*p)))
                .collect();
            out.push(Question {
                step: last,
                ask: "Which class does the network predict?".into(),
                answer: Answer::Choice {
                    options: self.classes.clone(),
                    right: best,
                },
                hints: vec![
                    "The prediction is the class with the highest probability".into(),
                    format!("The probabilities: {}", listed.join(", ")),
                ],
                working: format!(
                    "{} has the highest probability, {} ({})",
                    self.classes[best],
                    fmt_num(items[best].1),
                    listed.join(", ")
                ),
                hide: vec![
                    Hide::Heading(format!("The prediction: {MARK}")),
                    Hide::Emphasis("Scores".into()),
                    Hide::Text(fill(
                        &t.closing,
                        &[("class", MARK.to_string()), ("value", MARK.to_string())],
                    )),
                ],
                in_app: true,
            });
        }
        out
    }

    /// The layer at a glance, one step per class's score, softmax, and the prediction.
    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let missing = || Error::Lesson(format!("{}: needs inputs and weights", l.source()));
        let inputs = l.matrix("inputs").ok_or_else(missing)?;
        let w = l.matrix("weights").ok_or_else(missing)?;
        let n_in = inputs.ncols();
        let k = w.nrows();
        if w.ncols() != n_in || self.classes.len() != k {
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
        let layer = Layer {
            l,
            classes: &self.classes,
            x: inputs.row(0).to_vec(),
            w,
            b,
            has_bias,
            scores: scores.row(0).to_vec(),
            probs: probs.row(0).to_vec(),
        };
        let mut frames = Vec::with_capacity(k + 3);
        frames.push(layer.intro());
        frames.extend((0..k).map(|j| layer.score(j)));
        frames.push(layer.softmax());
        frames.push(layer.prediction());
        Ok(frames)
    }
}

/// The layer as the learner left it, computed: inputs, weights, biases, the scores and
/// the probabilities; one method per step, and the panels the steps share.
struct Layer<'a> {
    l: &'a Lesson,
    classes: &'a [String],
    x: Vec<f32>,
    w: &'a Array2<f32>,
    b: Array1<f32>,
    /// Whether the lesson gives biases (the formulas add them only then).
    has_bias: bool,
    scores: Vec<f32>,
    probs: Vec<f32>,
}

/// The weights' grid label.
const W_LABEL: &str = "Weights (a row per class)";

impl Layer<'_> {
    fn input_panel(&self) -> Panel {
        Panel::Vector(Vector {
            label: format!("Inputs ({} values)", self.x.len()),
            values: self.x.iter().copied().map(Some).collect(),
            emphasis: Vec::new(),
            offset: 0,
            names: Vec::new(),
        })
    }

    /// The biases as their own column beside the weights: one per class, same rows;
    /// `row` framed.
    fn bias_panel(&self, row: Option<usize>) -> Panel {
        let k = self.b.len();
        let g = grid(
            "Bias",
            &Array2::from_shape_vec((k, 1), self.b.to_vec()).expect("k x 1"),
        );
        Panel::Grid(match row {
            Some(j) => with_window(g, j, 0, 1, 1),
            None => g,
        })
    }

    /// The scores, the first `known` of them filled in, `emph` emphasised.
    fn score_panel(&self, known: usize, emph: Option<usize>) -> Panel {
        Panel::Vector(Vector {
            label: "Scores".to_string(),
            values: self
                .scores
                .iter()
                .enumerate()
                .map(|(j, &s)| (j < known).then_some(s))
                .collect(),
            emphasis: emph.into_iter().collect(),
            offset: 0,
            names: self.classes.to_vec(),
        })
    }

    fn bars(&self) -> Panel {
        Panel::Bars(Bars {
            label: "Probabilities".into(),
            items: self
                .classes
                .iter()
                .cloned()
                .zip(self.probs.iter().copied())
                .collect(),
        })
    }

    /// The layer at a glance: how many weights (and biases) it has.
    fn intro(&self) -> Step {
        let (n_in, k) = (self.x.len(), self.classes.len());
        let mut intro = step(
            format!("Fully connected: {n_in} values in, {k} scores out"),
            self.l.text().intro.clone(),
            vec![
                self.input_panel(),
                Panel::Grid(grid(W_LABEL, self.w)),
                self.bias_panel(None),
                self.score_panel(0, None),
            ],
        );
        intro.formula = Some(format!(
            "{k} classes x {n_in} inputs = {} weights{}",
            k * n_in,
            if self.has_bias {
                format!(", plus {k} biases")
            } else {
                String::new()
            }
        ));
        intro
    }

    /// Class `j`'s score: its row of weights times the inputs, plus its bias.
    fn score(&self, j: usize) -> Step {
        let (n_in, k) = (self.x.len(), self.classes.len());
        let (x, w, classes, scores) = (&self.x, self.w, self.classes, &self.scores);
        let sum = Sum {
            products: (0..n_in).map(|i| (x[i], w[[j, i]])).collect(),
            bias: self.has_bias.then_some(self.b[j]),
        };
        let vars = [
            ("step", (j + 1).to_string()),
            ("steps", k.to_string()),
            ("class", classes[j].clone()),
            ("value", fmt_num(scores[j])),
        ];
        let mut f = step(
            format!("Score {} of {k}: {}", j + 1, classes[j]),
            fill(&self.l.text().step, &vars),
            vec![
                self.input_panel(),
                Panel::Grid(with_window(grid(W_LABEL, w), j, 0, 1, n_in)),
                self.bias_panel(Some(j)),
                self.score_panel(j + 1, Some(j)),
            ],
        );
        f.formula = Some(format!(
            "{}: {} = {}",
            classes[j],
            sum.text(),
            fmt_num(scores[j])
        ));
        f.sum = Some(sum);
        f
    }

    /// Softmax: each score's exponential over their total.
    fn softmax(&self) -> Step {
        let (classes, scores, probs) = (self.classes, &self.scores, &self.probs);
        let k = classes.len();
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
        let mut f = step(
            "Softmax: scores become probabilities",
            self.l.text().result.clone(),
            vec![self.score_panel(k, None), self.bars()],
        );
        f.formula = Some(parts.join("; "));
        f
    }

    /// The prediction: the class with the highest probability; the probabilities add up
    /// to 1.
    fn prediction(&self) -> Step {
        let (classes, probs) = (self.classes, &self.probs);
        let k = classes.len();
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
        let mut f = step(
            format!("The prediction: {}", classes[best]),
            fill(
                &self.l.text().closing,
                &[
                    ("class", classes[best].clone()),
                    ("value", fmt_num(probs[best])),
                ],
            ),
            vec![self.score_panel(k, Some(best)), self.bars()],
        );
        f.formula = Some(format!("{sum} = {}", fmt_num(total)));
        f
    }
}
