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
}

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
            };
        }
        return DataPreview {
            classes: Vec::new(),
            note: format!("data folder {} does not exist", dir.display()),
        };
    }
    let mut subdirs: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    subdirs.sort();
    let classes = subdirs
        .iter()
        .take(16)
        .map(|sub| {
            let mut files: Vec<_> = std::fs::read_dir(sub)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| {
                            p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                                data::folder::SUPPORTED_EXTENSIONS
                                    .contains(&e.to_ascii_lowercase().as_str())
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            let rgb = files
                .first()
                .and_then(|f| data::load_image(f).ok())
                .map(|chw| super::state::chw_to_rgb(&chw));
            ClassPreview {
                name: sub
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                count: files.len(),
                rgb,
            }
        })
        .collect();
    DataPreview {
        classes,
        note: "The first image of each class (sub-folder) and how many it holds".into(),
    }
}
