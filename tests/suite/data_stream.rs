//! The streaming loader: under a tiny memory budget, the batches (and so the training
//! numbers) are bit for bit those of the in-memory loader, in the same order with the same
//! split; only the first images are kept in memory.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use cnn_tutor::backend::{CpuBackend, DeviceChoice};
use cnn_tutor::data::{self, IMAGE_LEN};
use cnn_tutor::train::{self, Outcome, TrainConfig, TrainEvent};

/// Every batch of `indices` the way the training loop receives it.
fn all_batches(ds: &data::Dataset, indices: &[usize], bs: usize) -> Vec<Vec<u32>> {
    data::with_batches(ds, indices, bs, |b| {
        let mut out = Vec::new();
        while let Some(x) = b.next_batch() {
            let x = x.unwrap();
            out.push(x.iter().map(|v| v.to_bits()).collect());
            b.give_back(x);
        }
        out
    })
    .unwrap()
}

#[test]
fn a_one_megabyte_budget_streams_the_same_batches_in_the_same_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shapes");
    data::generate(&dir, 100, 11).unwrap();
    let full = data::load_folder(&dir).unwrap();
    let (small, notes) = data::load_folder_budget(&dir, data::budget_bytes(1)).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    // 1 MB holds 21 images of 3x128x128 bytes; the other 279 are streamed
    assert_eq!(full.cached(), 300);
    assert_eq!(small.cached(), (1 << 20) / IMAGE_LEN);
    assert_eq!(small.cached(), 21);
    assert_eq!(small.streamed(), 279);
    assert_eq!(small.pixels.len(), 21 * IMAGE_LEN);
    assert_eq!(
        (&small.files, &small.labels, &small.classes),
        (&full.files, &full.labels, &full.classes)
    );
    let line = small.memory_line(data::budget_bytes(1));
    assert!(
        line.contains("21 of 300 images") && line.contains("279 streamed"),
        "{line}"
    );
    assert!(line.contains("1 MB budget"), "{line}");

    let (train_idx, val_idx) = data::split(full.len(), 5);
    assert_eq!(
        data::split(small.len(), 5),
        (train_idx.clone(), val_idx.clone())
    );
    for (idx, bs) in [(&train_idx, 50), (&val_idx, 50), (&train_idx, 7)] {
        let a = all_batches(&full, idx, bs);
        let b = all_batches(&small, idx, bs);
        assert_eq!(a.len(), idx.len().div_ceil(bs));
        assert_eq!(
            a.last().unwrap().len(),
            (idx.len() - (a.len() - 1) * bs) * IMAGE_LEN
        );
        assert!(a == b, "batches differ");
    }
    // one image at a time, both ways
    for i in [0, 20, 21, 150, 299] {
        assert_eq!(full.image(i), small.image(i), "image {i}");
    }
}

#[test]
fn training_on_a_streamed_folder_gives_the_in_memory_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shapes");
    data::generate(&dir, 10, 3).unwrap();
    let run = |ds: data::Dataset| {
        let cfg = TrainConfig {
            data_dir: dir.clone(),
            epochs: 2,
            batch_size: 4,
            lr: 0.001,
            seed: 9,
            device: DeviceChoice::Cpu,
            threads: Some(2),
            out: None,
            ..TrainConfig::default()
        };
        let mut backend = CpuBackend::new(Some(2)).unwrap();
        let mut notes = Vec::new();
        let run = train::Prepared::new(cfg, Arc::new(ds)).unwrap();
        let outcome = train::run(&run, &mut backend, &AtomicBool::new(false), &mut |e| {
            if let TrainEvent::Note(n) = e {
                notes.push(n);
            }
        })
        .unwrap();
        let Outcome::Finished(s) = outcome else {
            panic!("cancelled")
        };
        (s, notes)
    };
    let (full, full_notes) = run(data::load_folder(&dir).unwrap());
    let (ds, _) = data::load_folder_budget(&dir, 5 * IMAGE_LEN).unwrap();
    assert_eq!((ds.cached(), ds.streamed()), (5, 25));
    let (streamed, notes) = run(ds);
    assert!(full_notes.is_empty() && notes.is_empty(), "{notes:?}");
    for (a, b) in full.epochs.iter().zip(&streamed.epochs) {
        assert_eq!(a.train_loss.to_bits(), b.train_loss.to_bits());
        assert_eq!(a.val_loss.to_bits(), b.val_loss.to_bits());
        assert_eq!(a.val_correct, b.val_correct);
    }
    assert_eq!(full.confusion.counts, streamed.confusion.counts);
    for (p, q) in full.net.params.iter().zip(&streamed.net.params) {
        assert!(p
            .data
            .iter()
            .zip(&q.data)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

#[test]
fn a_streamed_file_removed_after_loading_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shapes");
    data::generate(&dir, 3, 1).unwrap();
    let (ds, _) = data::load_folder_budget(&dir, 0).unwrap();
    assert_eq!(ds.cached(), 0);
    std::fs::remove_file(&ds.files[4]).unwrap();
    let mut x = vec![0.0; 2 * IMAGE_LEN];
    assert!(ds.try_normalized_into(&[0, 1], &mut x).is_ok());
    let e = ds
        .try_normalized_into(&[3, 4], &mut x)
        .unwrap_err()
        .to_string();
    assert!(e.contains("square0002.png"), "{e}");
    assert_eq!(e.lines().count(), 1);
    let e = data::with_batches(&ds, &[0, 1, 2, 3, 4, 5], 2, |b| {
        let mut got = Vec::new();
        while let Some(x) = b.next_batch() {
            got.push(x.map(|_| ()).map_err(|e| e.to_string()));
        }
        got
    })
    .unwrap();
    assert_eq!(e.len(), 3, "the worker stops at the error");
    assert!(e[0].is_ok() && e[1].is_ok());
    assert!(e[2].as_ref().unwrap_err().contains("square0002.png"));
}
