//! A small shape drawer for the image lessons (dropout's flips, the whole network), after
//! the seed's `create_image` recipe: a white square canvas with one filled shape whose
//! corners fall in 10..=40 and 60..=100 (of 128) and whose colour is random, from a seed.
//! A later merge can switch this to `crate::data`'s generator.

use image::{imageops, Rgb, RgbImage};
use imageproc::drawing::{draw_filled_ellipse_mut, draw_filled_rect_mut, draw_polygon_mut};
use imageproc::point::Point;
use imageproc::rect::Rect;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::lesson::model::ShapeName;

/// Draw `shape` on a white `size` x `size` canvas; the same seed gives the same picture.
pub(crate) fn draw(shape: ShapeName, size: u32, seed: u64) -> RgbImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let scale = |v: i32| -> i32 { (i64::from(v) * i64::from(size) / 128) as i32 };
    let a = scale(rng.gen_range(10..=40));
    let b = scale(rng.gen_range(60..=100)).max(a + 2);
    let col = Rgb([
        rng.gen_range(0..=200u8),
        rng.gen_range(0..=200u8),
        rng.gen_range(0..=200u8),
    ]);
    let mut img = RgbImage::from_pixel(size, size, Rgb([255, 255, 255]));
    match shape {
        ShapeName::Circle => {
            let c = (a + b) / 2;
            let r = (b - a) / 2;
            draw_filled_ellipse_mut(&mut img, (c, c), r, r, col);
        }
        ShapeName::Square => {
            let side = (b - a + 1).max(1) as u32;
            draw_filled_rect_mut(&mut img, Rect::at(a, a).of_size(side, side), col);
        }
        ShapeName::Triangle => {
            let pts = [Point::new(a, a), Point::new(b, b), Point::new(b, a)];
            draw_polygon_mut(&mut img, &pts, col);
        }
    }
    img
}

/// Upside down (top row becomes the bottom row).
pub(crate) fn flip(img: &RgbImage) -> RgbImage {
    imageops::flip_vertical(img)
}

/// Left-right mirror image.
pub(crate) fn mirror(img: &RgbImage) -> RgbImage {
    imageops::flip_horizontal(img)
}

/// Slanted sideways: each row shifts in proportion to its distance from the middle row
/// (`shear` pixels per pixel); uncovered pixels are white.
pub(crate) fn skew(img: &RgbImage, shear: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let mid = h as f32 / 2.0;
    RgbImage::from_fn(w, h, |x, y| {
        let shift = (y as f32 - mid) * shear;
        let sx = (x as f32 - shift).round();
        if sx >= 0.0 && sx < w as f32 {
            *img.get_pixel(sx as u32, y)
        } else {
            Rgb([255, 255, 255])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ink(img: &RgbImage) -> usize {
        img.pixels().filter(|p| p.0 != [255, 255, 255]).count()
    }

    #[test]
    fn the_same_seed_draws_the_same_picture() {
        for shape in [ShapeName::Circle, ShapeName::Square, ShapeName::Triangle] {
            let a = draw(shape, 128, 5);
            assert_eq!(a, draw(shape, 128, 5));
            assert_eq!(a.dimensions(), (128, 128));
            // a shape of at least 20x20 pixels on a white background
            assert!(ink(&a) > 200, "{shape:?}");
            assert!(ink(&a) < 128 * 128 / 2, "{shape:?}");
        }
        assert_ne!(
            draw(ShapeName::Circle, 64, 1),
            draw(ShapeName::Square, 64, 1)
        );
    }

    #[test]
    fn transforms_move_pixels_but_keep_the_size() {
        let img = draw(ShapeName::Triangle, 64, 2);
        for t in [flip(&img), mirror(&img), skew(&img, 0.3)] {
            assert_eq!(t.dimensions(), img.dimensions());
            assert_ne!(t, img);
            assert!(ink(&t) > 0);
        }
        assert_eq!(flip(&flip(&img)), img);
        assert_eq!(mirror(&mirror(&img)), img);
        assert_eq!(ink(&flip(&img)), ink(&img));
    }
}
