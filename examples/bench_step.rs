//! Time one training step (batch 50, dropouts on) and one eval batch on the CPU backend.
//! `cargo run --release --example bench_step -- [threads] [--profile] [--arch TEXT]`;
//! prints the best of 15 runs, which filters out noise from other processes. `--profile`
//! then runs 10 more training steps with every stage timed and prints where one image's
//! time goes. `--arch` times another network (the course's by default).

use std::time::Instant;

use cnn_tutor::backend::{Backend, CpuBackend};
use cnn_tutor::nn::adam::Adam;
use cnn_tutor::nn::arch::{Arch, Plan, DEFAULT_INPUT};
use cnn_tutor::nn::net::{Net, IN_LEN};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profile = args.iter().any(|a| a == "--profile");
    let arch = match args.iter().position(|a| a == "--arch") {
        Some(i) => {
            let text = args.get(i + 1).map(String::as_str).unwrap_or("");
            match Arch::parse(text) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(2);
                }
            }
        }
        None => Arch::course(),
    };
    let threads: usize = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .find_map(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n = 50;
    let x: Vec<f32> = (0..n * IN_LEN).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let t: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let plan = match Plan::new(&arch, DEFAULT_INPUT, 3) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let flops = plan.flops();
    let mut net = Net::new(plan, 1);
    let mut adam = Adam::new(0.001, &net.params);
    let mut be = match CpuBackend::new(Some(threads)) {
        Ok(be) => be,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
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
    // forward FLOPs per image from the plan; a training step is about three times that
    // (forward, input gradient, weight gradient)
    println!(
        "{}: {:.1} MFLOP forward per image, about {:.0} GFLOP/s training",
        arch,
        flops as f64 / 1e6,
        3.0 * flops as f64 * n as f64 / best_train / 1e9
    );
    if profile {
        let steps = 10;
        be.set_profiling(true);
        let t0 = Instant::now();
        for _ in 0..steps {
            be.train_step(&mut net, &mut adam, &x, &t, Some(&mut rng))
                .expect("step");
        }
        let wall = t0.elapsed().as_secs_f64();
        let stages = be.profile();
        let images = (steps * n) as f64;
        let busy: f64 = stages.iter().map(|s| s.1).sum();
        // thread time outside the stages: batch split, gradient sums, Adam, waiting
        let other = (wall * threads as f64 - busy).max(0.0);
        println!("per image, {threads} thread(s), {steps} steps of {n}:");
        for (name, secs) in stages
            .iter()
            .map(|(n, s)| (n.as_str(), *s))
            .chain([("other", other)])
        {
            println!(
                "  {name:<26} {:>8.1} us  {:>5.1}%",
                secs / images * 1e6,
                100.0 * secs / (busy + other)
            );
        }
        println!(
            "  {:<26} {:>8.1} us",
            "total (thread time)",
            (busy + other) / images * 1e6
        );
        // each thread's time in the stages against the wall clock: what is left is the
        // gradient sums, Adam and waiting for the other threads at the end of a batch
        let per: Vec<String> = be
            .thread_busy()
            .iter()
            .enumerate()
            .map(|(i, b)| {
                format!(
                    "thread {} {:.1} ms ({:.0}%)",
                    i + 1,
                    b * 1e3,
                    100.0 * b / wall
                )
            })
            .collect();
        println!(
            "busy over {steps} steps ({:.1} ms wall): {}",
            wall * 1e3,
            per.join(", ")
        );
    }
}
