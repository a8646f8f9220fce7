//! `cnn-tutor evaluate`: accuracy, confusion matrix, precision and recall of a checkpoint
//! on a folder of images: by default, on the model's own validation split when the folder
//! is the one it trained on (the checkpoint records its folder, seed and split sizes).

use serde_json::json;

use crate::backend::{self, cpu::argmax};
use crate::cli::{EvaluateArgs, SplitChoice};
use crate::data::{self, IMAGE_LEN};
use crate::nn::checkpoint;
use crate::train::ConfusionMatrix;
use crate::{Error, Result};

/// Images per forward batch.
const BATCH: usize = 50;

/// Run `cnn-tutor evaluate`.
pub fn run(args: &EvaluateArgs) -> Result<()> {
    let (net, meta) = checkpoint::load(&args.model)?;
    let (mut backend, note) = backend::select(args.device, None)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    data::ensure_dataset(&args.data)?;
    let (dataset, notes) = data::load_folder_budget(&args.data, data::budget_bytes(args.cache_mb))?;
    for note in notes {
        eprintln!("{note}");
    }
    // class names come from folder names and the checkpoint's metadata: escaped when shown
    let list = |names: &[String]| crate::text::escaped(&names.join(", ")).into_owned();
    if dataset.classes.len() != net.classes() {
        return Err(Error::Data(format!(
            "{} has {} classes ({}) but the model {} predicts {} ({})",
            crate::text::path(&args.data),
            dataset.classes.len(),
            list(&dataset.classes),
            crate::text::path(&args.model),
            net.classes(),
            list(&meta.classes)
        )));
    }
    if meta.classes != dataset.classes {
        eprintln!(
            "note: the model's classes ({}) are named differently from the folders ({}); matching them by position",
            list(&meta.classes),
            list(&dataset.classes)
        );
    }
    let classes = &dataset.classes;
    let (counted, which) = pick_images(args, &meta.settings, dataset.len())?;
    let mut confusion = ConfusionMatrix::new(classes.len());
    let mut predictions = Vec::with_capacity(counted.len());
    let mut input = vec![0.0f32; BATCH * IMAGE_LEN];
    for chunk in counted.chunks(BATCH) {
        let x = &mut input[..chunk.len() * IMAGE_LEN];
        dataset.try_normalized_into(chunk, x)?;
        let lp = backend.predict(&net, x)?;
        for (row, &i) in lp.rows().into_iter().zip(chunk) {
            let probs: Vec<f32> = row.iter().map(|v| v.exp()).collect();
            let pred = argmax(&probs);
            let label = dataset.labels[i];
            confusion.add(label, pred);
            predictions.push((i, label, pred, probs));
        }
    }

    if args.json {
        let preds: Vec<_> = predictions
            .iter()
            .map(|(i, label, pred, probs)| {
                json!({
                    "file": dataset.files[*i].display().to_string(),
                    "label": classes[*label],
                    "predicted": classes[*pred],
                    "probabilities": probs,
                })
            })
            .collect();
        let out = json!({
            "model": args.model.display().to_string(),
            "data": args.data.display().to_string(),
            "classes": classes,
            "split": which.name,
            "images_in_folder": dataset.len(),
            "counted": which.line,
            "accuracy": confusion.accuracy(),
            "correct": confusion.correct(),
            "total": confusion.total(),
            "confusion_matrix": confusion.counts,
            "precision": (0..classes.len()).map(|c| confusion.precision(c)).collect::<Vec<_>>(),
            "recall": (0..classes.len()).map(|c| confusion.recall(c)).collect::<Vec<_>>(),
            "predictions": preds,
        });
        crate::outln!("{}", super::predict::json_text(&out));
        return Ok(());
    }
    crate::outln!("{}\n", which.line);
    crate::out!("{}", report(classes, &confusion));
    Ok(())
}

/// Which images were counted, for the report.
struct Counted {
    /// `all`, `validation` or `train`.
    name: &'static str,
    /// One sentence saying which images and why.
    line: String,
}

/// The model's own split of this folder, when the checkpoint records one that fits it:
/// (training indices, validation indices). `None`, with the reason, when it does not.
fn own_split(
    args: &EvaluateArgs,
    settings: &std::collections::BTreeMap<String, String>,
    n: usize,
) -> std::result::Result<(Vec<usize>, Vec<usize>), String> {
    let num = |k: &str| settings.get(k).and_then(|v| v.parse::<u64>().ok());
    let (Some(seed), Some(train), Some(val)) = (num("seed"), num("train_size"), num("val_size"))
    else {
        return Err("the checkpoint does not record its split (seed and sizes)".into());
    };
    let Some(trained_on) = settings.get("data") else {
        return Err("the checkpoint does not record the folder it trained on".into());
    };
    let same = |a: &std::path::Path, b: &std::path::Path| match (a.canonicalize(), b.canonicalize())
    {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if !same(std::path::Path::new(trained_on), &args.data) {
        return Err(format!(
            "the model trained on {}, not this folder",
            crate::text::escaped(trained_on)
        ));
    }
    if (train + val) as usize != n {
        return Err(format!(
            "the folder now holds {n} images, the model split {} (the folder changed)",
            train + val
        ));
    }
    Ok(data::split(n, seed))
}

/// The images `--split` asks for, and the sentence that says which they are.
fn pick_images(
    args: &EvaluateArgs,
    settings: &std::collections::BTreeMap<String, String>,
    n: usize,
) -> Result<(Vec<usize>, Counted)> {
    let own = own_split(args, settings, n);
    let folder = crate::text::path(&args.data);
    let all = |why: String| {
        (
            (0..n).collect::<Vec<usize>>(),
            Counted {
                name: "all",
                line: format!("Counted: all {n} images in {folder}{why}."),
            },
        )
    };
    let validation = |(train, val): (Vec<usize>, Vec<usize>)| {
        let line = format!(
            "Counted: the validation split, {} of the {n} images in {folder} (the model never trained on these; the other {} it trained on are left out: --split all counts them too).",
            val.len(),
            train.len()
        );
        (
            val,
            Counted {
                name: "validation",
                line,
            },
        )
    };
    Ok(match (args.split, own) {
        (SplitChoice::All, Ok((train, _))) => all(format!(
            ", {} of them the images the model trained on, so the accuracy is higher than on new images",
            train.len()
        )),
        (SplitChoice::All, Err(_)) => all(String::new()),
        (SplitChoice::Auto, Ok(split)) | (SplitChoice::Validation, Ok(split)) => validation(split),
        (SplitChoice::Auto, Err(why)) => all(format!(" (not the model's own split: {why})")),
        (SplitChoice::Train, Ok((train, _))) => {
            let line = format!(
                "Counted: the training split, {} of the {n} images in {folder}: the images the model trained on (expect a higher accuracy than on new images).",
                train.len()
            );
            (
                train,
                Counted {
                    name: "train",
                    line,
                },
            )
        }
        (SplitChoice::Validation | SplitChoice::Train, Err(why)) => {
            return Err(Error::Usage(format!(
                "--split {} needs the model's own split of this folder, but {why}; use --split all",
                if args.split == SplitChoice::Train {
                    "train"
                } else {
                    "validation"
                }
            )))
        }
    })
}

/// The human-readable report: accuracy, confusion matrix (rows actual, columns predicted)
/// and per-class precision and recall.
pub fn report(classes: &[String], m: &ConfusionMatrix) -> String {
    use std::fmt::Write;
    let classes: Vec<String> = classes
        .iter()
        .map(|c| crate::text::escaped(c).into_owned())
        .collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Accuracy: {:.2}% ({}/{})\n",
        100.0 * m.accuracy(),
        m.correct(),
        m.total()
    );
    let w = classes.iter().map(|c| c.len()).max().unwrap_or(0).max(8);
    let _ = writeln!(s, "Confusion matrix (rows: actual, columns: predicted)");
    let _ = write!(s, "{:w$}", "");
    for c in &classes {
        let _ = write!(s, " {c:>w$}");
    }
    let _ = writeln!(s);
    for (c, row) in classes.iter().zip(&m.counts) {
        let _ = write!(s, "{c:w$}");
        for v in row {
            let _ = write!(s, " {v:>w$}");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "\n{:w$} {:>9} {:>9}", "class", "precision", "recall");
    for (i, c) in classes.iter().enumerate() {
        let _ = writeln!(
            s,
            "{c:w$} {:>8.1}% {:>8.1}%",
            100.0 * m.precision(i),
            100.0 * m.recall(i)
        );
    }
    s
}
