//! Criterion benchmarks of the CPU engine: `cargo bench --features bench` (or
//! `cargo bench --features bench -- conv` for a subset). One training step of 50 images, one short epoch (70 training + 30 validation
//! images drawn in memory), and the three 3x3 convolutions of the shapes net per layer
//! shape: forward, weight gradient, input gradient. Two worker threads, as PyTorch is
//! compared with in `scripts/compare.sh`.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use cnn_tutor::backend::{Backend, CpuBackend, DeviceChoice};
use cnn_tutor::data::shapes::image_rng;
use cnn_tutor::data::{create_image, rgb_to_chw, Dataset, Shape};
use cnn_tutor::nn::adam::Adam;
use cnn_tutor::nn::direct::{conv3x3_forward, conv3x3_weight_grad, flip_weights, pad1};
use cnn_tutor::nn::net::{
    Net, C1, C2, C3, IMAGE_SIDE, IN_CHANNELS, IN_LEN, POOL1_SIDE, POOL2_SIDE,
};
use cnn_tutor::train::{self, TrainConfig};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const THREADS: usize = 2;
const BATCH: usize = 50;

/// `n` floats uniform in [-1, 1).
fn noise(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

fn backend() -> CpuBackend {
    CpuBackend::new(Some(THREADS)).unwrap_or_else(|e| panic!("cannot start threads: {e}"))
}

fn train_step(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = noise(BATCH * IN_LEN, &mut rng);
    let t: Vec<usize> = (0..BATCH).map(|i| i % 3).collect();
    let mut net = Net::course(1, 3);
    let mut adam = Adam::new(0.001, &net.params);
    let mut be = backend();
    let mut g = c.benchmark_group("train");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("step_batch50_2threads", |b| {
        b.iter(|| {
            be.train_step(&mut net, &mut adam, &x, &t, Some(&mut rng))
                .unwrap_or_else(|e| panic!("step: {e}"))
        })
    });
    g.bench_function("predict_batch50_2threads", |b| {
        b.iter(|| {
            be.predict(&net, &x)
                .unwrap_or_else(|e| panic!("predict: {e}"))
        })
    });
    g.finish();
}

/// 100 images of the seed's recipe, drawn in memory (no files).
fn small_dataset() -> Dataset {
    let per_class = 34;
    let mut ds = Dataset {
        classes: Shape::ALL.iter().map(|s| s.name().to_string()).collect(),
        files: Vec::new(),
        labels: Vec::new(),
        pixels: Vec::new(),
    };
    for shape in Shape::ALL {
        for i in 0..per_class {
            let img = create_image(shape, &mut image_rng(7, shape, i));
            ds.files.push(format!("{}/{i}.png", shape.name()).into());
            ds.labels.push(shape.index());
            ds.pixels.extend(rgb_to_chw(&img));
        }
    }
    ds
}

fn epoch(c: &mut Criterion) {
    let ds = Arc::new(small_dataset());
    let config = TrainConfig {
        epochs: 1,
        threads: Some(THREADS),
        device: DeviceChoice::Cpu,
        out: None,
        ..TrainConfig::default()
    };
    let config = train::Prepared::new(config, Arc::clone(&ds)).expect("prepared");
    let mut be = backend();
    let cancel = AtomicBool::new(false);
    let mut g = c.benchmark_group("train");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ds.len() as u64));
    g.bench_function("epoch_102_images_2threads", |b| {
        b.iter(|| {
            train::run(&config, &mut be, &cancel, &mut |_| {})
                .unwrap_or_else(|e| panic!("epoch: {e}"))
        })
    });
    g.finish();
}

/// conv1 3->12 @128, conv2 12->12 @64, conv3 12->24 @32: forward, weight gradient and
/// input gradient of one image, on the calling thread. (Training never needs conv1's input
/// gradient; it is here for completeness.)
fn conv_layers(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut g = c.benchmark_group("conv3x3");
    g.measurement_time(Duration::from_secs(3));
    for (name, cin, cout, side) in [
        ("conv1_3to12_128", IN_CHANNELS, C1, IMAGE_SIDE),
        ("conv2_12to12_64", C1, C2, POOL1_SIDE),
        ("conv3_12to24_32", C2, C3, POOL2_SIDE),
    ] {
        let padded = |ch: usize| ch * (side + 2) * (side + 2);
        let x = noise(cin * side * side, &mut rng);
        let mut xp = vec![0.0; padded(cin)];
        pad1(&x, cin, side, side, &mut xp);
        let wt = noise(cout * cin * 9, &mut rng);
        let bias = noise(cout, &mut rng);
        let mut out = vec![0.0; cout * side * side];
        let dout = noise(cout * side * side, &mut rng);
        let mut doutp = vec![0.0; padded(cout)];
        pad1(&dout, cout, side, side, &mut doutp);
        let mut wf = vec![0.0; wt.len()];
        flip_weights(&wt, cout, cin, &mut wf);
        let mut dw = vec![0.0; wt.len()];
        let mut db = vec![0.0; cout];
        let mut dx = vec![0.0; cin * side * side];
        // multiply-adds of one pass, so criterion reports them per second
        g.throughput(Throughput::Elements((cout * cin * 9 * side * side) as u64));
        g.bench_with_input(BenchmarkId::new("forward", name), &(), |b, _| {
            b.iter(|| {
                conv3x3_forward(
                    black_box(&xp),
                    cin,
                    side,
                    side,
                    &wt,
                    Some(&bias),
                    cout,
                    &mut out,
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("weight_grad", name), &(), |b, _| {
            b.iter(|| {
                conv3x3_weight_grad(
                    black_box(&xp),
                    cin,
                    side,
                    side,
                    &dout,
                    cout,
                    &mut dw,
                    &mut db,
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("input_grad", name), &(), |b, _| {
            b.iter(|| conv3x3_forward(black_box(&doutp), cout, side, side, &wf, None, cin, &mut dx))
        });
    }
    g.finish();
}

criterion_group!(benches, train_step, epoch, conv_layers);
criterion_main!(benches);
