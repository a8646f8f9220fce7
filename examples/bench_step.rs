//! Time one training step (batch 50, dropouts on) and one eval batch on the CPU backend.
//! `cargo run --release --example bench_step -- [threads]`; prints the best of 15 runs,
//! which filters out noise from other processes.

use std::time::Instant;

use cnn_tutor::backend::{Backend, CpuBackend};
use cnn_tutor::nn::adam::Adam;
use cnn_tutor::nn::net::ShapesNet;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n = 50;
    let x: Vec<f32> = (0..n * 3 * 128 * 128)
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let t: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let mut net = ShapesNet::new(1, 3);
    let mut adam = Adam::new(0.001, &net.params);
    let mut be = CpuBackend::new(Some(threads)).expect("threads");
    let mut best_train = f64::MAX;
    let mut best_eval = f64::MAX;
    for _ in 0..15 {
        let t0 = Instant::now();
        be.train_step(&mut net, &mut adam, &x, &t, Some(&mut rng))
            .expect("step");
        best_train = best_train.min(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        be.predict(&net, &x).expect("predict");
        best_eval = best_eval.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "{threads} thread(s): train {:.0} images/s ({:.1} ms/batch), eval {:.0} images/s",
        n as f64 / best_train,
        best_train * 1e3,
        n as f64 / best_eval
    );
}
