//! The data, before training: the first image of each class with the class counts (the
//! seed's first look at its images), read once when the training screen opens.

use std::path::Path;

use crate::data::{self, shapes::image_rng, Shape};

/// One class of the data set.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassPreview {
    /// The class (sub-folder) name.
    pub name: String,
    /// Images in the class.
    pub count: usize,
    /// Its first image, 128x128 RGB row-major (none when it cannot be read).
    pub rgb: Option<Vec<u8>>,
}

/// What the settings step shows about the data.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPreview {
    /// One entry per class, in class order.
    pub classes: Vec<ClassPreview>,
    /// A line about where the images come from.
    pub note: String,
    /// What will go wrong or is worth knowing before training, `error: ...` or
    /// `warning: ...` ([`data::check::warnings`], as `cnn-tutor data check` says them).
    pub warnings: Vec<String>,
}

/// Images the preview looks into at most (a sample, spread over the folder, beyond it).
pub const PREVIEW_SAMPLE: usize = 600;

/// Look at `dir`: the first image and the count of each class sub-folder; when `dir` is
/// the missing default folder, the images that will be made (drawn now, the same recipe
/// and seed).
pub fn preview(dir: &Path) -> DataPreview {
    if !dir.exists() {
        if data::is_default_data_dir(dir) {
            let classes = Shape::ALL
                .iter()
                .map(|&s| {
                    let img =
                        data::create_image(s, &mut image_rng(data::DEFAULT_GENERATE_SEED, s, 0));
                    ClassPreview {
                        name: s.name().to_string(),
                        count: data::DEFAULT_PER_CLASS,
                        rgb: Some(img.into_raw()),
                    }
                })
                .collect();
            return DataPreview {
                classes,
                note: format!(
                    "{} is made when training starts: {} images per class",
                    dir.display(),
                    data::DEFAULT_PER_CLASS
                ),
                warnings: Vec::new(),
            };
        }
        return DataPreview {
            classes: Vec::new(),
            note: format!("data folder {} does not exist", crate::text::path(dir)),
            warnings: Vec::new(),
        };
    }
    match data::check::check_folder_sampled(dir, Some(PREVIEW_SAMPLE)) {
        Ok(report) => of_report(&report),
        Err(e) => DataPreview {
            classes: Vec::new(),
            note: e.to_string(),
            warnings: vec![format!("error: {e}")],
        },
    }
}

/// The preview of a checked folder: the first image and count of each class (at most
/// 50 classes) and the warnings.
pub fn of_report(report: &data::check::CheckReport) -> DataPreview {
    let classes = report
        .classes
        .iter()
        .take(data::check::MAX_CLASSES)
        .map(|c| ClassPreview {
            name: crate::text::escaped(&c.name).into_owned(),
            count: c.count,
            rgb: c
                .first
                .as_ref()
                .and_then(|f| data::load_image(f).ok())
                .map(|chw| super::state::chw_to_rgb(&chw)),
        })
        .collect();
    let warnings = data::check::warnings(report)
        .into_iter()
        .map(|(sev, w)| match sev {
            data::check::Severity::Error => format!("error: {w}"),
            data::check::Severity::Warning => format!("warning: {w}"),
        })
        .collect();
    let total: usize = report.classes.iter().map(|c| c.count).sum();
    DataPreview {
        classes,
        note: if report.classes.len() <= 3 {
            "The first image of each class (sub-folder) and how many it holds".into()
        } else {
            format!(
                "{} classes, {total} images: the first image of each and how many it holds",
                report.classes.len()
            )
        },
        warnings,
    }
}
