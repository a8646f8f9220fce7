//! The seed's `create_image` recipe, drawn with `imageproc`, and `data generate`.
//!
//! The notebook draws with PIL:
//!
//! ```python
//! xy1 = randint(10, 40); xy2 = randint(60, 100)
//! col = (randint(0, 200), randint(0, 200), randint(0, 200))
//! img = Image.new("RGB", (128, 128), (255, 255, 255))
//! draw.ellipse([(xy1, xy1), (xy2, xy2)], fill=col)                   # circle
//! draw.polygon([(xy1, xy1), (xy2, xy2), (xy2, xy1)], fill=col)       # triangle
//! draw.rectangle([(xy1, xy1), (xy2, xy2)], fill=col)                 # square
//! ```
//!
//! PIL's boxes include both corners: the square covers columns and rows `xy1..=xy2`, and so
//! does the circle. `imageproc` draws circles around an integer centre with an integer
//! radius, which covers an odd number of pixels; when `xy2 - xy1` is odd (an even number of
//! pixels, a half-pixel centre) we draw the circle at the four surrounding integer centres,
//! which fills exactly the pixels `xy1..=xy2` on both axes, as PIL does.
//!
//! Measured against PIL 13 for every box the recipe can pick (`scripts/pil_shapes.py` and
//! the ignored test `pil_drawing_matches`): squares and triangles are identical pixel for
//! pixel, and so are circles over an odd number of pixels; circles over an even number of
//! pixels have up to 48 (on average 24) more edge pixels than PIL's, about 1% of the disc.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::codecs::png::PngEncoder;
use image::{ImageEncoder, Rgb, RgbImage};
use imageproc::drawing::{draw_filled_ellipse_mut, draw_filled_rect_mut, draw_polygon_mut};
use imageproc::point::Point;
use imageproc::rect::Rect;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::augment::Augment;
use super::IMAGE_SIZE;
use crate::{Error, Result};

/// The three shapes of the seed course, in ImageFolder's (sorted) class order; lesson
/// files name them `circle`, `square`, `triangle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    Circle,
    Square,
    Triangle,
}

impl Shape {
    /// All shapes, in class-index order (circle = 0, square = 1, triangle = 2).
    pub const ALL: [Shape; 3] = [Shape::Circle, Shape::Square, Shape::Triangle];

    /// The class (and sub-folder) name: `circle`, `square` or `triangle`.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Circle => "circle",
            Shape::Square => "square",
            Shape::Triangle => "triangle",
        }
    }

    /// The class index, as ImageFolder numbers the sorted sub-folders.
    pub fn index(self) -> usize {
        match self {
            Shape::Circle => 0,
            Shape::Square => 1,
            Shape::Triangle => 2,
        }
    }

    /// The shape with this class name, if any.
    pub fn from_name(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The random choices of one `create_image` call, drawn in the seed's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeParams {
    /// Top-left corner of the bounding box (both axes), 10..=40.
    pub xy1: u32,
    /// Bottom-right corner of the bounding box (both axes, inclusive), 60..=100.
    pub xy2: u32,
    /// Fill colour, each channel 0..=200.
    pub color: [u8; 3],
}

impl ShapeParams {
    /// Draw the parameters as the seed does: `xy1`, `xy2`, then red, green, blue.
    pub fn random(rng: &mut impl Rng) -> ShapeParams {
        let xy1 = rng.gen_range(10..=40);
        let xy2 = rng.gen_range(60..=100);
        let color = [
            rng.gen_range(0..=200),
            rng.gen_range(0..=200),
            rng.gen_range(0..=200),
        ];
        ShapeParams { xy1, xy2, color }
    }
}

/// Draw one random image of `shape` with the seed's `create_image` recipe: a 128x128
/// white RGB image with one filled shape of a random colour in a random box.
pub fn create_image(shape: Shape, rng: &mut impl Rng) -> RgbImage {
    draw_shape(shape, ShapeParams::random(rng))
}

/// Draw `shape` with fixed parameters (the deterministic half of [`create_image`]).
pub fn draw_shape(shape: Shape, p: ShapeParams) -> RgbImage {
    draw_shape_sized(shape, p, IMAGE_SIZE as u32)
}

/// [`draw_shape`] on a `size` x `size` canvas (the lessons' pictures, 16 to 256 pixels):
/// the box's corners, picked for 128 pixels, are scaled to `size` (and kept at least 2
/// pixels apart). At 128 this is exactly [`draw_shape`].
pub fn draw_shape_sized(shape: Shape, p: ShapeParams, size: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(size, size, Rgb([255, 255, 255]));
    let color = Rgb(p.color);
    let scale = |v: u32| -> i32 { (u64::from(v) * u64::from(size) / IMAGE_SIZE as u64) as i32 };
    // Coordinates stay inside the image (10..=100 of 128), so the casts cannot wrap.
    let a = scale(p.xy1);
    let b = scale(p.xy2).max(a + 2);
    match shape {
        Shape::Circle => {
            let span = b - a; // pixels covered = span + 1
            let radius = span / 2;
            let lo = a + radius;
            // odd span: an even pixel count, centred between `lo` and `lo + 1`
            let hi = if span % 2 == 1 { lo + 1 } else { lo };
            for cy in [lo, hi] {
                for cx in [lo, hi] {
                    draw_filled_ellipse_mut(&mut img, (cx, cy), radius, radius, color);
                }
            }
        }
        Shape::Square => {
            let side = (b - a + 1) as u32;
            draw_filled_rect_mut(&mut img, Rect::at(a, a).of_size(side, side), color);
        }
        Shape::Triangle => {
            // xy1 < xy2 always, so the first and last points differ (imageproc requires it).
            let points = [Point::new(a, a), Point::new(b, b), Point::new(b, a)];
            draw_polygon_mut(&mut img, &points, color);
        }
    }
    img
}

/// Upside down (top row becomes the bottom row): a lesson's "vary the images" picture.
pub fn flip(img: &RgbImage) -> RgbImage {
    Augment {
        flip: true,
        ..Augment::default()
    }
    .apply_rgb(img)
}

/// Left-right mirror image.
pub fn mirror(img: &RgbImage) -> RgbImage {
    Augment {
        mirror: true,
        ..Augment::default()
    }
    .apply_rgb(img)
}

/// Slanted sideways: each row shifts in proportion to its distance from the middle row
/// (`shear` pixels per pixel); uncovered pixels are white.
pub fn skew(img: &RgbImage, shear: f32) -> RgbImage {
    Augment {
        shear,
        ..Augment::default()
    }
    .apply_rgb(img)
}

/// The random-number generator of image `index` of class `shape` for a `generate` seed.
///
/// Every image has its own ChaCha8 stream, so image `i` of a class is the same whatever
/// `--per-class` is and however many threads draw, and the classes do not depend on
/// each other.
pub fn image_rng(seed: u64, shape: Shape, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((shape.index() as u64) << 40) | index as u64);
    rng
}

/// The file name of image `index` (0-based) of `shape`: `circle0001.png` for index 0.
pub fn image_file_name(shape: Shape, index: usize) -> String {
    format!("{}{:04}.png", shape.name(), index + 1)
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSummary {
    /// The folder holding `circle/`, `square/` and `triangle/`.
    pub out: PathBuf,
    /// Images per class.
    pub per_class: usize,
    /// The seed used.
    pub seed: u64,
    /// Images written in all.
    pub images: usize,
    /// Wall-clock seconds taken.
    pub seconds: f64,
}

impl std::fmt::Display for GenerateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wrote {} images ({} per class: circle, square, triangle) to {} with seed {} in {:.1} s",
            self.images,
            self.per_class,
            self.out.display(),
            self.seed,
            self.seconds
        )
    }
}

/// Encode an RGB image as PNG bytes.
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    PngEncoder::new(&mut bytes)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| Error::image("could not encode a PNG image", e))?;
    Ok(bytes)
}

/// Draw `per_class` images of each shape into `out/circle/`, `out/square/` and
/// `out/triangle/` (`circle0001.png`, ...), each file written atomically, in parallel.
/// Existing files of the same names are replaced; other files are left alone.
pub fn generate(out: &Path, per_class: usize, seed: u64) -> Result<GenerateSummary> {
    if per_class == 0 {
        return Err(Error::Usage("--per-class must be at least 1".into()));
    }
    let start = Instant::now();
    for shape in Shape::ALL {
        let dir = out.join(shape.name());
        std::fs::create_dir_all(&dir).map_err(|source| Error::DataFolder {
            action: "create image folder",
            path: dir.clone(),
            source,
        })?;
    }
    let jobs: Vec<(Shape, usize)> = Shape::ALL
        .into_iter()
        .flat_map(|s| (0..per_class).map(move |i| (s, i)))
        .collect();
    jobs.par_iter().try_for_each(|&(shape, index)| {
        let img = create_image(shape, &mut image_rng(seed, shape, index));
        let path = out.join(shape.name()).join(image_file_name(shape, index));
        crate::fsutil::write_atomic(&path, &encode_png(&img)?)
    })?;
    Ok(GenerateSummary {
        out: out.to_path_buf(),
        per_class,
        seed,
        images: jobs.len(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pixels (x, y) that differ from white.
    fn painted(img: &RgbImage) -> Vec<(u32, u32)> {
        img.enumerate_pixels()
            .filter(|(_, _, p)| p.0 != [255, 255, 255])
            .map(|(x, y, _)| (x, y))
            .collect()
    }

    fn bbox(points: &[(u32, u32)]) -> (u32, u32, u32, u32) {
        let x0 = points.iter().map(|p| p.0).min().unwrap();
        let x1 = points.iter().map(|p| p.0).max().unwrap();
        let y0 = points.iter().map(|p| p.1).min().unwrap();
        let y1 = points.iter().map(|p| p.1).max().unwrap();
        (x0, y0, x1, y1)
    }

    #[test]
    fn every_shape_fills_exactly_the_pil_box() {
        for xy1 in 10..=40 {
            for xy2 in 60..=100 {
                let p = ShapeParams {
                    xy1,
                    xy2,
                    color: [0, 0, 0],
                };
                for shape in Shape::ALL {
                    let img = draw_shape(shape, p);
                    let pts = painted(&img);
                    assert_eq!(bbox(&pts), (xy1, xy1, xy2, xy2), "{shape} {xy1} {xy2}");
                }
            }
        }
    }

    #[test]
    fn square_is_the_full_inclusive_box() {
        let p = ShapeParams {
            xy1: 10,
            xy2: 61,
            color: [1, 2, 3],
        };
        let n = painted(&draw_shape(Shape::Square, p)).len();
        assert_eq!(n, 52 * 52);
    }

    #[test]
    fn circle_is_symmetric_and_round() {
        for (xy1, xy2) in [(10, 60), (10, 61), (33, 100), (40, 60)] {
            let p = ShapeParams {
                xy1,
                xy2,
                color: [0, 0, 0],
            };
            let img = draw_shape(Shape::Circle, p);
            let pts = painted(&img);
            // mirror-symmetric about the box centre on both axes and the diagonal
            for &(x, y) in &pts {
                let (mx, my) = (xy1 + xy2 - x, xy1 + xy2 - y);
                assert!(img.get_pixel(mx, y).0 == [0, 0, 0], "x mirror of {x},{y}");
                assert!(img.get_pixel(x, my).0 == [0, 0, 0], "y mirror of {x},{y}");
                assert!(img.get_pixel(y, x).0 == [0, 0, 0], "transpose of {x},{y}");
            }
            // area close to pi r^2 with r = pixel count / 2 (PIL's disc)
            let r = f64::from(xy2 - xy1 + 1) / 2.0;
            let ratio = pts.len() as f64 / (std::f64::consts::PI * r * r);
            assert!((0.95..1.06).contains(&ratio), "area ratio {ratio}");
            // the box corners stay white
            assert_eq!(img.get_pixel(xy1, xy1).0, [255, 255, 255]);
        }
    }

    #[test]
    fn triangle_is_the_upper_right_half() {
        let p = ShapeParams {
            xy1: 20,
            xy2: 80,
            color: [5, 5, 5],
        };
        let img = draw_shape(Shape::Triangle, p);
        // above-right of the diagonal is filled, below-left is white
        assert_eq!(img.get_pixel(70, 30).0, [5, 5, 5]);
        assert_eq!(img.get_pixel(30, 70).0, [255, 255, 255]);
        // the diagonal itself and both legs are drawn, as PIL's filled polygon does
        for t in 20..=80 {
            assert_eq!(img.get_pixel(t, t).0, [5, 5, 5]);
            assert_eq!(img.get_pixel(80, t).0, [5, 5, 5]);
            assert_eq!(img.get_pixel(t, 20).0, [5, 5, 5]);
        }
    }

    #[test]
    fn random_params_stay_in_the_seed_ranges() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut seen_hi = false;
        for _ in 0..5000 {
            let p = ShapeParams::random(&mut rng);
            assert!((10..=40).contains(&p.xy1));
            assert!((60..=100).contains(&p.xy2));
            assert!(p.color.iter().all(|&c| c <= 200));
            seen_hi |= p.color.contains(&200);
        }
        assert!(seen_hi, "the top of the colour range is reachable");
    }

    #[test]
    fn names_and_indices() {
        assert_eq!(image_file_name(Shape::Circle, 0), "circle0001.png");
        assert_eq!(image_file_name(Shape::Triangle, 399), "triangle0400.png");
        for (i, s) in Shape::ALL.into_iter().enumerate() {
            assert_eq!(s.index(), i);
            assert_eq!(Shape::from_name(s.name()), Some(s));
        }
        assert_eq!(Shape::from_name("hexagon"), None);
    }
}
