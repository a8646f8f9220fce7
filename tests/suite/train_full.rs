//! The acceptance runs of issue 2, slow on purpose: `cargo test --release -- --ignored`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use cnn_tutor::backend::{CpuBackend, DeviceChoice};
use cnn_tutor::data;
use cnn_tutor::train::{self, Outcome, TrainConfig};

/// The seed's protocol on 1,200 generated images (400 per class): at least 90% validation
/// accuracy after 5 epochs.
/// `cfg` on its folder, loaded whole.
fn prepared(cfg: TrainConfig) -> train::Prepared {
    let ds = Arc::new(data::load_folder(&cfg.data_dir).unwrap());
    train::Prepared::new(cfg, ds).unwrap()
}

#[test]
#[ignore = "trains 5 epochs on 1,200 images (about 15 s in release)"]
fn five_epochs_on_1200_generated_images_reach_90_percent() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shapes");
    data::generate(&dir, 400, 42).unwrap();
    let cfg = TrainConfig {
        data_dir: dir.clone(),
        device: DeviceChoice::Cpu,
        out: Some(tmp.path().join("m.safetensors")),
        ..TrainConfig::default()
    };
    let mut backend = CpuBackend::new(None).unwrap();
    let Outcome::Finished(s) = train::run(
        &prepared(cfg),
        &mut backend,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap() else {
        panic!("cancelled")
    };
    for e in &s.epochs {
        println!(
            "epoch {}: train loss {:.4}, val loss {:.4}, accuracy {:.4}, {:.0} images/s",
            e.epoch, e.train_loss, e.val_loss, e.val_accuracy, e.train_images_per_second
        );
    }
    let last = s.epochs.last().unwrap();
    assert!(last.val_accuracy >= 0.9, "{}", last.val_accuracy);
    assert!(last.train_loss < s.epochs[0].train_loss);
}

/// The same protocol on the course's own 1,200 JPEGs (`../shared/data/ms-learn-shapes`).
#[test]
#[ignore = "trains 5 epochs on the course's 1,200 JPEGs (about 15 s in release)"]
fn five_epochs_on_the_course_images_reach_90_percent() {
    let dir = crate::common::shared("data/ms-learn-shapes");
    if !dir.exists() {
        crate::common::missing_reference(format!("{} is absent", dir.display()));
        return;
    }
    let cfg = TrainConfig {
        data_dir: dir.clone(),
        device: DeviceChoice::Cpu,
        out: None,
        ..TrainConfig::default()
    };
    let mut backend = CpuBackend::new(None).unwrap();
    let Outcome::Finished(s) = train::run(
        &prepared(cfg),
        &mut backend,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap() else {
        panic!("cancelled")
    };
    let last = s.epochs.last().unwrap();
    println!("accuracy {:.4}", last.val_accuracy);
    assert!(last.val_accuracy >= 0.9, "{}", last.val_accuracy);
}
