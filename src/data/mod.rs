//! The shapes images: drawing them (the seed's `create_image`), loading a folder of them
//! the way torchvision's `ImageFolder` does, normalising, and the seeded 70/30 split.
//!
//! - [`shapes`]: [`create_image`], [`generate`] (`cnn-tutor data generate`);
//! - [`folder`]: [`load_folder`], [`load_image`], [`Dataset::normalized_into`];
//! - [`split`](mod@split): [`split()`], 70/30, seeded.
//!
//! Images stay u8 in memory (1,200 images = 59 MB) and are normalised one batch at a time;
//! under a budget ([`load_folder_budget`], `--cache-mb`, default 256 MB) only the first
//! images are kept and the rest are decoded again from disk on a worker thread, ahead of
//! the batch that needs them ([`stream`]).

use std::path::{Component, Path};

use crate::{Error, Result};

pub mod augment;
pub mod check;
pub mod folder;
pub mod shapes;
pub mod shared;
pub mod split;
pub mod stream;

pub use augment::Augment;
pub use folder::{
    chw_to_rgb, cmyk_to_rgb, decode_image, index_folder, load_folder, load_folder_budget,
    load_folder_notes, load_folder_quiet, load_image, normalize_pixel, normalize_table, rgb_to_chw,
    Dataset, FolderIndex, ImageRef, LoadedImage, MAX_PIXELS,
};
pub use shapes::{create_image, draw_shape, generate, GenerateSummary, Shape, ShapeParams};
pub use shared::load_folder_shared;
pub use split::{batches, split, train_size};
pub use stream::{budget_bytes, with_batches, Batches, DEFAULT_CACHE_MB};

/// Side of every image the network sees (the net's [`IMAGE_SIDE`](crate::nn::net::IMAGE_SIDE)).
pub const IMAGE_SIZE: usize = crate::nn::net::IMAGE_SIDE;
/// Values in one image, 3 x 128 x 128 (the net's [`IN_LEN`](crate::nn::net::IN_LEN)).
pub const IMAGE_LEN: usize = crate::nn::net::IN_LEN;

/// Default folder of the generated shapes images (`--data`, `data generate --out`).
pub const DEFAULT_DATA_DIR: &str = "data/shapes";

/// Images per class made when the default data folder is missing (the seed's 1,200 in all).
pub const DEFAULT_PER_CLASS: usize = 400;
/// Seed used when the default data folder is made automatically.
pub const DEFAULT_GENERATE_SEED: u64 = 42;

/// True when `dir` names the default data folder (`data/shapes`, ignoring `./` parts).
pub fn is_default_data_dir(dir: &Path) -> bool {
    let strip = |p: &Path| -> Vec<std::ffi::OsString> {
        p.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .map(|c| c.as_os_str().to_os_string())
            .collect()
    };
    strip(dir) == strip(Path::new(DEFAULT_DATA_DIR))
}

/// Make sure the data folder `dir` exists before loading it.
///
/// If it exists, nothing happens (`Ok(false)`). If it is missing and is the default
/// `data/shapes`, 400 images per class are drawn into it with a fixed seed, a one-line note
/// goes to stderr, and the result is `Ok(true)`. A missing folder other than the default
/// is an [`Error::Data`].
pub fn ensure_dataset(dir: &Path) -> Result<bool> {
    ensure_dataset_with(
        dir,
        is_default_data_dir(dir),
        DEFAULT_PER_CLASS,
        DEFAULT_GENERATE_SEED,
        &mut |n| eprintln!("note: {n}"),
    )
}

/// [`ensure_dataset`] with its choices spelled out: whether `dir` may be made when
/// missing, with how many images per class and which seed, and where its notes go (one
/// before drawing, one after). The images are drawn into a hidden folder beside `dir`
/// and renamed when complete, so a run stopped half-way never leaves a half-filled
/// data folder behind.
pub fn ensure_dataset_with(
    dir: &Path,
    may_create: bool,
    per_class: usize,
    seed: u64,
    notes: &mut dyn FnMut(String),
) -> Result<bool> {
    match std::fs::symlink_metadata(dir) {
        Ok(_) => return Ok(false),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::DataFolder {
                action: "read data folder",
                path: dir.to_path_buf(),
                source: e,
            })
        }
        Err(_) => {}
    }
    if !may_create {
        return Err(Error::Data(format!(
            "data folder {} does not exist (make one with `cnn-tutor data generate --out {}`)",
            dir.display(),
            dir.display()
        )));
    }
    notes(format!(
        "{} is missing: drawing {per_class} images per class into it ...",
        dir.display()
    ));
    let name = dir
        .file_name()
        .map_or_else(|| "shapes".into(), |n| n.to_string_lossy().into_owned());
    let making = dir.with_file_name(format!(".{name}.making"));
    let _ = std::fs::remove_dir_all(&making);
    let summary = generate(&making, per_class, seed)?;
    std::fs::rename(&making, dir).map_err(|e| {
        Error::Data(format!(
            "cannot move the new images into {}: {e}",
            dir.display()
        ))
    })?;
    notes(format!(
        "made {} images ({} per class, seed {seed}) in {:.1} s",
        summary.images, summary.per_class, summary.seconds
    ));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_spellings() {
        assert!(is_default_data_dir(Path::new("data/shapes")));
        assert!(is_default_data_dir(Path::new("./data/shapes/")));
        assert!(!is_default_data_dir(Path::new("data/other")));
        assert!(!is_default_data_dir(Path::new("/data/shapes")));
    }

    #[test]
    fn missing_other_dir_is_a_data_error() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let err = ensure_dataset(&missing).unwrap_err();
        assert!(matches!(err, Error::Data(_)));
        assert!(err.to_string().contains("nope"), "{err}");
        assert!(!missing.exists());
        assert!(!ensure_dataset(tmp.path()).unwrap());
    }

    #[test]
    fn an_unreadable_dir_is_an_error_that_keeps_its_cause() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"not a folder").unwrap();
        let dir = file.join("shapes");
        let err = ensure_dataset_with(&dir, true, 1, 1, &mut |_| {}).unwrap_err();
        let cause = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .expect("the io error is kept");
        assert_eq!(
            err.to_string(),
            format!("cannot read data folder {}: {cause}", dir.display())
        );
        assert!(!dir.exists());
    }

    #[test]
    fn missing_default_dir_is_made() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data/shapes");
        let mut notes = Vec::new();
        assert!(ensure_dataset_with(&dir, true, 2, 1, &mut |n| notes.push(n)).unwrap());
        let ds = load_folder(&dir).unwrap();
        assert_eq!(ds.class_counts(), [2, 2, 2]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[1].starts_with("made 6 images (2 per class, seed 1)"),
            "{notes:?}"
        );
        // drawn beside it and renamed: nothing half-made is left
        assert!(!tmp.path().join("data/.shapes.making").exists());
        // second time: already there, nothing made
        assert!(!ensure_dataset_with(&dir, true, 2, 1, &mut |_| {}).unwrap());
    }
}
