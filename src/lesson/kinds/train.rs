//! Training the real network: words and the network's stages here; the training screen
//! itself lives in `tui::training`.

use std::sync::Arc;

use serde::Deserialize;

use toml::Spanned;

use super::fully_connected::classes;
use super::{KindFile, LessonKind};
use crate::lesson::check::Ctx;
use crate::lesson::draw::step;
use crate::lesson::frame::{Panel, Pipeline, Stage, Step};
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{Answer, Question};
use crate::nn::arch::{Layer, Plan, Shape};
use crate::Result;

/// A train lesson takes one optional list: the classes of the data the class trains on
/// (the course's three shapes by default), which sizes the network's last layer.
#[derive(Debug, Deserialize)]
pub(crate) struct File {
    classes: Option<Spanned<Vec<String>>>,
}

impl KindFile for File {
    const NAME: &'static str = "train";

    fn check(self, ctx: &Ctx) -> Result<Arc<dyn LessonKind>> {
        Ok(Arc::new(Train {
            classes: classes(ctx, &self.classes)?,
        }))
    }
}

/// A checked train lesson.
#[derive(Debug)]
struct Train {
    classes: Vec<String>,
}

impl LessonKind for Train {
    /// A count from the plan on the first step, and two "explain" questions on how
    /// training works: which curves show overfitting, and why validation loss can sit
    /// below training loss.
    fn questions(&self, _l: &Lesson, steps: &[Step]) -> Vec<Question> {
        let plan = Plan::course(self.classes.len());
        let weights = plan.param_count();
        let parts: Vec<String> = plan
            .layers
            .iter()
            .filter(|l| l.params(&plan) > 0)
            .map(|l| {
                format!(
                    "{} {}",
                    l.module.clone().unwrap_or_default(),
                    l.params(&plan)
                )
            })
            .collect();
        let mut qs = vec![Question {
            step: 0,
            ask: "How many weights and biases will training tune in this network?".into(),
            answer: Answer::Number(weights as f32),
            hints: vec![
                "A convolution has out x in x k x k weights and one bias per filter".into(),
                "The fully connected layer has one weight per input per class, and a bias per class"
                    .into(),
            ],
            working: format!("{} = {weights}", parts.join(" + ")),
            hide: Vec::new(),
            in_app: true,
        }];
        if steps.len() < 2 {
            return qs;
        }
        qs.push(Question {
            step: 1,
            ask: "After a few epochs, which pair of curves says the network is overfitting?".into(),
            answer: Answer::Choice {
                options: vec![
                    "Training and validation loss both fall".into(),
                    "Training loss keeps falling while validation loss rises".into(),
                    "Both losses stay flat".into(),
                ],
                right: 1,
            },
            hints: vec![
                "Overfitting is learning the training pictures' quirks".into(),
                "Quirks help on the training pictures and hurt on new ones".into(),
            ],
            working: "Falling training loss with rising validation loss: it gets better on the \
                      pictures it trains on and worse on new ones"
                .into(),
            hide: Vec::new(),
            in_app: true,
        });
        qs.push(Question {
            step: 1,
            ask: "The validation loss often ends below the training loss. Why?".into(),
            answer: Answer::Choice {
                options: vec![
                    "The validation pictures are easier".into(),
                    "Dropout is on only while training, and the training loss is an average \
                     over an epoch in which the weights were still improving"
                        .into(),
                    "The validation loss uses a different formula".into(),
                ],
                right: 1,
            },
            hints: vec![
                "What does dropout do while training, and while evaluating?".into(),
                "When in the epoch is each loss measured?".into(),
            ],
            working: "Dropout is off for validation, which runs with the end-of-epoch weights; \
                      the training loss is averaged over the whole epoch with dropout on"
                .into(),
            hide: Vec::new(),
            in_app: true,
        });
        qs
    }

    fn opens_training(&self) -> bool {
        true
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let t = l.text();
        // the network the training screen trains by default, its shapes from its plan,
        // its last layer one score per class of the lesson's data
        let mut stages = pipeline_rows(&Plan::course(self.classes.len()));
        if let Some(last) = stages.last_mut() {
            last.0 = format!("Log-softmax ({})", self.classes.join(", "));
        }
        let pipe = Panel::Pipeline(Pipeline {
            label: "The network that will be trained".into(),
            stages: stages
                .into_iter()
                .map(|(n, sh)| Stage { name: n, shape: sh })
                .collect(),
            active: None,
        });
        let mut frames = vec![step(
            l.title().to_string(),
            t.intro.clone(),
            vec![pipe.clone()],
        )];
        if !t.step.is_empty() || !t.result.is_empty() || !t.closing.is_empty() {
            frames.push(step(
                "How training works: press s to start",
                [t.step.clone(), t.result.clone(), t.closing.clone()].concat(),
                vec![pipe],
            ));
        }
        Ok(frames)
    }
}

/// The rows of a network's pipeline panel: a name and the shape it gives, from its plan.
/// A convolution, a pool, `flatten` and a linear layer each start a row; activations,
/// batch norm and dropouts join the row before them when it is a pool or another of
/// their kind (`max pool 2x2 + ReLU`), else start one.
pub fn pipeline_rows(plan: &Plan) -> Vec<(String, String)> {
    let shape = |s: Shape| match s {
        Shape::Maps { c, h, w } => format!("{c}x{h}x{w}"),
        Shape::Flat(n) => n.to_string(),
    };
    let mut rows = vec![(
        if plan.input_dims()[0] == 3 {
            "Image (colour)".to_string()
        } else {
            "Image".to_string()
        },
        shape(plan.input),
    )];
    // whether the last row takes the layers that keep the shape
    let mut joinable = false;
    for l in &plan.layers {
        let name = l.module.clone().unwrap_or_default();
        let (text, starts, join_after) = match l.layer {
            Layer::Conv {
                out,
                k,
                stride,
                pad,
            } => {
                let mut t = format!("{name}: {out} filters {k}x{k}, padding {pad}");
                if stride != 1 {
                    t.push_str(&format!(", stride {stride}"));
                }
                (t, true, false)
            }
            Layer::MaxPool { k, stride } | Layer::AvgPool { k, stride } => {
                let kind = if matches!(l.layer, Layer::MaxPool { .. }) {
                    "max"
                } else {
                    "average"
                };
                let mut t = format!("{kind} pool {k}x{k}");
                if stride != k {
                    t.push_str(&format!(", stride {stride}"));
                }
                (t, true, true)
            }
            Layer::Relu => ("ReLU".into(), false, true),
            Layer::Tanh => ("tanh".into(), false, true),
            Layer::Sigmoid => ("sigmoid".into(), false, true),
            Layer::LeakyRelu { slope } => (format!("leaky ReLU {slope}"), false, true),
            Layer::BatchNorm => ("batch norm".into(), false, true),
            Layer::Dropout2d { p } => (format!("Dropout2d p={p}"), false, true),
            Layer::Dropout { p } => (format!("dropout p={p}"), false, true),
            Layer::Flatten => ("Flatten".into(), true, false),
            Layer::Linear { .. } if l.act.as_deref() == Some("logits") => {
                ("Fully connected".into(), true, false)
            }
            Layer::Linear { .. } => (format!("Fully connected ({name})"), true, false),
        };
        match rows.last_mut() {
            Some(last) if !starts && joinable => {
                last.0.push_str(" + ");
                last.0.push_str(&text);
                last.1 = shape(l.output);
            }
            _ => rows.push((text, shape(l.output))),
        }
        joinable = join_after;
    }
    rows.push(("Log-softmax".into(), plan.classes.to_string()));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::Arch;

    #[test]
    fn the_pipeline_is_read_from_the_plan() {
        let rows = pipeline_rows(&Plan::course(3));
        let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "Image (colour)",
                "conv1: 12 filters 3x3, padding 1",
                "max pool 2x2 + ReLU",
                "conv2: 12 filters 3x3, padding 1",
                "max pool 2x2 + ReLU",
                "conv3: 24 filters 3x3, padding 1",
                "Dropout2d p=0.2 + ReLU + dropout p=0.5",
                "Flatten",
                "Fully connected",
                "Log-softmax"
            ]
        );
        assert_eq!(rows[7].1, "24576");
        let arch = Arch::parse("conv(8,5,stride=2) batchnorm relu flatten linear(20) relu linear")
            .unwrap();
        let rows = pipeline_rows(&Plan::new(&arch, [3, 32, 32], 10).unwrap());
        let text: Vec<String> = rows.iter().map(|r| format!("{} {}", r.0, r.1)).collect();
        assert_eq!(
            text,
            [
                "Image (colour) 3x32x32",
                "conv1: 8 filters 5x5, padding 2, stride 2 8x16x16",
                "batch norm + ReLU 8x16x16",
                "Flatten 2048",
                "Fully connected (fc1) 20",
                "ReLU 20",
                "Fully connected 10",
                "Log-softmax 10"
            ]
        );
    }

    #[test]
    fn the_lessons_classes_size_the_last_layer() {
        let text = "id = \"t\"\ntitle = \"T\"\nkind = \"train\"\n\
                    classes = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\"]\n\
                    [text]\nintro = \"x\"\n";
        let l = Lesson::parse("t.toml", text).unwrap();
        let steps = l.frames().unwrap();
        let Some(Panel::Pipeline(p)) = steps[0].panels.first() else {
            panic!("no pipeline")
        };
        let last: Vec<String> = p.stages[p.stages.len() - 2..]
            .iter()
            .map(|s| format!("{} {}", s.name, s.shape))
            .collect();
        assert_eq!(
            last,
            [
                "Fully connected 10",
                "Log-softmax (a, b, c, d, e, f, g, h, i, j) 10"
            ]
        );
        let start = text.find("classes").unwrap();
        let end = start + text[start..].find('\n').unwrap();
        let bad = format!("{}classes = [\"a\"]{}", &text[..start], &text[end..]);
        let e = Lesson::parse("t.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("t.toml: line 4") && e.contains("classes"), "{e}");
    }
}
