//! Loading a folder of images the way torchvision's `ImageFolder` does, and normalising
//! them the way `ToTensor()` + `Normalize(0.5, 0.5)` does.
//!
//! ImageFolder's rules, followed here:
//! - each sub-folder of the root is a class; classes are sorted by name and numbered 0, 1, ...;
//! - each class folder is walked recursively (sub-folders included, symlinks followed), and
//!   files are taken in `sorted(os.walk(...))` order: by folder path, then by file name;
//! - a file is an image when its extension, compared case-insensitively, is an image
//!   extension; other files are ignored;
//! - a class folder without images is an error;
//! - PIL's `convert("RGB")`: grey is copied to the three channels, alpha is dropped;
//! - JPEGs are decoded by libjpeg-turbo's code, as PIL does, so the pixels are PIL's bit
//!   for bit (checked on the course's 1,200 JPEGs); a JPEG cut short is an error, as in PIL.
//!
//! Where we differ, we say so: only PNG and JPEG are decoded (another image extension such as
//! `.bmp` is an error naming the file, rather than a silently different data set), and
//! images that are not 128x128 are resized to 128x128 (bilinear, like torchvision's
//! `Resize`), with one note on stderr.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{ImageReader, RgbImage};
use rayon::prelude::*;

use super::{IMAGE_LEN, IMAGE_SIZE};
use crate::{Error, Result};

/// Extensions decoded (lower case, without the dot).
pub const SUPPORTED_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Other extensions torchvision's ImageFolder treats as images; we refuse them by name.
const OTHER_IMAGE_EXTENSIONS: [&str; 6] = ["ppm", "bmp", "pgm", "tif", "tiff", "webp"];

/// Deepest folder nesting walked inside a class folder (guards against symlink loops).
const MAX_DEPTH: usize = 32;

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
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The u8 CHW pixels of image `index`.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.pixels[index * IMAGE_LEN..(index + 1) * IMAGE_LEN]
    }

    /// Number of images of each class, in class order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &l in &self.labels {
            counts[l] += 1;
        }
        counts
    }

    /// Write the images `indices` into `out` (len = indices.len() * IMAGE_LEN) as
    /// `ToTensor()` + `Normalize(0.5, 0.5)`: `(pixel / 255 - 0.5) / 0.5` in f32, in that
    /// order, as PyTorch computes it (see [`normalize_pixel`]).
    ///
    /// # Panics
    /// If `out` has the wrong length or an index is out of range (caller bugs, not input).
    pub fn normalized_into(&self, indices: &[usize], out: &mut [f32]) {
        assert_eq!(
            out.len(),
            indices.len() * IMAGE_LEN,
            "normalized_into: out must hold indices.len() * IMAGE_LEN floats"
        );
        let lut = normalize_table();
        out.par_chunks_mut(IMAGE_LEN)
            .zip(indices.par_iter())
            .for_each(|(dst, &i)| {
                for (d, &p) in dst.iter_mut().zip(self.image(i)) {
                    *d = lut[usize::from(p)];
                }
            });
    }
}

/// One pixel value after `ToTensor()` + `Normalize(mean=0.5, std=0.5)`.
///
/// `ToTensor` divides the u8 value by 255 in f32; `Normalize` then subtracts the mean and
/// divides by the std, both in f32. (The golden file's `pixel/255*2-1` gives the same bits
/// for every u8 value; a test checks all 256.)
pub fn normalize_pixel(p: u8) -> f32 {
    (f32::from(p) / 255.0 - 0.5) / 0.5
}

/// [`normalize_pixel`] for all 256 values.
pub fn normalize_table() -> [f32; 256] {
    let mut t = [0.0; 256];
    for (v, slot) in t.iter_mut().enumerate() {
        *slot = normalize_pixel(v as u8);
    }
    t
}

/// One decoded image: 3x128x128 u8 CHW pixels, and its size before resizing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// CHW u8 pixels, `IMAGE_LEN` of them.
    pub pixels: Vec<u8>,
    /// Width and height of the file as stored.
    pub original_size: (u32, u32),
}

impl LoadedImage {
    /// True when the file was not 128x128 and was resized.
    pub fn was_resized(&self) -> bool {
        self.original_size != (IMAGE_SIZE as u32, IMAGE_SIZE as u32)
    }
}

/// Turn any RGB image into CHW u8 pixels at 128x128 (resizing bilinearly when needed).
pub fn rgb_to_chw(img: &RgbImage) -> Vec<u8> {
    let side = IMAGE_SIZE as u32;
    let resized;
    let img = if img.dimensions() == (side, side) {
        img
    } else {
        resized = image::imageops::resize(img, side, side, FilterType::Triangle);
        &resized
    };
    let plane = IMAGE_SIZE * IMAGE_SIZE;
    let mut out = vec![0u8; IMAGE_LEN];
    for (i, px) in img.as_raw().chunks_exact(3).enumerate() {
        out[i] = px[0];
        out[plane + i] = px[1];
        out[2 * plane + i] = px[2];
    }
    out
}

/// Decode one PNG or JPEG file (by content, whatever its name) into 128x128 CHW u8 RGB,
/// converting grey/alpha to RGB and resizing as the folder loader does.
pub fn decode_image(path: &Path) -> Result<LoadedImage> {
    let fail = |why: String| Error::Data(format!("{}: {}", path.display(), one_line(&why)));
    let reader = ImageReader::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let reader = reader
        .with_guessed_format()
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    match reader.format() {
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
        Some(other) => {
            return Err(fail(format!(
                "{other:?} images are not supported (only PNG and JPEG)"
            )))
        }
        None => return Err(fail("not a PNG or JPEG image".into())),
    }
    let img = if reader.format() == Some(image::ImageFormat::Jpeg) {
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        image::DynamicImage::ImageRgb8(decode_jpeg(&bytes).map_err(fail)?)
    } else {
        reader
            .decode()
            .map_err(|e| fail(format!("broken image: {e}")))?
    };
    let original_size = (img.width(), img.height());
    if original_size.0 == 0 || original_size.1 == 0 {
        return Err(fail("image has no pixels".into()));
    }
    Ok(LoadedImage {
        pixels: rgb_to_chw(&img.to_rgb8()),
        original_size,
    })
}

/// Largest JPEG accepted, in pixels (a guard against absurd headers).
const MAX_JPEG_PIXELS: usize = 100_000_000;

/// Decode a JPEG to RGB with libjpeg-turbo's decoder (through `mozjpeg`), the library PIL
/// uses, with the same defaults (accurate integer IDCT, fancy upsampling), so the pixels
/// are PIL's bit for bit. (The `image` crate's decoder differs from PIL by up to a few
/// levels in about 3% of the values of the course's JPEGs.) Grey JPEGs come out as RGB.
///
/// Like PIL, a file cut short is an error (libjpeg would fill the rest with grey).
pub fn decode_jpeg(bytes: &[u8]) -> std::result::Result<RgbImage, String> {
    if !jpeg_is_complete(bytes) {
        return Err("broken image: the JPEG data is truncated (no end marker)".into());
    }
    // mozjpeg reports libjpeg's fatal errors by unwinding with the message as payload.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> std::io::Result<(usize, usize, Vec<u8>)> {
            let header = mozjpeg::Decompress::new_mem(bytes)?;
            let (w, h) = (header.width(), header.height());
            if w.saturating_mul(h) > MAX_JPEG_PIXELS {
                return Err(std::io::Error::other(format!(
                    "{w}x{h} pixels is too large"
                )));
            }
            let mut started = header.rgb()?;
            let pixels = started.read_scanlines::<u8>()?;
            started.finish()?;
            Ok((w, h, pixels))
        },
    ));
    let (w, h, pixels) = match decoded {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return Err(format!("broken image: {e}")),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "libjpeg failed".into());
            return Err(format!("broken image: {msg}"));
        }
    };
    let (Ok(w32), Ok(h32)) = (u32::try_from(w), u32::try_from(h)) else {
        return Err("broken image: impossible size".into());
    };
    RgbImage::from_raw(w32, h32, pixels)
        .ok_or_else(|| "broken image: the JPEG data is truncated".to_string())
}

/// True when the JPEG stream has an end-of-image marker (FF D9) after its last
/// start-of-scan marker (FF DA). Inside entropy-coded data a 0xFF byte is always followed
/// by 0x00 or a restart marker, so these two byte pairs are real markers.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
    match (last(0xDA), last(0xD9)) {
        (Some(sos), Some(eoi)) => eoi > sos,
        _ => false,
    }
}

/// Load one image file as CHW u8 128x128 RGB, exactly as [`load_folder`] loads each file
/// (grey/alpha converted, other sizes resized, silently; use [`decode_image`] to learn
/// whether it was resized).
pub fn load_image(path: &Path) -> Result<Vec<u8>> {
    decode_image(path).map(|l| l.pixels)
}

/// Collapse a message onto one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn extension_lower(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// The image files of one class folder, in `sorted(os.walk(class_dir))` order.
fn class_files(class_dir: &Path) -> Result<Vec<PathBuf>> {
    // (folder path relative to the class folder, as bytes with '/' separators; file name)
    let mut found: Vec<(Vec<u8>, Vec<u8>, PathBuf)> = Vec::new();
    let mut stack: Vec<(PathBuf, Vec<u8>, usize)> = vec![(class_dir.to_path_buf(), Vec::new(), 0)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| Error::Data(format!("cannot read folder {}: {}", dir.display(), e)))?;
        for entry in entries {
            let entry = entry
                .map_err(|e| Error::Data(format!("cannot read folder {}: {}", dir.display(), e)))?;
            let path = entry.path();
            let name = entry.file_name();
            // follows symlinks, as os.walk(followlinks=True) and os.path.isfile do
            let Ok(meta) = std::fs::metadata(&path) else {
                continue; // a dangling link: os.walk skips it too
            };
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    let mut sub = rel.clone();
                    sub.push(b'/');
                    sub.extend_from_slice(name.as_encoded_bytes());
                    stack.push((path, sub, depth + 1));
                }
                continue;
            }
            match extension_lower(&path).as_deref() {
                Some(ext) if SUPPORTED_EXTENSIONS.contains(&ext) => {
                    found.push((rel.clone(), name.as_encoded_bytes().to_vec(), path));
                }
                Some(ext) if OTHER_IMAGE_EXTENSIONS.contains(&ext) => {
                    return Err(Error::Data(format!(
                        "{}: .{ext} images are not supported (only PNG and JPEG); convert or remove it",
                        path.display()
                    )));
                }
                _ => {} // not an image: ImageFolder ignores it
            }
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(found.into_iter().map(|(_, _, p)| p).collect())
}

/// Load a folder with one sub-folder per class (ImageFolder's rules, see the module docs),
/// decoding in parallel. Images that are not 128x128 are resized, with one note on stderr.
///
/// Errors (one line each): a missing or unreadable folder, no class folders, a class
/// folder without images (named), a broken or unsupported image file (named).
pub fn load_folder(dir: &Path) -> Result<Dataset> {
    let (dataset, resized) = load_folder_quiet(dir)?;
    if resized > 0 {
        eprintln!(
            "note: resized {resized} of {} images in {} to {IMAGE_SIZE}x{IMAGE_SIZE} (the network takes {IMAGE_SIZE}x{IMAGE_SIZE} RGB)",
            dataset.len(),
            dir.display()
        );
    }
    Ok(dataset)
}

/// [`load_folder`] without the note: also returns how many images were resized.
pub fn load_folder_quiet(dir: &Path) -> Result<(Dataset, usize)> {
    let meta = std::fs::metadata(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Data(format!("data folder {} does not exist", dir.display()))
        } else {
            Error::Data(format!("cannot read data folder {}: {e}", dir.display()))
        }
    })?;
    if !meta.is_dir() {
        return Err(Error::Data(format!(
            "data folder {} is not a folder",
            dir.display()
        )));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Data(format!("cannot read data folder {}: {e}", dir.display())))?;
    let mut class_dirs: Vec<(Vec<u8>, String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| Error::Data(format!("cannot read data folder {}: {e}", dir.display())))?;
        let path = entry.path();
        if path.is_dir() {
            let name = entry.file_name();
            class_dirs.push((
                name.as_encoded_bytes().to_vec(),
                name.to_string_lossy().into_owned(),
                path,
            ));
        }
    }
    if class_dirs.is_empty() {
        return Err(Error::Data(format!(
            "data folder {} has no class folders (expected one sub-folder per class, e.g. circle/, square/, triangle/)",
            dir.display()
        )));
    }
    class_dirs.sort_by(|a, b| a.0.cmp(&b.0));

    let mut classes = Vec::with_capacity(class_dirs.len());
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for (label, (_, name, path)) in class_dirs.into_iter().enumerate() {
        let these = class_files(&path)?;
        if these.is_empty() {
            return Err(Error::Data(format!(
                "class folder {} has no PNG or JPEG images",
                path.display()
            )));
        }
        labels.extend(std::iter::repeat_n(label, these.len()));
        files.extend(these);
        classes.push(name);
    }

    let mut pixels = vec![0u8; files.len() * IMAGE_LEN];
    let outcomes: Vec<Result<bool>> = pixels
        .par_chunks_mut(IMAGE_LEN)
        .zip(files.par_iter())
        .map(|(dst, path)| {
            let img = decode_image(path)?;
            dst.copy_from_slice(&img.pixels);
            Ok(img.was_resized())
        })
        .collect();
    let mut resized = 0;
    for outcome in outcomes {
        resized += usize::from(outcome?);
    }
    Ok((
        Dataset {
            classes,
            files,
            labels,
            pixels,
        },
        resized,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_is_pytorchs_for_all_256_values() {
        for v in 0..=255u8 {
            let x = f32::from(v) / 255.0;
            let a = (x - 0.5) / 0.5;
            let b = x * 2.0 - 1.0;
            assert_eq!(normalize_pixel(v).to_bits(), a.to_bits());
            // the golden README's formula gives the same bits
            assert_eq!(a.to_bits(), b.to_bits(), "value {v}");
        }
        assert_eq!(normalize_pixel(0), -1.0);
        assert_eq!(normalize_pixel(255), 1.0);
    }

    #[test]
    fn chw_order() {
        let mut img = RgbImage::new(128, 128);
        img.put_pixel(3, 2, image::Rgb([10, 20, 30]));
        let chw = rgb_to_chw(&img);
        let plane = 128 * 128;
        let at = 2 * 128 + 3;
        assert_eq!(
            (chw[at], chw[plane + at], chw[2 * plane + at]),
            (10, 20, 30)
        );
        assert_eq!(chw.iter().filter(|&&p| p != 0).count(), 3);
    }
}
