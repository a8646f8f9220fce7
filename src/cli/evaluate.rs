//! `cnn-tutor evaluate`: accuracy, confusion matrix, precision and recall of a checkpoint
//! on every image of a folder.

use serde_json::json;

use crate::backend::{self, cpu::argmax};
use crate::cli::EvaluateArgs;
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
    let mut confusion = ConfusionMatrix::new(classes.len());
    let mut predictions = Vec::with_capacity(dataset.len());
    let mut input = vec![0.0f32; BATCH * IMAGE_LEN];
    let all: Vec<usize> = (0..dataset.len()).collect();
    for chunk in all.chunks(BATCH) {
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
    crate::out!("{}", report(classes, &confusion));
    Ok(())
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
