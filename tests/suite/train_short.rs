//! Short training runs on a few generated images: the loss goes down, events arrive in
//! order, cancel stops within a batch, and the saved checkpoint round-trips.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use cnn_tutor::backend::{Backend, CpuBackend, DeviceChoice};
use cnn_tutor::data;
use cnn_tutor::nn::checkpoint;
use cnn_tutor::train::{self, Outcome, TrainConfig, TrainEvent};

fn small_dataset(dir: &Path, per_class: usize) -> Arc<data::Dataset> {
    data::generate(dir, per_class, 7).unwrap();
    Arc::new(data::load_folder(dir).unwrap())
}

fn config(dataset: Arc<data::Dataset>, out: Option<std::path::PathBuf>) -> TrainConfig {
    TrainConfig {
        data_dir: "unused".into(),
        dataset: Some(dataset),
        epochs: 3,
        batch_size: 10,
        lr: 0.001,
        seed: 1,
        device: DeviceChoice::Cpu,
        threads: Some(2),
        out,
        ..TrainConfig::default()
    }
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
        cfg.epochs = 1;
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
fn spawn_reports_events_and_cancel_stops_the_worker() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = small_dataset(&tmp.path().join("shapes"), 20);
    let out = tmp.path().join("never.safetensors");
    let mut cfg = config(ds, Some(out.clone()));
    cfg.epochs = 50;
    cfg.batch_size = 2;
    let (rx, handle) = train::spawn(cfg).unwrap();
    let mut batches = 0;
    loop {
        match rx.recv_timeout(Duration::from_secs(60)).unwrap() {
            TrainEvent::Batch { .. } => {
                batches += 1;
                if batches == 2 {
                    handle.cancel();
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
    handle.join();
    assert!(!out.exists(), "a cancelled run saves nothing");
}

#[test]
fn cancel_stops_the_loop_before_the_next_batch() {
    // run() on this thread: the flag is set from inside the sink, so the count is exact
    let tmp = tempfile::tempdir().unwrap();
    let ds = small_dataset(&tmp.path().join("shapes"), 20);
    let mut cfg = config(ds, None);
    cfg.epochs = 50;
    cfg.batch_size = 2;
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

#[test]
fn spawn_rejects_bad_settings_at_once() {
    let mut cfg = TrainConfig {
        epochs: 0,
        ..TrainConfig::default()
    };
    let err = train::spawn(cfg.clone()).unwrap_err();
    assert!(err.to_string().contains("--epochs"), "{err}");
    assert_eq!(err.exit_code(), 2);
    cfg.epochs = 1;
    cfg.batch_size = 0;
    assert!(train::spawn(cfg).is_err());
}

#[test]
fn a_missing_data_folder_arrives_as_failed() {
    let cfg = TrainConfig {
        data_dir: "/nonexistent/cnn-tutor/shapes".into(),
        out: None,
        device: DeviceChoice::Cpu,
        ..TrainConfig::default()
    };
    let (rx, handle) = train::spawn(cfg).unwrap();
    let last = rx.iter().last().unwrap();
    match last {
        TrainEvent::Failed(msg) => {
            assert!(msg.contains("/nonexistent/cnn-tutor/shapes"), "{msg}");
            assert_eq!(msg.lines().count(), 1);
        }
        e => panic!("{e:?}"),
    }
    handle.join();
}
