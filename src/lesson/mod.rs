//! Lessons: lesson files (data), the kinds that turn them into steps by calling
//! [`crate::nn::ops`] (`kinds/`, one module per kind), and the plain-text printer.
//!
//! A lesson file holds only inputs (an image, filters, a probability, a seed) and the words
//! to show; every number a learner sees is computed by the same ops that train the network.

mod check;
mod draw;
pub mod export;
pub mod frame;
mod kinds;
pub mod lab_file;
pub mod model;
mod number;
pub mod plain;
pub mod quiz;

use std::io::Read;
use std::path::Path;

pub use frame::{Panel, Step};
pub use kinds::Capabilities;
pub use model::{EditTarget, Lesson, MAX_FILE_BYTES};
pub use number::{fmt_cell, fmt_fit, fmt_num};

use crate::{Error, Result};

/// The built-in lesson files, compiled into the binary, in menu order.
const BUILTIN: &[(&str, &str)] = &[
    (
        "lessons/01-convolution.toml",
        include_str!("../../lessons/01-convolution.toml"),
    ),
    (
        "lessons/02-relu.toml",
        include_str!("../../lessons/02-relu.toml"),
    ),
    (
        "lessons/03-pooling.toml",
        include_str!("../../lessons/03-pooling.toml"),
    ),
    (
        "lessons/04-dropout.toml",
        include_str!("../../lessons/04-dropout.toml"),
    ),
    (
        "lessons/05-flatten.toml",
        include_str!("../../lessons/05-flatten.toml"),
    ),
    (
        "lessons/06-fully-connected.toml",
        include_str!("../../lessons/06-fully-connected.toml"),
    ),
    (
        "lessons/07-architecture.toml",
        include_str!("../../lessons/07-architecture.toml"),
    ),
    (
        "lessons/08-backprop.toml",
        include_str!("../../lessons/08-backprop.toml"),
    ),
    (
        "lessons/09-train.toml",
        include_str!("../../lessons/09-train.toml"),
    ),
    (
        "lessons/10-occlusion.toml",
        include_str!("../../lessons/10-occlusion.toml"),
    ),
    (
        "lessons/11-overfitting.toml",
        include_str!("../../lessons/11-overfitting.toml"),
    ),
    (
        "lessons/12-learning-rate.toml",
        include_str!("../../lessons/12-learning-rate.toml"),
    ),
    (
        "lessons/13-no-pooling.toml",
        include_str!("../../lessons/13-no-pooling.toml"),
    ),
    (
        "lessons/14-mlp-vs-cnn.toml",
        include_str!("../../lessons/14-mlp-vs-cnn.toml"),
    ),
    (
        "lessons/15-filters-vs-layers.toml",
        include_str!("../../lessons/15-filters-vs-layers.toml"),
    ),
    (
        "lessons/16-batch-norm.toml",
        include_str!("../../lessons/16-batch-norm.toml"),
    ),
];

/// The built-in lessons (compiled in with `include_str!`), in menu order.
pub fn builtin() -> Result<Vec<Lesson>> {
    let lessons = BUILTIN
        .iter()
        .map(|(name, text)| Lesson::parse(name, text))
        .collect::<Result<Vec<_>>>()?;
    check_unique(&lessons)?;
    Ok(lessons)
}

/// All `*.toml` files in `dir`, sorted by file name; errors name the file, line and field.
pub fn load_dir(dir: &Path) -> Result<Vec<Lesson>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if paths.is_empty() {
        return Err(Error::Lesson(format!(
            "{}: no lesson files (*.toml) in this folder",
            crate::text::path(dir)
        )));
    }
    let mut lessons = Vec::with_capacity(paths.len());
    for path in &paths {
        let text = read_capped(path)?;
        lessons.push(Lesson::parse(&crate::text::path(path), &text)?);
    }
    check_unique(&lessons)?;
    Ok(lessons)
}

/// A lesson file's text, refused without reading it whole when it is over
/// [`MAX_FILE_BYTES`] (at most that many bytes and one more are ever read).
fn read_capped(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let name = crate::text::path(path);
    if size > MAX_FILE_BYTES {
        return Err(model::too_large(&name, size));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // it grew, or it is not a plain file: say what was read
        return Err(model::too_large(&name, bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        );
        Error::io(path, e)
    })
}

/// [`builtin`] or [`load_dir`], depending on the `--lessons` option.
pub fn load(dir: Option<&Path>) -> Result<Vec<Lesson>> {
    match dir {
        Some(dir) => load_dir(dir),
        None => builtin(),
    }
}

/// Find a lesson by id; the error lists the valid ids.
pub fn find<'a>(lessons: &'a [Lesson], id: &str) -> Result<&'a Lesson> {
    lessons.iter().find(|l| l.id() == id).ok_or_else(|| {
        let ids: Vec<&str> = lessons.iter().map(Lesson::id).collect();
        Error::Usage(format!(
            "unknown lesson `{id}`; valid ids: {}",
            ids.join(", ")
        ))
    })
}

fn check_unique(lessons: &[Lesson]) -> Result<()> {
    for (i, a) in lessons.iter().enumerate() {
        if let Some(b) = lessons[..i].iter().find(|b| b.id() == a.id()) {
            return Err(Error::Lesson(format!(
                "{}: duplicate lesson id `{}` (already used by {})",
                a.source(),
                a.id(),
                b.source()
            )));
        }
    }
    Ok(())
}
