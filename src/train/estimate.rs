//! How long an epoch of a network would take on this machine, before training it: one
//! training step of a small batch timed on the CPU backend (after a first step that
//! allocates), per image, times the images of an epoch.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::{Backend, CpuBackend};
use crate::nn::adam::Adam;
use crate::nn::arch::Plan;
use crate::nn::net::Net;
use crate::Result;

/// Images in the timed batch.
const BATCH: usize = 16;

/// Seconds one training image takes (forward, backward and its share of the Adam step)
/// with `threads` CPU threads (None: all), measured on a random batch.
pub fn seconds_per_image(plan: &Plan, threads: Option<usize>) -> Result<f64> {
    let mut net = Net::new(plan.clone(), 1);
    let mut adam = Adam::new(0.001, &net.params);
    let mut backend = CpuBackend::new(threads)?;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let input: Vec<f32> = (0..BATCH * plan.input_len())
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let targets: Vec<usize> = (0..BATCH).map(|i| i % plan.classes).collect();
    backend.train_step(&mut net, &mut adam, &input, &targets, Some(&mut rng))?;
    let start = Instant::now();
    backend.train_step(&mut net, &mut adam, &input, &targets, Some(&mut rng))?;
    Ok(start.elapsed().as_secs_f64() / BATCH as f64)
}

/// Seconds of one epoch: `train` images trained on and `val` images evaluated (a forward
/// pass, about a third of a training step), at `per_image` seconds per training image.
pub fn epoch_seconds(per_image: f64, train: usize, val: usize) -> f64 {
    per_image * (train as f64 + val as f64 / 3.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_counts_training_and_a_third_for_validation() {
        assert_eq!(epoch_seconds(0.001, 840, 360), 0.001 * 960.0);
        let t = seconds_per_image(&Plan::course(3), Some(1)).unwrap();
        assert!(t > 0.0 && t.is_finite());
    }
}
