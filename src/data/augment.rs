//! Varying the training images between epochs, as the course suggests ("randomly
//! flipping, mirroring, or skewing the training images to generate data that varies
//! between training epochs"): one [`Augment`] says which of the three changes an image
//! gets, and [`Augment::source`] is the one rule of where each pixel comes from. The
//! dropout lesson's pictures ([`super::shapes::flip`], `mirror`, `skew`: RGB images) and
//! training (`train --augment`: normalised CHW batches, [`Augment::apply_chw`]) both go
//! through it.

use image::{Rgb, RgbImage};
use rand::Rng;

/// The largest slant training draws, in pixels per pixel (the lesson's picture uses 0.3).
pub const MAX_SHEAR: f32 = 0.15;

/// The normalised value of a white pixel ((255/255 - 0.5) / 0.5): what a slant uncovers.
pub const WHITE: f32 = 1.0;

/// Which changes one image gets: upside down, mirrored, slanted by `shear` (0: not).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Augment {
    /// Upside down (the top row becomes the bottom row).
    pub flip: bool,
    /// Left-right mirror image.
    pub mirror: bool,
    /// Slant: each row shifts by `(y - h/2) * shear` pixels (after flipping and mirroring).
    pub shear: f32,
}

impl Augment {
    /// A random choice: each of flip, mirror and slant with probability 1/2, the slant
    /// uniform in `[-MAX_SHEAR, MAX_SHEAR)`. Always four draws from `rng`, in this order.
    pub fn draw(rng: &mut impl Rng) -> Augment {
        let flip = rng.gen_bool(0.5);
        let mirror = rng.gen_bool(0.5);
        let slant = rng.gen_bool(0.5);
        let shear = rng.gen_range(-MAX_SHEAR..MAX_SHEAR);
        Augment {
            flip,
            mirror,
            shear: if slant { shear } else { 0.0 },
        }
    }

    /// Whether the image is left as it is.
    pub fn is_identity(&self) -> bool {
        !self.flip && !self.mirror && self.shear == 0.0
    }

    /// Where output pixel `(x, y)` of a `w` x `h` image comes from (`None`: uncovered by
    /// the slant, filled white).
    pub fn source(&self, x: usize, y: usize, w: usize, h: usize) -> Option<(usize, usize)> {
        let mut sx = x;
        if self.shear != 0.0 {
            let shift = (y as f32 - h as f32 / 2.0) * self.shear;
            let s = (x as f32 - shift).round();
            if !(s >= 0.0 && s < w as f32) {
                return None;
            }
            sx = s as usize;
        }
        let sx = if self.mirror { w - 1 - sx } else { sx };
        let sy = if self.flip { h - 1 - y } else { y };
        Some((sx, sy))
    }

    /// This change of an RGB picture (uncovered pixels white).
    pub fn apply_rgb(&self, img: &RgbImage) -> RgbImage {
        let (w, h) = (img.width() as usize, img.height() as usize);
        RgbImage::from_fn(img.width(), img.height(), |x, y| {
            match self.source(x as usize, y as usize, w, h) {
                Some((sx, sy)) => *img.get_pixel(sx as u32, sy as u32),
                None => Rgb([255, 255, 255]),
            }
        })
    }

    /// This change of one normalised image in place, laid out channels x `h` x `w`
    /// (uncovered values [`WHITE`]); `scratch` is reused between calls.
    pub fn apply_chw(&self, img: &mut [f32], h: usize, w: usize, scratch: &mut Vec<f32>) {
        if self.is_identity() || h == 0 || w == 0 {
            return;
        }
        scratch.clear();
        scratch.extend_from_slice(img);
        for (plane, src) in img.chunks_mut(h * w).zip(scratch.chunks(h * w)) {
            for y in 0..h {
                for x in 0..w {
                    plane[y * w + x] = match self.source(x, y, w, h) {
                        Some((sx, sy)) => src[sy * w + sx],
                        None => WHITE,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn chw(img: &RgbImage) -> Vec<f32> {
        (0..3)
            .flat_map(|c| img.pixels().map(move |p| f32::from(p.0[c])))
            .collect()
    }

    #[test]
    fn chw_and_rgb_move_the_same_pixels() {
        let rgb = RgbImage::from_fn(7, 5, |x, y| Rgb([(x * 10 + y) as u8, 0, 200]));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20 {
            let a = Augment::draw(&mut rng);
            let out = a.apply_rgb(&rgb);
            let mut x = chw(&rgb).iter().map(|v| v - 1000.0).collect::<Vec<_>>();
            a.apply_chw(&mut x, 5, 7, &mut Vec::new());
            // uncovered values: WHITE here, 255 there
            let want: Vec<f32> = chw(&out).iter().map(|v| v - 1000.0).collect();
            for (got, want) in x.iter().zip(&want) {
                assert!(got == want || (*got == WHITE && *want == -745.0), "{a:?}");
            }
        }
        // flip and mirror are image::imageops' flips
        let flip = Augment {
            flip: true,
            ..Augment::default()
        };
        assert_eq!(flip.apply_rgb(&rgb), image::imageops::flip_vertical(&rgb));
        let mirror = Augment {
            mirror: true,
            ..Augment::default()
        };
        assert_eq!(
            mirror.apply_rgb(&rgb),
            image::imageops::flip_horizontal(&rgb)
        );
    }
}
