//! Before training a network: how long an epoch would take on this machine (one
//! training step of a small batch timed on the CPU backend, after a first step that
//! allocates, per image, times the images of an epoch) and how much memory training it
//! takes ([`memory`]: what the CPU backend allocates), refused over a limit
//! ([`DEFAULT_MEMORY_LIMIT_MB`], `train --memory-limit-mb`).

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::{Backend, CpuBackend};
use crate::nn::adam::Adam;
use crate::nn::arch::{Layer, Plan};
use crate::nn::net::Net;
use crate::{Error, Result};

/// Most megabytes training may take before a network is refused (`--memory-limit-mb`).
pub const DEFAULT_MEMORY_LIMIT_MB: usize = 2048;

/// Batches the loader holds at once: two made ahead, the one in the step, one given back.
const LOADER_BATCHES: usize = 4;

/// Bytes training a network takes, by what holds them (f32 values, 4 bytes each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Activations and their gradients: every image's in a batch-norm network (its
    /// batch statistics need the whole batch), one image per thread otherwise; with the
    /// loader's input batches and the convolutions' unrolled windows.
    pub activations: usize,
    /// Parameters and buffers, their gradients (the run's and each thread's) and the
    /// optimizer's state (Adam: two moments; SGD: one momentum buffer).
    pub weights: usize,
}

impl Memory {
    /// All of it.
    pub fn total(&self) -> usize {
        self.activations + self.weights
    }
}

/// `bytes` as megabytes or gigabytes with one decimal (`310.2 MB`, `3.1 GB`).
pub fn bytes_text(bytes: usize) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb >= 1024.0 {
        format!("{:.1} GB", mb / 1024.0)
    } else {
        format!("{mb:.1} MB")
    }
}

/// What training `plan` with batches of `batch` on `threads` CPU threads allocates, with
/// `optimizer_values` values of optimizer state per trainable value (Adam 2, SGD 1).
pub fn memory(plan: &Plan, batch: usize, threads: usize, optimizer_values: usize) -> Memory {
    let all: usize = plan.tensors.iter().map(|t| t.len()).sum();
    let trainable: usize = plan
        .tensors
        .iter()
        .filter(|t| t.trainable)
        .map(|t| t.len())
        .sum();
    let threads = threads.max(1);
    let weights = all * (2 + threads) + trainable * optimizer_values;
    let batch_norm = plan
        .layers
        .iter()
        .any(|l| matches!(l.layer, Layer::BatchNorm));
    let slots = if batch_norm {
        batch
    } else {
        threads.min(batch)
    };
    // per image: every layer's output and its gradient, the padded input of a convolution
    // and its unrolled windows (the larger of the two)
    let per_image: usize = plan
        .layers
        .iter()
        .map(|l| {
            let scratch = match l.layer {
                Layer::Conv { k, .. } => {
                    let (cin, _) = l.input.channels();
                    let (_, out_hw) = l.output.channels();
                    (cin * k * k * out_hw).max(l.input.len() * 2)
                }
                _ => 0,
            };
            2 * l.output.len() + scratch
        })
        .sum::<usize>()
        + plan.input_len();
    let activations = slots * per_image + LOADER_BATCHES * batch * plan.input_len();
    Memory {
        activations: activations * 4,
        weights: weights * 4,
    }
}

/// `Err` (one line with the estimate) when training `plan` this way would take more than
/// `limit_mb` megabytes.
pub fn check_memory(
    plan: &Plan,
    batch: usize,
    threads: usize,
    optimizer_values: usize,
    limit_mb: usize,
) -> Result<Memory> {
    let m = memory(plan, batch, threads, optimizer_values);
    if m.total() > limit_mb.saturating_mul(1024 * 1024) {
        return Err(Error::Usage(format!(
            "this network would need about {} to train (activations {} for a batch of {batch}, weights, gradients and optimizer {}), over the limit of {limit_mb} MB: try a smaller batch, fewer channels or a larger stride (or --memory-limit-mb)",
            bytes_text(m.total()),
            bytes_text(m.activations),
            bytes_text(m.weights),
        )));
    }
    Ok(m)
}

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

    #[test]
    fn memory_grows_with_the_batch_only_with_batch_norm() {
        let course = Plan::course(3);
        let small = memory(&course, 50, 2, 2);
        // the course's net: 2 threads' images, 4 loader batches
        assert_eq!(memory(&course, 100, 2, 2).weights, small.weights);
        assert_eq!(
            memory(&course, 100, 2, 2).activations - small.activations,
            4 * 50 * course.input_len() * 4
        );
        assert!(
            small.total() < 200 * 1024 * 1024,
            "{}",
            bytes_text(small.total())
        );
        assert!(check_memory(&course, 50, 2, 2, DEFAULT_MEMORY_LIMIT_MB).is_ok());
        let arch =
            crate::nn::arch::Arch::parse("conv(64,3) batchnorm relu flatten linear").unwrap();
        let bn = Plan::new(&arch, crate::nn::arch::DEFAULT_INPUT, 3).unwrap();
        let e = check_memory(&bn, 500, 2, 2, DEFAULT_MEMORY_LIMIT_MB).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("GB to train") && text.contains("2048 MB"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }
}
