//! Batches made ahead of the training step: a worker thread normalises the next batches
//! (decoding from disk the images a [`Dataset`] does not keep in memory) while the
//! current one trains, in the order given, so the numbers are those of an in-memory run.

use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};

use super::{Dataset, IMAGE_LEN};
use crate::{Error, Result};

/// Default memory budget for decoded images (`--cache-mb`), in megabytes.
pub const DEFAULT_CACHE_MB: usize = 256;

/// Batches ready ahead of the one in use.
const AHEAD: usize = 2;

/// The normalised batches of one pass, in order (see [`with_batches`]).
pub struct Batches {
    rx: Receiver<Result<Vec<f32>>>,
    back: Sender<Vec<f32>>,
}

impl Batches {
    /// The next batch (`chunk.len() * IMAGE_LEN` floats), or the error that stopped the
    /// worker (a streamed image that can no longer be read). `None` after the last batch.
    pub fn next_batch(&mut self) -> Option<Result<Vec<f32>>> {
        self.rx.recv().ok()
    }

    /// Hand a used batch's buffer back for the worker to fill again.
    pub fn give_back(&self, buf: Vec<f32>) {
        let _ = self.back.send(buf);
    }
}

/// Run `body` with the batches of `indices` cut into `batch_size` (the last may be
/// smaller) as [`Dataset::try_normalized_into`] makes them, prepared on a worker thread
/// up to two batches ahead. When `body` returns early, the worker stops.
///
/// # Panics
/// If `batch_size` is 0.
pub fn with_batches<R>(
    dataset: &Dataset,
    indices: &[usize],
    batch_size: usize,
    body: impl FnOnce(&mut Batches) -> R,
) -> Result<R> {
    assert!(batch_size > 0, "batch size must be at least 1");
    let (tx, rx) = sync_channel::<Result<Vec<f32>>>(AHEAD - 1);
    let (back, back_rx) = channel::<Vec<f32>>();
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("cnn-batches".into())
            .spawn_scoped(s, move || {
                for chunk in indices.chunks(batch_size) {
                    let mut buf = back_rx.try_recv().unwrap_or_default();
                    buf.resize(chunk.len() * IMAGE_LEN, 0.0);
                    let made = dataset.try_normalized_into(chunk, &mut buf).map(|()| buf);
                    let failed = made.is_err();
                    if tx.send(made).is_err() || failed {
                        return;
                    }
                }
            })
            .map_err(|e| Error::thread("the batch loader", e))?;
        let mut batches = Batches { rx, back };
        let out = body(&mut batches);
        drop(batches);
        let _ = worker.join();
        Ok(out)
    })
}

/// `megabytes` as a budget in bytes.
pub fn budget_bytes(megabytes: usize) -> usize {
    megabytes.saturating_mul(1 << 20)
}
