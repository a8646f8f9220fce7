//! Dropout's facts, written once: the scale of a kept value, how one uniform draw becomes a
//! mask value, and where a batch's masks lie in the generator's stream. The reference ops
//! ([`crate::nn::ops::dropout`]), the CPU backend and the CUDA backend (whose
//! `chacha8_mask` kernel draws the same words on the device) all take them from here.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The value a kept element is multiplied by, 1/(1-p), so that the expected output equals
/// the input (PyTorch's inverted dropout); 0 when `p >= 1` (everything is dropped).
pub fn keep_scale(p: f32) -> f32 {
    if p >= 1.0 {
        0.0
    } else {
        1.0 / (1.0 - p)
    }
}

/// One mask value from one uniform draw `u` in [0, 1): 0 (dropped) when `u < p`, else
/// `keep` (= [`keep_scale`]`(p)`).
#[inline]
pub fn mask_value(u: f32, p: f32, keep: f32) -> f32 {
    if u < p {
        0.0
    } else {
        keep
    }
}

/// One mask value drawn from `rng`: one `f32` (one 32-bit word of a ChaCha generator).
#[inline]
pub fn draw(rng: &mut impl Rng, p: f32, keep: f32) -> f32 {
    mask_value(rng.gen::<f32>(), p, keep)
}

/// The uniform draw in [0, 1) that `rng.gen::<f32>()` makes of one 32-bit word: its top
/// 24 bits times 2^-24 (rand's `Standard` for `f32`).
#[inline]
fn unit_f32(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// Fill `mask` with values drawn one after another from `rng`: 0 (probability `p`) or
/// 1/(1-p). The same values as [`draw`] one at a time, from words taken 256 at a time.
pub fn fill_mask(mask: &mut [f32], p: f32, rng: &mut impl Rng) {
    let keep = keep_scale(p);
    let mut words = [0u32; 256];
    for chunk in mask.chunks_mut(words.len()) {
        let w = &mut words[..chunk.len()];
        rng.fill(w);
        for (m, &u) in chunk.iter_mut().zip(w.iter()) {
            *m = mask_value(unit_f32(u), p, keep);
        }
    }
}

/// Where one batch's dropout masks lie in the generator's stream: one 32-bit word per mask
/// value, one segment per dropout layer in layer order, each holding every image's masks
/// (`units[s]` values per image: its channels for `dropout2d`, its values for `dropout`),
/// image after image. Drawn in that order in one sequence they give the masks that any
/// split of the batch (CPU threads, GPU threads) must reproduce. (The course's net: its
/// 24 channel masks per image, then its 24,576 element masks per image.)
#[derive(Debug, Clone)]
pub struct MaskStream {
    rng: ChaCha8Rng,
    base: u128,
    images: usize,
    units: Vec<usize>,
}

impl MaskStream {
    /// The masks of `images` images with `units` values per image in each segment,
    /// starting where `rng` stands; `rng` is moved past them (where drawing them in one
    /// sequence would leave it).
    pub fn take(rng: &mut ChaCha8Rng, images: usize, units: &[usize]) -> Self {
        let base = rng.get_word_pos();
        let stream = MaskStream {
            rng: rng.clone(),
            base,
            images,
            units: units.to_vec(),
        };
        let total: usize = units.iter().map(|u| u * images).sum();
        rng.set_word_pos(base + total as u128);
        stream
    }

    /// The generator, standing at the first mask word (its seed and stream number are what
    /// a device needs to draw the same words).
    pub fn generator(&self) -> &ChaCha8Rng {
        &self.rng
    }

    /// Word position of the first mask value of image `image` in segment `seg`.
    pub fn at(&self, seg: usize, image: usize) -> u128 {
        let before: usize = self.units[..seg].iter().map(|u| u * self.images).sum();
        self.base + (before + image * self.units[seg]) as u128
    }

    /// The masks of segment `seg` for the images from `first` on, `out.len() / units`
    /// of them, dropped with probability `p`.
    pub fn fill(&self, seg: usize, first: usize, out: &mut [f32], p: f32) {
        let mut rng = self.rng.clone();
        rng.set_word_pos(self.at(seg, first));
        fill_mask(out, p, &mut rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn keep_scale_is_one_over_one_minus_p() {
        assert_eq!(keep_scale(0.5), 2.0);
        assert_eq!(keep_scale(0.2), 1.25);
        assert_eq!(keep_scale(0.0), 1.0);
        assert_eq!(keep_scale(1.0), 0.0);
        assert_eq!(mask_value(0.1, 0.2, 1.25), 0.0);
        assert_eq!(mask_value(0.2, 0.2, 1.25), 1.25);
    }

    /// Words taken in bulk give the masks of one draw at a time, and leave the generator
    /// where those draws leave it.
    #[test]
    fn bulk_masks_equal_one_draw_at_a_time() {
        for n in [0, 1, 255, 256, 257, 1000] {
            let mut a = ChaCha8Rng::seed_from_u64(9);
            let mut b = a.clone();
            let _ = (a.gen::<u32>(), b.gen::<u32>()); // start mid-block
            let mut got = vec![0.0; n];
            fill_mask(&mut got, 0.3, &mut a);
            let keep = keep_scale(0.3);
            let want: Vec<f32> = (0..n).map(|_| draw(&mut b, 0.3, keep)).collect();
            assert_eq!(got, want, "{n}");
            assert_eq!(a.get_word_pos(), b.get_word_pos(), "{n}");
        }
    }

    #[test]
    fn any_split_of_the_stream_gives_the_masks_of_one_sequence() {
        let (n, ch, el) = (5, 3, 7);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let stream = MaskStream::take(&mut rng, n, &[ch, el]);
        let mut seq = ChaCha8Rng::seed_from_u64(4);
        let mut want_ch = vec![0.0; n * ch];
        let mut want_el = vec![0.0; n * el];
        fill_mask(&mut want_ch, 0.2, &mut seq);
        fill_mask(&mut want_el, 0.5, &mut seq);
        // the generator ends where one sequence leaves it
        assert_eq!(rng.gen::<u64>(), seq.gen::<u64>());
        let (mut got_ch, mut got_el) = (vec![0.0; n * ch], vec![0.0; n * el]);
        for (a, b) in [(0, 2), (2, 3), (3, 5)] {
            stream.fill(0, a, &mut got_ch[a * ch..b * ch], 0.2);
            stream.fill(1, a, &mut got_el[a * el..b * el], 0.5);
        }
        assert_eq!(got_ch, want_ch);
        assert_eq!(got_el, want_el);
        assert!(want_el.contains(&0.0) && want_el.contains(&2.0));
    }
}
