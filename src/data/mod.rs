//! The shapes images: drawing them (the seed's `create_image`), loading a folder of them
//! the way torchvision's `ImageFolder` does, normalising, and the seeded 70/30 split.
//!
//! API contract shared with the trainer (bodies to be filled in by the data work):

use std::path::{Path, PathBuf};

use crate::Result;

/// Side of every image the network sees.
pub const IMAGE_SIZE: usize = 128;
/// Floats in one normalised image: 3 x 128 x 128.
pub const IMAGE_LEN: usize = 3 * IMAGE_SIZE * IMAGE_SIZE;

/// The three shapes of the seed course, in ImageFolder's (sorted) class order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
}

/// A folder of images loaded into memory as u8 CHW pixels (normalised per batch on demand).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Class names, sorted (sub-folder names).
    pub classes: Vec<String>,
    /// One path per image, in ImageFolder's order (class, then file name).
    pub files: Vec<PathBuf>,
    /// Class index of each image.
    pub labels: Vec<usize>,
    /// All pixels, image after image, each 3x128x128 u8 in CHW order.
    pub pixels: Vec<u8>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Write the images `indices` into `out` (len = indices.len() * IMAGE_LEN) as
    /// ToTensor + Normalize(0.5, 0.5): pixel / 255 * 2 - 1... computed as PyTorch does.
    pub fn normalized_into(&self, _indices: &[usize], _out: &mut [f32]) {
        todo!("data work")
    }
}

/// Load a folder with one sub-folder per class (ImageFolder's rules).
pub fn load_folder(_dir: &Path) -> Result<Dataset> {
    todo!("data work")
}

/// Seeded 70/30 split of `n` images: (train indices, validation indices).
pub fn split(_n: usize, _seed: u64) -> (Vec<usize>, Vec<usize>) {
    todo!("data work")
}
