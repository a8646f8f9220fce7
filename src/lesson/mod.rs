//! Lessons: lesson files (data), the step engine that turns them into frames by calling
//! [`crate::nn::ops`], and the plain-text printer.
//!
//! A lesson file holds only inputs (an image, filters, a probability, a seed) and the words
//! to show; every number a learner sees is computed by the same ops that train the network.

pub mod frame;
pub mod model;
pub mod plain;
mod shapes;
pub mod steps;

use std::path::Path;

pub use frame::{Frame, Panel};
pub use model::{EditTarget, Kind, Lesson};

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
        "lessons/08-train.toml",
        include_str!("../../lessons/08-train.toml"),
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
            dir.display()
        )));
    }
    let mut lessons = Vec::with_capacity(paths.len());
    for path in &paths {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        lessons.push(Lesson::parse(&path.display().to_string(), &text)?);
    }
    check_unique(&lessons)?;
    Ok(lessons)
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
