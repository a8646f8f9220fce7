//! Loading a folder of images the way torchvision's `ImageFolder` does, and normalising
//! them the way `ToTensor()` + `Normalize(0.5, 0.5)` does.
//!
//! ImageFolder's rules, followed here:
//! - each sub-folder of the root is a class; classes are sorted by name and numbered 0, 1, ...;
//! - each class folder is walked recursively (sub-folders included, symlinks followed), and
//!   files are taken in `sorted(os.walk(...))` order: by folder path, then by file name;
//!   unlike `os.walk`, each real folder and file is taken once (tracked by device and
//!   inode), and a link that loops back (to a folder already walked, the data folder or
//!   another class) or leads out of its class folder is skipped with a warning naming it;
//! - a file is an image when its extension, compared case-insensitively, is an image
//!   extension; other files are ignored;
//! - a class folder without images is an error;
//! - PIL's `convert("RGB")`: grey is copied to the three channels, alpha is dropped, CMYK
//!   (and YCCK) JPEGs are read with Adobe's inverted polarity and converted as PIL does;
//! - JPEGs are decoded by libjpeg-turbo's code, as PIL does, so the pixels are PIL's bit
//!   for bit (checked on the course's 1,200 JPEGs); a JPEG cut short is an error, as in PIL.
//!
//! Where we differ, we say so: only PNG and JPEG are decoded (another image extension such as
//! `.bmp` is an error naming the file, rather than a silently different data set), and
//! images that are not 128x128 are resized to 128x128 (bilinear, like torchvision's
//! `Resize`), with one note on stderr; and an image over [`MAX_PIXELS`] is refused from its
//! header, before any decoding (a small file can declare billions of pixels).

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

/// Deepest folder nesting walked inside a class folder (loops are caught by the visited
/// set; this only bounds absurd real nesting).
const MAX_DEPTH: usize = 32;

/// Most pixels an image may declare (width x height), checked from the header before
/// decoding, for every format: generous for photos (64 megapixels, e.g. 9248x6936), and it
/// keeps a decompression bomb (a tiny PNG declaring 16000x16000) from taking gigabytes.
pub const MAX_PIXELS: u64 = 64_000_000;

/// A folder of images loaded into memory as u8 CHW pixels (normalised per batch on demand).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Class names, sorted (sub-folder names).
    pub classes: Vec<String>,
    /// One path per image, in ImageFolder's order (class, then file name).
    pub files: Vec<PathBuf>,
    /// Class index of each image.
    pub labels: Vec<usize>,
    /// The decoded pixels kept in memory, image after image, each 3x128x128 u8 in CHW
    /// order: every image for [`load_folder`], the first [`Dataset::cached`] ones for
    /// [`load_folder_budget`] (the rest are decoded from disk again when a batch needs them).
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

    /// The u8 CHW pixels of image `index`: borrowed when it is kept in memory, decoded
    /// from its file otherwise. A streamed file that can no longer be read (it was removed
    /// since loading) gives a black image; [`Dataset::try_image`] says why instead.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn image(&self, index: usize) -> ImageRef<'_> {
        self.try_image(index)
            .unwrap_or_else(|_| ImageRef(std::borrow::Cow::Owned(vec![0; IMAGE_LEN])))
    }

    /// [`Dataset::image`], with the error (one line, naming the file) when a streamed
    /// image cannot be decoded.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn try_image(&self, index: usize) -> Result<ImageRef<'_>> {
        assert!(index < self.len(), "image {index} of {}", self.len());
        if index < self.cached() {
            Ok(ImageRef(std::borrow::Cow::Borrowed(
                &self.pixels[index * IMAGE_LEN..(index + 1) * IMAGE_LEN],
            )))
        } else {
            decode_image(&self.files[index])
                .map(|img| ImageRef(std::borrow::Cow::Owned(img.pixels)))
        }
    }

    /// Images kept decoded in memory: the first ones, as many as `pixels` holds.
    pub fn cached(&self) -> usize {
        (self.pixels.len() / IMAGE_LEN).min(self.len())
    }

    /// Images read from disk each time they are used (not kept in memory).
    pub fn streamed(&self) -> usize {
        self.len() - self.cached()
    }

    /// One line for the log: the budget (bytes), what is kept in memory and what is
    /// streamed.
    pub fn memory_line(&self, budget_bytes: usize) -> String {
        let mb = |bytes: usize| bytes.div_ceil(1 << 20);
        let budget = format!("{} MB budget", mb(budget_bytes));
        if self.streamed() == 0 {
            format!(
                "memory: all {} images kept decoded ({} MB, {budget})",
                self.len(),
                mb(self.pixels.len())
            )
        } else {
            format!(
                "memory: {} of {} images kept decoded ({} MB, {budget}); {} streamed from disk each epoch, decoded ahead of training on a worker thread",
                self.cached(),
                self.len(),
                mb(self.pixels.len()),
                self.streamed()
            )
        }
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
    ///
    /// An image streamed from disk that can no longer be read panics here; the training
    /// loop uses [`Dataset::try_normalized_into`], which returns the error.
    pub fn normalized_into(&self, indices: &[usize], out: &mut [f32]) {
        if let Err(e) = self.try_normalized_into(indices, out) {
            panic!("normalized_into: {e}");
        }
    }

    /// [`Dataset::normalized_into`], returning the first error (one line, naming the
    /// file) when an image streamed from disk cannot be decoded. The values are the same
    /// bits whether an image was kept in memory or decoded again.
    ///
    /// # Panics
    /// If `out` has the wrong length or an index is out of range.
    pub fn try_normalized_into(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        assert_eq!(
            out.len(),
            indices.len() * IMAGE_LEN,
            "normalized_into: out must hold indices.len() * IMAGE_LEN floats"
        );
        let lut = normalize_table();
        out.par_chunks_mut(IMAGE_LEN)
            .zip(indices.par_iter())
            .try_for_each(|(dst, &i)| {
                let img = self.try_image(i)?;
                for (d, &p) in dst.iter_mut().zip(img.iter()) {
                    *d = lut[usize::from(p)];
                }
                Ok(())
            })
    }
}

/// The u8 CHW pixels of one image of a [`Dataset`]: borrowed from memory or decoded from
/// disk. Reads as a `&[u8]` (it derefs to one) and compares with slices and vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a>(pub std::borrow::Cow<'a, [u8]>);

impl std::ops::Deref for ImageRef<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<&[u8]> for ImageRef<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Vec<u8>> for ImageRef<'_> {
    fn eq(&self, other: &Vec<u8>) -> bool {
        *self.0 == other[..]
    }
}

impl PartialEq<ImageRef<'_>> for Vec<u8> {
    fn eq(&self, other: &ImageRef<'_>) -> bool {
        self[..] == *other.0
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

/// CHW u8 pixels (3 planes) to row-major RGB (for drawing).
pub fn chw_to_rgb(chw: &[u8]) -> Vec<u8> {
    let plane = chw.len() / 3;
    let mut out = Vec::with_capacity(chw.len());
    for i in 0..plane {
        out.push(chw[i]);
        out.push(chw[plane + i]);
        out.push(chw[2 * plane + i]);
    }
    out
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
/// converting grey/alpha/CMYK to RGB and resizing as the folder loader does. An image
/// declaring more than [`MAX_PIXELS`] is refused from its header, before decoding.
pub fn decode_image(path: &Path) -> Result<LoadedImage> {
    let fail = |why: String| {
        Error::Data(format!(
            "{}: {}",
            crate::text::path(path),
            crate::text::escaped(&one_line(&why))
        ))
    };
    let open = || -> Result<ImageReader<std::io::BufReader<std::fs::File>>> {
        let reader = ImageReader::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
        reader
            .with_guessed_format()
            .map_err(|e| fail(format!("cannot read: {e}")))
    };
    let reader = open()?;
    let format = reader.format();
    match format {
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
        Some(other) => {
            return Err(fail(format!(
                "{other:?} images are not supported (only PNG and JPEG)"
            )))
        }
        None => return Err(fail("not a PNG or JPEG image".into())),
    }
    // the size from the header alone, before anything is decoded
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| fail(format!("broken image: {e}")))?;
    check_pixels(w, h).map_err(fail)?;
    let img = if format == Some(image::ImageFormat::Jpeg) {
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        image::DynamicImage::ImageRgb8(decode_jpeg(&bytes).map_err(fail)?)
    } else {
        open()?
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

/// `Err` with a message giving the size when `w x h` is over [`MAX_PIXELS`].
fn check_pixels(w: u32, h: u32) -> std::result::Result<(), String> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PIXELS {
        let mp = if pixels % 1_000_000 == 0 {
            (pixels / 1_000_000).to_string()
        } else {
            format!("{:.2}", pixels as f64 / 1e6)
        };
        return Err(format!(
            "{w}x{h} pixels ({mp} megapixels) is over the {}-megapixel limit",
            MAX_PIXELS / 1_000_000
        ));
    }
    Ok(())
}

/// Decode a JPEG to RGB with libjpeg-turbo's decoder (through `mozjpeg`), the library PIL
/// uses, with the same defaults (accurate integer IDCT, fancy upsampling), so the pixels
/// are PIL's bit for bit. (The `image` crate's decoder differs from PIL by up to a few
/// levels in about 3% of the values of the course's JPEGs.) Grey JPEGs come out as RGB;
/// CMYK and YCCK JPEGs are read as CMYK with Adobe's inverted polarity and converted to
/// RGB as PIL does (see [`cmyk_to_rgb`]).
///
/// Like PIL, a file cut short is an error (libjpeg would fill the rest with grey). An
/// image over [`MAX_PIXELS`] is refused from its header.
pub fn decode_jpeg(bytes: &[u8]) -> std::result::Result<RgbImage, String> {
    use mozjpeg::ColorSpace;
    if !jpeg_is_complete(bytes) {
        return Err("broken image: the JPEG data is truncated (no end marker)".into());
    }
    // mozjpeg reports libjpeg's fatal errors by unwinding with the message as payload.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> std::io::Result<JpegPixels> {
            let header = mozjpeg::Decompress::new_mem(bytes)?;
            let (w, h) = (header.width(), header.height());
            let (Ok(w32), Ok(h32)) = (u32::try_from(w), u32::try_from(h)) else {
                return Ok(Err("broken image: impossible size".into()));
            };
            if let Err(e) = check_pixels(w32, h32) {
                return Ok(Err(e));
            }
            let cmyk = matches!(
                header.color_space(),
                ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK
            );
            let pixels = if cmyk {
                let mut started = header.to_colorspace(ColorSpace::JCS_CMYK)?;
                let raw = started.read_scanlines::<u8>()?;
                started.finish()?;
                cmyk_to_rgb(&raw)
            } else {
                let mut started = header.rgb()?;
                let pixels = started.read_scanlines::<u8>()?;
                started.finish()?;
                pixels
            };
            Ok(Ok((w, h, pixels)))
        },
    ));
    let (w, h, pixels) = match decoded {
        Ok(Ok(Ok(d))) => d,
        Ok(Ok(Err(too_big))) => return Err(too_big),
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

/// libjpeg's CMYK samples (4 per pixel) to RGB as PIL reads and converts them: PIL always
/// assumes Adobe's inverted polarity (`CMYK;I`: each sample is `255 - v`), then its
/// `convert("RGB")` computes `nk - c * nk / 255` per channel, with `nk = 255 - k` and the
/// division rounded as PIL's `MULDIV255` does. (Checked against Pillow's output for a CMYK
/// JPEG it wrote: tests/fixtures/make_cmyk.py.)
pub fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    fn muldiv255(a: u32, b: u32) -> u32 {
        let t = a * b + 128;
        ((t >> 8) + t) >> 8
    }
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let [c, m, y, k] = [px[0], px[1], px[2], px[3]].map(|v| u32::from(255 - v));
        let nk = 255 - k;
        for v in [c, m, y] {
            out.push(nk.saturating_sub(muldiv255(v, nk)).min(255) as u8);
        }
    }
    out
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

/// What identifies a real file or folder however it is reached: device and inode.
type FileId = (u64, u64);

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata, _path: &Path) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata, path: &Path) -> FileId {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .hash(&mut h);
    (0, h.finish())
}

/// An image found in a class folder: through a link?, folder path relative to the class
/// folder (bytes, '/' separators), file name, path, id.
type Found = (bool, Vec<u8>, Vec<u8>, PathBuf, FileId);
/// A link to a folder, looked at once the real folders are read: path, relative path,
/// depth, id.
type Pending = (PathBuf, Vec<u8>, usize, FileId);
/// What the JPEG decoder returns: width, height and RGB pixels, or why the size is refused.
type JpegPixels = std::result::Result<(usize, usize, Vec<u8>), String>;

/// The walk of one data folder: the folders already walked (so a link that loops is
/// skipped, and no folder is walked twice) and the warnings for what was skipped.
struct Walk {
    /// Folders walked or to be walked: the data folder, every class folder, and every
    /// folder reached inside one.
    visited: std::collections::HashSet<FileId>,
    /// One line per skipped link (and one for files reached twice).
    warnings: Vec<String>,
}

impl Walk {
    /// The image files of one class folder (whose real path is `class_real`), in
    /// `sorted(os.walk(class_dir))` order, each real file once. Real folders are walked
    /// before any link to a folder is looked at, so a link, not the real folder, is what
    /// is skipped as a loop; likewise a file reached as itself and through a link is kept
    /// under its own name.
    fn class_files(&mut self, class_dir: &Path, class_real: &Path) -> Result<Vec<PathBuf>> {
        // (through a link?, folder path relative to the class folder as bytes with '/'
        // separators, file name, path, file id)
        let mut found: Vec<Found> = Vec::new();
        let mut stack: Vec<(PathBuf, Vec<u8>, usize, bool)> =
            vec![(class_dir.to_path_buf(), Vec::new(), 0, false)];
        let mut linked_dirs: Vec<Pending> = Vec::new();
        let cannot = |dir: &Path, e: std::io::Error| {
            Error::Data(format!(
                "cannot read folder {}: {e}",
                crate::text::path(dir)
            ))
        };
        // every real folder first; then the links to folders, one at a time
        while let Some((dir, rel, depth, via_link)) = stack
            .pop()
            .or_else(|| self.next_linked(&mut linked_dirs, class_real, class_dir))
        {
            let entries = std::fs::read_dir(&dir).map_err(|e| cannot(&dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| cannot(&dir, e))?;
                let path = entry.path();
                let name = entry.file_name();
                let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
                // follows symlinks, as os.walk(followlinks=True) and os.path.isfile do
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue; // a dangling link: os.walk skips it too
                };
                let id = file_id(&meta, &path);
                if meta.is_dir() {
                    if depth >= MAX_DEPTH {
                        continue;
                    }
                    let mut sub = rel.clone();
                    sub.push(b'/');
                    sub.extend_from_slice(name.as_encoded_bytes());
                    if is_link {
                        linked_dirs.push((path, sub, depth + 1, id));
                    } else if self.visited.insert(id) {
                        stack.push((path, sub, depth + 1, via_link));
                    }
                    continue;
                }
                match extension_lower(&path).as_deref() {
                    Some(ext) if SUPPORTED_EXTENSIONS.contains(&ext) => {
                        if is_link && !self.inside(&path, class_real, class_dir) {
                            continue;
                        }
                        let linked = is_link || via_link;
                        found.push((
                            linked,
                            rel.clone(),
                            name.as_encoded_bytes().to_vec(),
                            path,
                            id,
                        ));
                    }
                    Some(ext) if OTHER_IMAGE_EXTENSIONS.contains(&ext) => {
                        return Err(Error::Data(format!(
                            "{}: .{ext} images are not supported (only PNG and JPEG); convert or remove it",
                            crate::text::path(&path)
                        )));
                    }
                    _ => {} // not an image: ImageFolder ignores it
                }
            }
        }
        // each real file once, under its own name where it has one
        found.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
        let mut seen = std::collections::HashSet::new();
        let before = found.len();
        found.retain(|f| seen.insert(f.4));
        if found.len() < before {
            self.warnings.push(format!(
                "warning: {} image(s) in {} are the same file as another one there (links); each is used once",
                before - found.len(),
                crate::text::path(class_dir)
            ));
        }
        found.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
        Ok(found.into_iter().map(|f| f.3).collect())
    }

    /// The next link to a folder worth walking: inside the class folder and not read
    /// yet (each other one gets a warning).
    fn next_linked(
        &mut self,
        linked_dirs: &mut Vec<Pending>,
        class_real: &Path,
        class_dir: &Path,
    ) -> Option<(PathBuf, Vec<u8>, usize, bool)> {
        while let Some((path, rel, depth, id)) = linked_dirs.pop() {
            if !self.inside(&path, class_real, class_dir) {
                continue;
            }
            if !self.visited.insert(id) {
                self.warnings.push(format!(
                    "warning: skipped {}: a link to a folder already read (a loop, or a second way to the same folder)",
                    crate::text::path(&path)
                ));
                continue;
            }
            return Some((path, rel, depth, true));
        }
        None
    }

    /// True when the link `path` resolves inside `class_real`; otherwise a warning is
    /// recorded and it is skipped (a link out of the class folder would label another
    /// folder's images, or anything on the disk, as this class).
    fn inside(&mut self, path: &Path, class_real: &Path, class_dir: &Path) -> bool {
        match std::fs::canonicalize(path) {
            Ok(real) if real.starts_with(class_real) => true,
            Ok(real) => {
                self.warnings.push(format!(
                    "warning: skipped {}: it is a link to {}, outside the class folder {}",
                    crate::text::path(path),
                    crate::text::path(&real),
                    crate::text::path(class_dir)
                ));
                false
            }
            Err(e) => {
                self.warnings
                    .push(format!("warning: skipped {}: {e}", crate::text::path(path)));
                false
            }
        }
    }
}

/// Load a folder with one sub-folder per class (ImageFolder's rules, see the module docs),
/// decoding in parallel. Images that are not 128x128 are resized, with one note on stderr;
/// skipped links get one warning each on stderr.
///
/// Errors (one line each): a missing or unreadable folder, no class folders, a class folder without images (named), a broken, unsupported or too large image file
/// (named).
pub fn load_folder(dir: &Path) -> Result<Dataset> {
    let (dataset, notes) = load_folder_notes(dir)?;
    for note in notes {
        eprintln!("{note}");
    }
    Ok(dataset)
}

/// [`load_folder`] without printing: also returns how many images were resized. The
/// warnings about skipped links are dropped; [`load_folder_notes`] returns them.
pub fn load_folder_quiet(dir: &Path) -> Result<(Dataset, usize)> {
    load_folder_parts(dir).map(|(d, resized, _)| (d, resized))
}

/// [`load_folder`] without printing: the data set and the lines [`load_folder`] prints
/// (warnings about skipped links, the note about resized images), for a log or a screen.
pub fn load_folder_notes(dir: &Path) -> Result<(Dataset, Vec<String>)> {
    let (dataset, resized, mut notes) = load_folder_parts(dir)?;
    if resized > 0 {
        notes.push(resized_note(resized, dataset.len(), dir));
    }
    Ok((dataset, notes))
}

/// [`load_folder_notes`] under a memory budget: at most `budget_bytes` of decoded pixels
/// are kept (the first images, in file order); the others are decoded once here (so a
/// broken file is named now, as [`load_folder`] does) and again from disk whenever a batch
/// needs them ([`Dataset::try_normalized_into`]). The pixels are the same either way.
pub fn load_folder_budget(dir: &Path, budget_bytes: usize) -> Result<(Dataset, Vec<String>)> {
    let (dataset, resized, mut notes) = load_parts(dir, Some(budget_bytes))?;
    if resized > 0 {
        notes.push(resized_note(resized, dataset.len(), dir));
    }
    Ok((dataset, notes))
}

fn resized_note(resized: usize, of: usize, dir: &Path) -> String {
    format!(
        "note: resized {resized} of {of} images in {} to {IMAGE_SIZE}x{IMAGE_SIZE} (the network takes {IMAGE_SIZE}x{IMAGE_SIZE} RGB)",
        crate::text::path(dir)
    )
}

/// The data set, how many images were resized, and the warnings.
fn load_folder_parts(dir: &Path) -> Result<(Dataset, usize, Vec<String>)> {
    load_parts(dir, None)
}

/// A data folder walked but not decoded: class names, files and labels in ImageFolder's
/// order, and the warnings about what the walk skipped.
#[derive(Debug, Clone)]
pub struct FolderIndex {
    /// Class names, sorted.
    pub classes: Vec<String>,
    /// One path per image, in ImageFolder's order.
    pub files: Vec<PathBuf>,
    /// Class index of each image.
    pub labels: Vec<usize>,
    /// Warnings about skipped links.
    pub warnings: Vec<String>,
}

/// Walk `dir` as [`load_folder`] does, decoding nothing: the same errors for a missing or
/// unreadable folder, no class folders, a class without images, an unsupported image type.
pub fn index_folder(dir: &Path) -> Result<FolderIndex> {
    index_parts(dir, true)
}

/// The data set (keeping at most `budget` bytes of pixels), resized count, warnings.
fn load_parts(dir: &Path, budget: Option<usize>) -> Result<(Dataset, usize, Vec<String>)> {
    let FolderIndex {
        classes,
        files,
        labels,
        warnings,
    } = index_parts(dir, true)?;
    let cached = budget.map_or(files.len(), |b| (b / IMAGE_LEN).min(files.len()));
    let mut pixels = vec![0u8; cached * IMAGE_LEN];
    let outcomes: Vec<Result<bool>> = pixels
        .par_chunks_mut(IMAGE_LEN)
        .zip(files[..cached].par_iter())
        .map(|(dst, path)| {
            let img = decode_image(path)?;
            dst.copy_from_slice(&img.pixels);
            Ok(img.was_resized())
        })
        .collect();
    // the rest: decoded once to check them (and count the resized), then dropped
    let streamed: Vec<Result<bool>> = files[cached..]
        .par_iter()
        .map(|path| decode_image(path).map(|img| img.was_resized()))
        .collect();
    let mut resized = 0;
    for outcome in outcomes.into_iter().chain(streamed) {
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
        warnings,
    ))
}

/// The walk of [`index_folder`]; `need_images`: a class folder without images is an error.
pub(crate) fn index_parts(dir: &Path, need_images: bool) -> Result<FolderIndex> {
    let shown = crate::text::path(dir);
    let meta = std::fs::metadata(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Data(format!("data folder {shown} does not exist"))
        } else {
            Error::Data(format!("cannot read data folder {shown}: {e}"))
        }
    })?;
    if !meta.is_dir() {
        return Err(Error::Data(format!("data folder {shown} is not a folder")));
    }
    let mut walk = Walk {
        visited: std::collections::HashSet::new(),
        warnings: Vec::new(),
    };
    walk.visited.insert(file_id(&meta, dir));
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Data(format!("cannot read data folder {shown}: {e}")))?;
    // (name as bytes, name, path, (a link?, id))
    type ClassDir = (Vec<u8>, String, PathBuf, (bool, FileId));
    let mut class_dirs: Vec<ClassDir> = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::Data(format!("cannot read data folder {shown}: {e}")))?;
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            let name = entry.file_name();
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            class_dirs.push((
                name.as_encoded_bytes().to_vec(),
                name.to_string_lossy().into_owned(),
                path,
                (is_link, file_id(&meta, &entry.path())),
            ));
        }
    }
    class_dirs.sort_by(|a, b| a.0.cmp(&b.0));
    // a class folder that is the data folder itself or another class (through a link) is
    // skipped: it would hold other classes' images under its own name (real folders are
    // counted first, so the link is the one skipped)
    let mut keep = vec![true; class_dirs.len()];
    for links in [false, true] {
        for (i, (_, _, path, (is_link, id))) in class_dirs.iter().enumerate() {
            if *is_link == links && !walk.visited.insert(*id) {
                keep[i] = false;
                walk.warnings.push(format!(
                    "warning: skipped class folder {}: it is a link to the data folder or to another class",
                    crate::text::path(path)
                ));
            }
        }
    }
    let mut classes_found = Vec::with_capacity(class_dirs.len());
    for ((key, name, path, _), keep) in class_dirs.into_iter().zip(keep) {
        if !keep {
            continue;
        }
        let real = std::fs::canonicalize(&path).map_err(|e| {
            Error::Data(format!(
                "cannot read folder {}: {e}",
                crate::text::path(&path)
            ))
        })?;
        classes_found.push((key, name, path, real));
    }
    if classes_found.is_empty() {
        return Err(Error::Data(format!(
            "data folder {shown} has no class folders (expected one sub-folder per class, e.g. circle/, square/, triangle/)"
        )));
    }

    let mut classes = Vec::with_capacity(classes_found.len());
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for (label, (_, name, path, real)) in classes_found.into_iter().enumerate() {
        let these = walk.class_files(&path, &real)?;
        if these.is_empty() && need_images {
            return Err(Error::Data(format!(
                "class folder {} has no PNG or JPEG images",
                crate::text::path(&path)
            )));
        }
        labels.extend(std::iter::repeat_n(label, these.len()));
        files.extend(these);
        classes.push(name);
    }
    Ok(FolderIndex {
        classes,
        files,
        labels,
        warnings: walk.warnings,
    })
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
    fn the_pixel_limit_is_64_megapixels_exactly() {
        assert!(check_pixels(8000, 8000).is_ok());
        assert!(check_pixels(1, 64_000_000).is_ok());
        assert_eq!(
            check_pixels(8001, 8000).unwrap_err(),
            "8001x8000 pixels (64.01 megapixels) is over the 64-megapixel limit"
        );
        assert!(check_pixels(u32::MAX, u32::MAX).is_err());
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
