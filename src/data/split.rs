//! The seeded 70/30 split of the seed's `load_dataset`.
//!
//! ```python
//! train_size = int(0.7 * len(full_dataset))
//! train_dataset, test_dataset = torch.utils.data.random_split(full_dataset, [train_size, test_size])
//! ```
//!
//! `random_split` takes a random permutation of all indices and cuts it: the first
//! `train_size` go to training, the rest to validation, each in permutation order (the
//! seed's loaders do not shuffle further). We draw the permutation with a seeded ChaCha8
//! generator (PyTorch's own generator cannot be reproduced here, so the same seed picks
//! different images than PyTorch would; the sizes are the same).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The training share, as the seed writes it.
pub const TRAIN_FRACTION: f64 = 0.7;

/// Size of the training part of `n` images: `int(0.7 * n)` computed in f64 as Python does
/// (so 90 images give 62, since `0.7 * 90` is 62.99999999999999).
pub fn train_size(n: usize) -> usize {
    (TRAIN_FRACTION * n as f64) as usize
}

/// Seeded 70/30 split of `n` images: (train indices, validation indices), each in the
/// order of one seeded random permutation. Together they hold every index once.
pub fn split(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let val = order.split_off(train_size(n));
    (order, val)
}

/// Cut `indices` into batches of `batch_size` (the last one may be smaller), in order,
/// as a `DataLoader(shuffle=False)` does.
///
/// # Panics
/// If `batch_size` is 0.
pub fn batches(indices: &[usize], batch_size: usize) -> std::slice::Chunks<'_, usize> {
    assert!(batch_size > 0, "batch size must be at least 1");
    indices.chunks(batch_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_pythons_int_of_a_float() {
        assert_eq!(train_size(1200), 840);
        assert_eq!(train_size(30), 21);
        assert_eq!(train_size(90), 62);
        assert_eq!(train_size(180), 125);
        assert_eq!(train_size(10), 7);
        assert_eq!(train_size(0), 0);
        assert_eq!(train_size(1), 0);
    }

    #[test]
    fn split_is_a_seeded_permutation() {
        let (t, v) = split(1200, 3);
        assert_eq!((t.len(), v.len()), (840, 360));
        let mut all: Vec<usize> = t.iter().chain(&v).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1200).collect::<Vec<_>>());
        assert_eq!(split(1200, 3), (t.clone(), v));
        assert_ne!(split(1200, 4).0, t);
        assert_ne!(t[..10], (0..10).collect::<Vec<_>>()[..], "shuffled");
    }

    #[test]
    fn batches_of_fifty() {
        let (t, v) = split(1200, 0);
        let sizes: Vec<usize> = batches(&t, 50).map(<[usize]>::len).collect();
        assert_eq!(sizes.len(), 17);
        assert_eq!(sizes[16], 40);
        assert_eq!(batches(&v, 50).count(), 8);
    }
}
