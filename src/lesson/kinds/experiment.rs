//! An experiment: a question about training, a lab setup to answer it with (the network
//! and the training settings), and usually one change to run next. The lesson shows both
//! setups and their networks; `s` runs the step's setup at once and Enter opens the lab
//! (the training screen) with it, where the learner changes what they like and compares
//! the runs.

use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::fully_connected::classes;
use super::train::pipeline_rows;
use super::{KindFile, LessonKind};
use crate::lesson::check::Ctx;
use crate::lesson::draw::step;
use crate::lesson::frame::{Panel, Pipeline, Stage, Step};
use crate::lesson::model::Lesson;
use crate::nn::arch::{Arch, Plan, DEFAULT_INPUT};
use crate::train::lab::LabSetup;
use crate::train::OptimizerChoice;
use crate::Result;

/// The settings an experiment file may fix, at the top level (the first run) and in
/// `[then]` (what the second run changes).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetupFile {
    arch: Option<Spanned<String>>,
    epochs: Option<Spanned<usize>>,
    batch_size: Option<Spanned<usize>>,
    learning_rate: Option<Spanned<f64>>,
    optimizer: Option<Spanned<String>>,
    momentum: Option<Spanned<f64>>,
    weight_decay: Option<Spanned<f64>>,
    augment: Option<Spanned<bool>>,
    train_share: Option<Spanned<f64>>,
    seed: Option<Spanned<u64>>,
    /// A lab file's name for the lab (`serve --lab`; not in an experiment's `[then]`).
    pub(crate) title: Option<Spanned<String>>,
    /// A lab file's locked settings (`serve --lab`; not in an experiment's `[then]`).
    pub(crate) lock: Option<Spanned<Vec<String>>>,
}

/// An experiment lesson's fields: the first run's setup, the classes of the data (they
/// size the network's last layer in the lesson's pictures), and the change.
#[derive(Debug, Deserialize)]
pub(crate) struct File {
    arch: Option<Spanned<String>>,
    epochs: Option<Spanned<usize>>,
    batch_size: Option<Spanned<usize>>,
    learning_rate: Option<Spanned<f64>>,
    optimizer: Option<Spanned<String>>,
    momentum: Option<Spanned<f64>>,
    weight_decay: Option<Spanned<f64>>,
    augment: Option<Spanned<bool>>,
    train_share: Option<Spanned<f64>>,
    seed: Option<Spanned<u64>>,
    classes: Option<Spanned<Vec<String>>>,
    then: Option<Spanned<SetupFile>>,
}

impl File {
    /// The top-level setup fields, as a setup file.
    fn first(&mut self) -> SetupFile {
        SetupFile {
            arch: self.arch.take(),
            epochs: self.epochs.take(),
            batch_size: self.batch_size.take(),
            learning_rate: self.learning_rate.take(),
            optimizer: self.optimizer.take(),
            momentum: self.momentum.take(),
            weight_decay: self.weight_decay.take(),
            augment: self.augment.take(),
            train_share: self.train_share.take(),
            seed: self.seed.take(),
            title: None,
            lock: None,
        }
    }
}

/// A number in `lo..=hi`, or the error naming its line and the range.
fn in_range(ctx: &Ctx, field: &str, v: &Spanned<f64>, lo: f64, hi: f64, what: &str) -> Result<f64> {
    let x = *v.get_ref();
    if !x.is_finite() || x < lo || x > hi {
        return Err(ctx.err(v.span(), field, format!("use {what} from {lo} to {hi}")));
    }
    Ok(x)
}

/// Check one setup (`prefix` is `then.` inside `[then]`, for the error's field name).
pub(crate) fn check_setup(ctx: &Ctx, f: &SetupFile, prefix: &str) -> Result<LabSetup> {
    let name = |n: &str| format!("{prefix}{n}");
    let lab_only = [
        ("title", f.title.as_ref().map(Spanned::span)),
        ("lock", f.lock.as_ref().map(Spanned::span)),
    ];
    if let Some((field, Some(span))) = lab_only.into_iter().find(|(_, s)| s.is_some()) {
        return Err(ctx.err(
            span,
            &name(field),
            "only a lab file for `serve --lab` has it",
        ));
    }
    let arch = match &f.arch {
        Some(a) => Some(Arch::parse(a.get_ref()).map_err(|e| {
            ctx.err(
                a.span(),
                &name("arch"),
                e.to_string().trim_start_matches("architecture: "),
            )
        })?),
        None => None,
    };
    let whole = |v: &Option<Spanned<usize>>, field: &str, hi: usize, what: &str| {
        v.as_ref()
            .map(|s| ctx.int_in(&name(field), &Some(s.clone()), 1, (1, hi), what))
            .transpose()
    };
    let number = |v: &Option<Spanned<f64>>, field: &str, lo: f64, hi: f64, what: &str| {
        v.as_ref()
            .map(|s| in_range(ctx, &name(field), s, lo, hi, what))
            .transpose()
    };
    let lr = number(
        &f.learning_rate,
        "learning_rate",
        1e-6,
        1.0,
        "a learning rate",
    )?;
    let momentum = number(&f.momentum, "momentum", 0.0, 0.99, "a momentum")?;
    let optimizer = match &f.optimizer {
        None => momentum.map(|m| OptimizerChoice::Sgd { momentum: m }),
        Some(o) => match o.get_ref().as_str() {
            "adam" if momentum.is_some() => {
                return Err(ctx.err(
                    o.span(),
                    &name("optimizer"),
                    "momentum is SGD's: use optimizer = \"sgd\" or leave momentum out",
                ))
            }
            "adam" => Some(OptimizerChoice::Adam),
            "sgd" => Some(OptimizerChoice::Sgd {
                momentum: momentum.unwrap_or(0.9),
            }),
            other => {
                return Err(ctx.err(
                    o.span(),
                    &name("optimizer"),
                    format!("`{other}` is not an optimizer here: use \"adam\" or \"sgd\""),
                ))
            }
        },
    };
    let share = number(&f.train_share, "train_share", 0.01, 1.0, "a share")?;
    Ok(LabSetup {
        arch,
        epochs: whole(&f.epochs, "epochs", 1000, "epochs")?,
        batch_size: whole(&f.batch_size, "batch_size", 1000, "a batch size")?,
        lr,
        optimizer,
        weight_decay: number(&f.weight_decay, "weight_decay", 0.0, 1.0, "a weight decay")?,
        augment: f.augment.as_ref().map(|a| *a.get_ref()),
        train_share: share,
        seed: f.seed.as_ref().map(|s| *s.get_ref()),
    })
}

impl KindFile for File {
    const NAME: &'static str = "experiment";

    fn check(mut self, ctx: &Ctx) -> Result<Arc<dyn LessonKind>> {
        let classes = classes(ctx, &self.classes)?;
        let arch_span = self.arch.as_ref().map(Spanned::span);
        let first = check_setup(ctx, &self.first(), "")?;
        let then = match &self.then {
            Some(t) => {
                let change = check_setup(ctx, t.get_ref(), "then.")?;
                if first.changed_by(&change).is_empty() {
                    return Err(ctx.err(
                        t.span(),
                        "then",
                        "it changes nothing: give a setting a value different from the first run's",
                    ));
                }
                Some(change)
            }
            None => None,
        };
        // both networks must run on the lesson's classes
        for (setup, field) in [(Some(&first), "arch"), (then.as_ref(), "then.arch")] {
            let Some(setup) = setup else { continue };
            let arch = setup.arch.clone().unwrap_or_else(Arch::course);
            if let Err(e) = Plan::new(&arch, DEFAULT_INPUT, classes.len()) {
                let span = match field {
                    "arch" => arch_span.clone(),
                    _ => self.then.as_ref().map(Spanned::span),
                };
                let msg = e.to_string();
                let msg = msg.trim_start_matches("architecture: ");
                return Err(match span {
                    Some(s) => ctx.err(s, field, msg),
                    None => ctx.err(ctx.kind_span.clone(), field, msg),
                });
            }
        }
        Ok(Arc::new(Experiment {
            classes,
            first,
            then,
        }))
    }
}

/// A checked experiment.
#[derive(Debug)]
struct Experiment {
    classes: Vec<String>,
    first: LabSetup,
    then: Option<LabSetup>,
}

impl Experiment {
    /// The pipeline panel of a setup's network on the lesson's classes.
    fn pipeline(&self, label: &str, setup: &LabSetup) -> Panel {
        let arch = setup.arch.clone().unwrap_or_else(Arch::course);
        let stages = Plan::new(&arch, DEFAULT_INPUT, self.classes.len())
            .map(|p| pipeline_rows(&p))
            .unwrap_or_default();
        Panel::Pipeline(Pipeline {
            label: label.to_string(),
            stages: stages
                .into_iter()
                .map(|(n, sh)| Stage { name: n, shape: sh })
                .collect(),
            active: None,
        })
    }

    /// The second run's setup: the first with the change on top.
    fn second(&self) -> Option<LabSetup> {
        self.then.as_ref().map(|t| self.first.then(t))
    }
}

/// `settings` as one paragraph: "Run 1 trains with: epochs 20; ...; `rest`".
fn setup_paragraph(head: &str, settings: &[(&'static str, String)], rest: &str) -> String {
    let parts: Vec<String> = settings.iter().map(|(k, v)| format!("{k} {v}")).collect();
    if parts.is_empty() {
        format!("{head} the training screen's defaults (the seed's settings).")
    } else {
        format!("{head} {}; {rest}.", parts.join("; "))
    }
}

impl LessonKind for Experiment {
    fn opens_training(&self) -> bool {
        true
    }

    fn lab(&self, step: usize) -> Option<LabSetup> {
        match (step, self.second()) {
            (0, _) | (_, None) => Some(self.first.clone()),
            (_, Some(second)) => Some(second),
        }
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let t = l.text();
        let mut first_text = t.intro.clone();
        first_text.push(setup_paragraph(
            "Run 1 trains with:",
            &self.first.describe(),
            "everything else as the seed's settings",
        ));
        first_text.push("Press s to run it now, or Enter to open the lab with it.".into());
        let mut frames = vec![step(
            l.title().to_string(),
            first_text,
            vec![self.pipeline("Run 1: the network", &self.first)],
        )];
        if let (Some(change), Some(second)) = (&self.then, self.second()) {
            let mut text = t.step.clone();
            text.push(setup_paragraph(
                "Run 2 changes:",
                &self.first.changed_by(change),
                "everything else as in run 1",
            ));
            text.push(
                "Press s to run it now, or Enter to open the lab with it (the first run is \
                 kept: R lists the runs)."
                    .into(),
            );
            frames.push(step(
                "Then change one thing",
                text,
                vec![self.pipeline("Run 2: the network", &second)],
            ));
        }
        if !t.result.is_empty() || !t.closing.is_empty() {
            let last = self.second().unwrap_or_else(|| self.first.clone());
            frames.push(step(
                "What to look at",
                [t.result.clone(), t.closing.clone()].concat(),
                vec![self.pipeline("The last run's network", &last)],
            ));
        }
        Ok(frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::model::Lesson;

    fn load(text: &str) -> Result<Lesson> {
        Lesson::parse("test.toml", text)
    }

    const HEAD: &str = "id = \"x\"\ntitle = \"X\"\nkind = \"experiment\"\n";

    #[test]
    fn an_experiment_gives_each_step_its_setup_and_refuses_bad_values_with_their_line() {
        let text = format!(
            "{HEAD}epochs = 20\ntrain_share = 0.1\narch = \"conv(12,3) maxpool(2) relu flatten linear\"\n\
             [then]\narch = \"conv(12,3) maxpool(2) relu dropout(0.5) flatten linear\"\n\
             [text]\nintro = \"Q?\"\nstep = \"Add dropout.\"\nresult = \"Look.\"\n"
        );
        let l = load(&text).unwrap();
        let frames = l.frames().unwrap();
        assert_eq!(frames.len(), 3);
        let first = l.lab_setup(0).unwrap();
        assert_eq!(first.epochs, Some(20));
        assert_eq!(first.train_share, Some(0.1));
        let second = l.lab_setup(1).unwrap();
        assert_eq!(
            second.epochs,
            Some(20),
            "the change goes on top of the first"
        );
        assert!(second.arch.unwrap().to_string().contains("dropout(0.5)"));
        assert_eq!(l.lab_setup(2), l.lab_setup(1));
        let step2 = frames[1].text.join(" ");
        assert!(
            step2.contains("Run 2 changes: network conv(12,3)"),
            "{step2}"
        );
        assert!(!step2.contains("epochs"), "{step2}");
        // errors name the file, line and field
        let bad = format!("{HEAD}learning_rate = 5.0\n");
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("`learning_rate`"), "{e}");
        let bad = format!("{HEAD}[then]\nepochs = 0\n");
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("line 5") && e.contains("`then.epochs`"), "{e}");
        let bad = format!("{HEAD}arch = \"conv(12,3) maxpool(200) flatten linear\"\n");
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("`arch`") && e.contains("layer 2"), "{e}");
        let bad = format!("{HEAD}epochs = 5\n[then]\nepochs = 5\n");
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("changes nothing"), "{e}");
        let bad = format!("{HEAD}optimizer = \"rmsprop\"\n");
        assert!(load(&bad)
            .unwrap_err()
            .to_string()
            .contains("\"adam\" or \"sgd\""));
    }
}
