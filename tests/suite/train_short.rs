//! Short training runs on a few generated images: the loss goes down, events arrive in
//! order, cancel stops within a batch, and the saved checkpoint round-trips.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use cnn_tutor::backend::{Backend, CpuBackend, DeviceChoice};
use cnn_tutor::data;
use cnn_tutor::nn::checkpoint;
use cnn_tutor::train::{self, DataOptions, Outcome, Prepared, TrainConfig, TrainEvent};

fn small_dataset(dir: &Path, per_class: usize) -> Arc<data::Dataset> {
    data::generate(dir, per_class, 7).unwrap();
    Arc::new(data::load_folder(dir).unwrap())
}

/// A prepared run of the test settings on `dataset` (epochs and batch size may be changed
/// afterwards: they do not change the split).
fn config(dataset: Arc<data::Dataset>, out: Option<std::path::PathBuf>) -> Prepared {
    let config = TrainConfig {
        data_dir: "unused".into(),
        epochs: 3,
        batch_size: 10,
        lr: 0.001,
        seed: 1,
        device: DeviceChoice::Cpu,
        threads: Some(2),
        out,
        ..TrainConfig::default()
    };
    Prepared::new(config, dataset).unwrap()
}

#[test]
fn a_short_run_lowers_the_loss_and_saves_a_checkpoint_that_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = small_dataset(&tmp.path().join("shapes"), 20);
    let out = tmp.path().join("models/net.safetensors");
    let cfg = config(Arc::clone(&ds), Some(out.clone()));
    let mut backend = CpuBackend::new(Some(2)).unwrap();
    let mut events = Vec::new();
    let outcome = train::run(&cfg, &mut backend, &AtomicBool::new(false), &mut |e| {
        events.push(e)
    })
    .unwrap();
    let Outcome::Finished(summary) = outcome else {
        panic!("not cancelled")
    };

    // 60 images: 42 train (5 batches of 10, the last of 2), 18 validation
    match &events[0] {
        TrainEvent::Started {
            train_size,
            val_size,
            batches_per_epoch,
            ..
        } => assert_eq!((*train_size, *val_size, *batches_per_epoch), (42, 18, 5)),
        e => panic!("first event {e:?}"),
    }
    let batches = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Batch { .. }))
        .count();
    assert_eq!(batches, 15);
    assert_eq!(summary.epochs.len(), 3);
    let first = summary.epochs[0].train_loss;
    let last = summary.epochs[2].train_loss;
    assert!(last < first, "loss went {first} -> {last}");
    for e in &summary.epochs {
        assert!(e.val_loss.is_finite() && (0.0..=1.0).contains(&e.val_accuracy));
        assert!(e.train_images_per_second > 0.0);
    }
    assert_eq!(summary.confusion.total(), 18);

    // the checkpoint: same tensors, class names and settings in the metadata
    let (net, meta) = checkpoint::load(&out).unwrap();
    assert_eq!(net, summary.net);
    assert_eq!(meta.classes, ["circle", "square", "triangle"]);
    assert_eq!(meta.settings["epochs"], "3");
    assert_eq!(meta.settings["seed"], "1");
    // and it predicts the same on the validation images as the trained net
    let mut x = vec![0.0; 4 * data::IMAGE_LEN];
    ds.normalized_into(&[0, 1, 2, 3], &mut x);
    let a = backend.predict(&summary.net, &x).unwrap();
    let b = backend.predict(&net, &x).unwrap();
    assert_eq!(a, b);
}

#[test]
fn the_same_seed_trains_the_same_net() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = small_dataset(&tmp.path().join("shapes"), 4);
    let run = |threads| {
        let mut cfg = config(Arc::clone(&ds), None);
        cfg.config.epochs = 1;
        let mut backend = CpuBackend::new(Some(threads)).unwrap();
        match train::run(&cfg, &mut backend, &AtomicBool::new(false), &mut |_| {}).unwrap() {
            Outcome::Finished(s) => s.net,
            Outcome::Cancelled { .. } => panic!("cancelled"),
        }
    };
    assert_eq!(run(2), run(2));
    // another thread count sums the gradients in another order: equal to rounding
    let (a, b) = (run(1), run(2));
    for (p, q) in a.params.iter().zip(&b.params) {
        let d = p
            .data
            .iter()
            .zip(&q.data)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(d < 1e-5, "{}: {d}", p.name);
    }
}

#[test]
fn a_run_on_another_thread_reports_events_and_cancel_stops_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = small_dataset(&tmp.path().join("shapes"), 20);
    let out = tmp.path().join("never.safetensors");
    let mut cfg = config(ds, Some(out.clone()));
    cfg.config.epochs = 50;
    cfg.config.batch_size = 2;
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let flag = Arc::clone(&cancel);
    let worker = std::thread::spawn(move || {
        let mut backend = CpuBackend::new(Some(2)).unwrap();
        let outcome = train::run(&cfg, &mut backend, &flag, &mut |e| {
            let _ = tx.send(e);
        });
        let _ = tx.send(match outcome.unwrap() {
            Outcome::Finished(s) => TrainEvent::Finished(s),
            Outcome::Cancelled { epochs_done } => TrainEvent::Cancelled { epochs_done },
        });
    });
    let mut batches = 0;
    loop {
        match rx.recv_timeout(Duration::from_secs(60)).unwrap() {
            TrainEvent::Batch { .. } => {
                batches += 1;
                if batches == 2 {
                    cancel.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
            TrainEvent::Cancelled { epochs_done } => {
                // the worker may have run ahead of this receiver by a few batches,
                // but never to the end of the first of fifty epochs
                assert_eq!(epochs_done, 0);
                break;
            }
            TrainEvent::Finished(_) | TrainEvent::Failed(_) => panic!("should be cancelled"),
            _ => {}
        }
    }
    assert!(batches < 21, "{batches} batches: the first epoch has 21");
    worker.join().unwrap();
    assert!(!out.exists(), "a cancelled run saves nothing");
}

#[test]
fn cancel_stops_the_loop_before_the_next_batch() {
    // run() on this thread: the flag is set from inside the sink, so the count is exact
    let tmp = tempfile::tempdir().unwrap();
    let ds = small_dataset(&tmp.path().join("shapes"), 20);
    let mut cfg = config(ds, None);
    cfg.config.epochs = 50;
    cfg.config.batch_size = 2;
    let cancel = AtomicBool::new(false);
    let mut backend = CpuBackend::new(Some(1)).unwrap();
    let mut batches = 0;
    let outcome = train::run(&cfg, &mut backend, &cancel, &mut |e| {
        if let TrainEvent::Batch { .. } = e {
            batches += 1;
            if batches == 2 {
                cancel.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    })
    .unwrap();
    assert!(matches!(outcome, Outcome::Cancelled { epochs_done: 0 }));
    assert_eq!(batches, 2, "no batch starts after cancel()");
}

/// `prepare` checks the settings before it touches the device or the data.
#[test]
fn prepare_rejects_bad_settings_before_reading_data() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = TrainConfig {
        epochs: 0,
        data_dir: tmp.path().join("data/shapes"),
        device: DeviceChoice::Cpu,
        ..TrainConfig::default()
    };
    let mut notes = Vec::new();
    let cancel = AtomicBool::new(false);
    let err = train::prepare(
        cfg.clone(),
        DataOptions::default(),
        &mut |n| notes.push(n),
        &cancel,
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("--epochs"), "{err}");
    assert_eq!(err.exit_code(), 2);
    cfg.epochs = 1;
    cfg.batch_size = 0;
    let err = train::prepare(cfg, DataOptions::default(), &mut |n| notes.push(n), &cancel)
        .err()
        .unwrap();
    assert!(err.to_string().contains("--batch-size"), "{err}");
    assert!(notes.is_empty(), "{notes:?}");
    assert!(!tmp.path().join("data").exists(), "no data was made");
}

#[test]
fn a_missing_data_folder_is_one_line_naming_it() {
    let cfg = TrainConfig {
        data_dir: "/nonexistent/cnn-tutor/shapes".into(),
        out: None,
        device: DeviceChoice::Cpu,
        ..TrainConfig::default()
    };
    let err = train::prepare(
        cfg,
        DataOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("/nonexistent/cnn-tutor/shapes"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

/// The default folder is drawn when missing, the images are loaded within the budget,
/// split 70/30 and the network placed on the data's classes, with a note for each step.
#[test]
fn prepare_makes_the_default_folder_and_splits_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    // the default folder is `data/shapes` relative to where the command runs; here an
    // absolute path is not the default, so it is not made ...
    let cfg = TrainConfig {
        data_dir: cwd.join("data/shapes"),
        device: DeviceChoice::Cpu,
        out: None,
        ..TrainConfig::default()
    };
    let err = train::prepare(
        cfg,
        DataOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
    // ... and a folder that exists is loaded, split and planned
    data::generate(&cwd.join("mine"), 5, 2).unwrap();
    let cfg = TrainConfig {
        data_dir: cwd.join("mine"),
        device: DeviceChoice::Cpu,
        out: None,
        ..TrainConfig::default()
    };
    let mut notes = Vec::new();
    let ready = train::prepare(
        cfg,
        DataOptions {
            cache_mb: 1,
            make_default: true,
        },
        &mut |n| notes.push(n),
        &AtomicBool::new(false),
    )
    .unwrap()
    .expect("not cancelled");
    let p = &ready.run;
    assert_eq!((p.train_idx.len(), p.val_idx.len()), (10, 5));
    assert_eq!(p.plan.classes, 3);
    assert_eq!(p.classes(), ["circle", "square", "triangle"]);
    assert!(
        notes.iter().any(|n| n.starts_with("memory: all 15 images")),
        "{notes:?}"
    );
    let meta = p.checkpoint_meta(&[]);
    assert_eq!(meta.settings["train_size"], "10");
    assert_eq!(meta.settings["val_size"], "5");
    // cancelled while the data is read: nothing to run
    let cfg = TrainConfig {
        data_dir: cwd.join("mine"),
        device: DeviceChoice::Cpu,
        ..TrainConfig::default()
    };
    let none = train::prepare(
        cfg,
        DataOptions::default(),
        &mut |_| {},
        &AtomicBool::new(true),
    );
    assert!(none.unwrap().is_none());
}
