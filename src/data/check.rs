//! What `cnn-tutor data check` reports and the training screen's settings warn about,
//! computed once here: counts per class, image sizes and modes, broken files, duplicates
//! by content, and the warnings ([`warnings`], the one function both use).

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{ExtendedColorType, ImageDecoder, ImageReader};
use rayon::prelude::*;

use super::{decode_image, folder, IMAGE_SIZE};
use crate::Result;

/// Fewest images a class should have before a warning.
pub const FEW_IMAGES: usize = 5;
/// Largest over smallest class size from which classes are "very unbalanced".
pub const UNBALANCED_RATIO: usize = 3;
/// Most classes the screens are laid out for.
pub const MAX_CLASSES: usize = 50;

/// One class of a checked folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassCount {
    /// The sub-folder name.
    pub name: String,
    /// Its images.
    pub count: usize,
    /// Its first image (ImageFolder's order), if any.
    pub first: Option<PathBuf>,
}

/// What [`check_folder`] found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// The folder.
    pub dir: PathBuf,
    /// One entry per class, sorted by name.
    pub classes: Vec<ClassCount>,
    /// Images looked into (all of them, or a sample of at most the limit given).
    pub examined: usize,
    /// Image sizes as stored (width, height) and how many have each.
    pub sizes: BTreeMap<(u32, u32), usize>,
    /// Colour modes (`grey`, `RGB`, `RGBA`, ...) and how many have each.
    pub modes: BTreeMap<String, usize>,
    /// Files that cannot be decoded: the one-line error naming each.
    pub broken: Vec<String>,
    /// Groups of files with the same bytes (each group two or more, in file order).
    pub duplicates: Vec<Vec<PathBuf>>,
    /// Duplicate groups whose files are in different classes.
    pub cross_class_duplicates: usize,
    /// What the walk skipped (links), one line each.
    pub walk_warnings: Vec<String>,
}

/// What one file is.
struct FileFacts {
    hash: Option<(u64, u64)>,
    size: Option<(u32, u32)>,
    mode: Option<String>,
    broken: Option<String>,
}

/// The name of a colour mode.
fn mode_name(c: ExtendedColorType) -> String {
    match c {
        ExtendedColorType::L1
        | ExtendedColorType::L2
        | ExtendedColorType::L4
        | ExtendedColorType::L8
        | ExtendedColorType::L16 => "grey".into(),
        ExtendedColorType::La1
        | ExtendedColorType::La2
        | ExtendedColorType::La4
        | ExtendedColorType::La8
        | ExtendedColorType::La16 => "grey+alpha".into(),
        ExtendedColorType::Rgb1
        | ExtendedColorType::Rgb2
        | ExtendedColorType::Rgb4
        | ExtendedColorType::Rgb8
        | ExtendedColorType::Rgb16
        | ExtendedColorType::Bgr8 => "RGB".into(),
        ExtendedColorType::Rgba1
        | ExtendedColorType::Rgba2
        | ExtendedColorType::Rgba4
        | ExtendedColorType::Rgba8
        | ExtendedColorType::Rgba16
        | ExtendedColorType::Bgra8 => "RGBA".into(),
        ExtendedColorType::Cmyk8 => "CMYK".into(),
        ExtendedColorType::Unknown(bits) => format!("palette ({bits} bits)"),
        other => format!("{other:?}"),
    }
}

fn facts(path: &Path) -> FileFacts {
    let bytes = std::fs::read(path).ok();
    let hash = bytes.as_ref().map(|b| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        b.hash(&mut h);
        (b.len() as u64, h.finish())
    });
    let mode = bytes.as_ref().and_then(|b| {
        let reader = ImageReader::new(Cursor::new(b.as_slice()))
            .with_guessed_format()
            .ok()?;
        let decoder = reader.into_decoder().ok()?;
        Some(mode_name(decoder.original_color_type()))
    });
    match decode_image(path) {
        Ok(img) => FileFacts {
            hash,
            size: Some(img.original_size),
            mode,
            broken: None,
        },
        Err(e) => FileFacts {
            hash,
            size: None,
            mode: None,
            broken: Some(e.to_string()),
        },
    }
}

/// Look into every image of `dir` (ImageFolder's walk, see [`folder`]): decode each as
/// training would, hash its bytes. A missing or unreadable folder, or a file type that is
/// refused by name, is an error (one line); everything else is in the report.
pub fn check_folder(dir: &Path) -> Result<CheckReport> {
    check_folder_sampled(dir, None)
}

/// [`check_folder`] looking into at most `limit` images, spread evenly over the folder
/// (for a quick preview of a large one); the counts are always of every image.
pub fn check_folder_sampled(dir: &Path, limit: Option<usize>) -> Result<CheckReport> {
    let index = folder::index_parts(dir, false)?;
    let n = index.files.len();
    let step = match limit {
        Some(l) if l > 0 && n > l => n.div_ceil(l),
        _ => 1,
    };
    let picked: Vec<usize> = (0..n).step_by(step).collect();
    let all_facts: Vec<FileFacts> = picked.par_iter().map(|&i| facts(&index.files[i])).collect();
    let mut report = CheckReport {
        dir: dir.to_path_buf(),
        examined: picked.len(),
        walk_warnings: index.warnings.clone(),
        ..CheckReport::default()
    };
    for (c, name) in index.classes.iter().enumerate() {
        let first = index.labels.iter().position(|&l| l == c);
        report.classes.push(ClassCount {
            name: name.clone(),
            count: index.labels.iter().filter(|&&l| l == c).count(),
            first: first.map(|i| index.files[i].clone()),
        });
    }
    let mut groups: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
    for (&i, f) in picked.iter().zip(&all_facts) {
        if let Some(s) = f.size {
            *report.sizes.entry(s).or_default() += 1;
        }
        if let Some(m) = &f.mode {
            *report.modes.entry(m.clone()).or_default() += 1;
        }
        if let Some(b) = &f.broken {
            report.broken.push(b.clone());
        }
        if let Some(h) = f.hash {
            groups.entry(h).or_default().push(i);
        }
    }
    let mut dups: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    // same hash: confirm byte for byte (a 64-bit hash can collide)
    dups.retain_mut(|g| {
        let first = std::fs::read(&index.files[g[0]]).ok();
        g.retain(|&i| std::fs::read(&index.files[i]).ok() == first);
        g.len() > 1
    });
    dups.iter_mut().for_each(|g| g.sort_unstable());
    dups.sort();
    report.cross_class_duplicates = dups
        .iter()
        .filter(|g| g.iter().any(|&i| index.labels[i] != index.labels[g[0]]))
        .count();
    report.duplicates = dups
        .into_iter()
        .map(|g| g.into_iter().map(|i| index.files[i].clone()).collect())
        .collect();
    Ok(report)
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Training would fail.
    Error,
    /// Training works, but the learner should know.
    Warning,
}

/// The warnings about a checked folder, most serious first: training would fail (no
/// class, one class only, a class without images, broken files, too few images), or it
/// works but: a class under [`FEW_IMAGES`] images, very unbalanced classes, images that
/// are resized to 128x128, duplicates, more than [`MAX_CLASSES`] classes, skipped links.
/// The settings screen and `cnn-tutor data check` both show these lines.
pub fn warnings(r: &CheckReport) -> Vec<(Severity, String)> {
    let mut out = errors(r);
    out.extend(cautions(r));
    out
}

/// The lines of [`warnings`] that stop training: no class, one class, an empty class,
/// broken files, fewer than two images.
fn errors(r: &CheckReport) -> Vec<(Severity, String)> {
    use Severity::Error as E;
    let mut out = Vec::new();
    let total: usize = r.classes.iter().map(|c| c.count).sum();
    match r.classes.len() {
        0 => out.push((
            E,
            "no class folders: put each class's images in a sub-folder of its own".to_string(),
        )),
        1 => out.push((
            E,
            format!(
                "one class only ({}): a classifier needs at least two class folders",
                crate::text::escaped(&r.classes[0].name)
            ),
        )),
        _ => {}
    }
    for c in r.classes.iter().filter(|c| c.count == 0) {
        out.push((
            E,
            format!(
                "class {} has no PNG or JPEG images",
                crate::text::escaped(&c.name)
            ),
        ));
    }
    if !r.broken.is_empty() {
        out.push((
            E,
            format!("{} broken file(s), first: {}", r.broken.len(), r.broken[0]),
        ));
    }
    if total < 2 && !r.classes.is_empty() {
        out.push((
            E,
            format!(
                "{total} image(s): training needs at least 2 (one to train on, one to validate)"
            ),
        ));
    }
    out
}

/// The lines of [`warnings`] about a folder that trains, but not well: too many classes,
/// small or unbalanced classes, resized images, duplicates, skipped links.
fn cautions(r: &CheckReport) -> Vec<(Severity, String)> {
    use Severity::Warning as W;
    let mut out = Vec::new();
    if r.classes.len() > MAX_CLASSES {
        out.push((
            W,
            format!(
                "{} classes: the screens are laid out for at most {MAX_CLASSES}",
                r.classes.len()
            ),
        ));
    }
    for c in r
        .classes
        .iter()
        .filter(|c| c.count > 0 && c.count < FEW_IMAGES)
    {
        out.push((
            W,
            format!(
                "class {} has only {} image(s) (fewer than {FEW_IMAGES}): it may get none in the validation split",
                crate::text::escaped(&c.name),
                c.count
            ),
        ));
    }
    let counts = r.classes.iter().map(|c| c.count).filter(|&c| c > 0);
    if let (Some(max), Some(min)) = (counts.clone().max(), counts.min()) {
        if r.classes.len() >= 2 && max >= UNBALANCED_RATIO * min {
            let name = |n: usize| {
                r.classes
                    .iter()
                    .find(|c| c.count == n)
                    .map_or(String::new(), |c| {
                        crate::text::escaped(&c.name).into_owned()
                    })
            };
            out.push((
                W,
                format!(
                    "very unbalanced classes: {} has {max} images, {} only {min}; the network may learn to favour the large class",
                    name(max),
                    name(min)
                ),
            ));
        }
    }
    let side = IMAGE_SIZE as u32;
    let other: usize = r
        .sizes
        .iter()
        .filter(|(&s, _)| s != (side, side))
        .map(|(_, n)| n)
        .sum();
    if other > 0 {
        let mixed = if r.sizes.len() > 1 {
            "mixed sizes: "
        } else {
            ""
        };
        out.push((
            W,
            format!(
                "{mixed}{other} of {} image(s) are not {side}x{side}: they are resized to {side}x{side}",
                r.examined
            ),
        ));
    }
    if !r.duplicates.is_empty() {
        let extra: usize = r.duplicates.iter().map(|g| g.len() - 1).sum();
        let cross = if r.cross_class_duplicates > 0 {
            format!(
                " ({} group(s) across classes: the same image with two labels)",
                r.cross_class_duplicates
            )
        } else {
            String::new()
        };
        out.push((
            W,
            format!(
                "{extra} duplicate image(s) in {} group(s) of identical files{cross}",
                r.duplicates.len()
            ),
        ));
    }
    for w in &r.walk_warnings {
        out.push((W, w.trim_start_matches("warning: ").to_string()));
    }
    out
}

impl CheckReport {
    /// Why training on this folder would fail (`None`: it would start).
    pub fn fatal(&self) -> Option<String> {
        let errors: Vec<String> = warnings(self)
            .into_iter()
            .filter(|(s, _)| *s == Severity::Error)
            .map(|(_, l)| l)
            .collect();
        (!errors.is_empty()).then(|| {
            format!(
                "{}: training would fail: {}",
                crate::text::path(&self.dir),
                errors.join("; ")
            )
        })
    }

    /// The report as text lines (everything from outside escaped).
    pub fn lines(&self) -> Vec<String> {
        let total: usize = self.classes.iter().map(|c| c.count).sum();
        let mut out = vec![format!(
            "data folder {}: {} class(es), {total} image(s)",
            crate::text::path(&self.dir),
            self.classes.len()
        )];
        let name_w = self
            .classes
            .iter()
            .map(|c| crate::text::escaped(&c.name).chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        out.push(format!("  {:<name_w$}  {:>7}", "class", "images"));
        for c in &self.classes {
            out.push(format!(
                "  {:<name_w$}  {:>7}",
                crate::text::escaped(&c.name),
                c.count
            ));
        }
        if self.examined < total {
            out.push(format!(
                "looked into {} of {total} images (a sample)",
                self.examined
            ));
        }
        let join = |items: Vec<String>| {
            if items.is_empty() {
                "none readable".to_string()
            } else {
                items.join(", ")
            }
        };
        let mut sizes: Vec<(&(u32, u32), &usize)> = self.sizes.iter().collect();
        sizes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        out.push(format!(
            "sizes: {}",
            join(
                sizes
                    .iter()
                    .take(8)
                    .map(|((w, h), n)| format!("{w}x{h} ({n})"))
                    .chain((sizes.len() > 8).then(|| format!("and {} more", sizes.len() - 8)))
                    .collect()
            )
        ));
        let mut modes: Vec<(&String, &usize)> = self.modes.iter().collect();
        modes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        out.push(format!(
            "modes: {}",
            join(modes.iter().map(|(m, n)| format!("{m} ({n})")).collect())
        ));
        if self.broken.is_empty() {
            out.push("broken files: none".into());
        } else {
            out.push(format!("broken files: {}", self.broken.len()));
            for b in &self.broken {
                out.push(format!("  {b}"));
            }
        }
        if self.duplicates.is_empty() {
            out.push("duplicates: none".into());
        } else {
            out.push(format!(
                "duplicates: {} group(s) of identical files",
                self.duplicates.len()
            ));
            for g in self.duplicates.iter().take(20) {
                let names: Vec<String> = g
                    .iter()
                    .map(|p| crate::text::path(p.strip_prefix(&self.dir).unwrap_or(p)))
                    .collect();
                out.push(format!("  {}", names.join(" = ")));
            }
            if self.duplicates.len() > 20 {
                out.push(format!(
                    "  and {} more group(s)",
                    self.duplicates.len() - 20
                ));
            }
        }
        let ws = warnings(self);
        if ws.is_empty() {
            out.push("warnings: none".into());
        }
        for (s, w) in &ws {
            let tag = match s {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.push(format!("{tag}: {w}"));
        }
        if self.fatal().is_none() {
            out.push("ok: training can start on this folder".into());
        }
        out
    }
}
