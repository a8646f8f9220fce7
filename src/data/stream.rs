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
pub struct Batches<'a> {
    source: Source<'a>,
}

enum Source<'a> {
    /// Every image is in memory: each batch is normalised when it is asked for (a worker
    /// would only take a core from the training step).
    Inline {
        dataset: &'a Dataset,
        chunks: std::slice::Chunks<'a, usize>,
        spare: Option<Vec<f32>>,
    },
    /// Some images are streamed: a worker decodes and normalises ahead.
    Worker {
        rx: Receiver<Result<Vec<f32>>>,
        back: Sender<Vec<f32>>,
    },
}

impl Batches<'_> {
    /// The next batch (`chunk.len() * IMAGE_LEN` floats), or the error that stopped the
    /// worker (a streamed image that can no longer be read). `None` after the last batch.
    pub fn next_batch(&mut self) -> Option<Result<Vec<f32>>> {
        match &mut self.source {
            Source::Inline {
                dataset,
                chunks,
                spare,
            } => {
                let chunk = chunks.next()?;
                let mut buf = spare.take().unwrap_or_default();
                buf.resize(chunk.len() * IMAGE_LEN, 0.0);
                let made = dataset.try_normalized_into(chunk, &mut buf).map(|()| buf);
                if made.is_err() {
                    // as the worker does: nothing after an error
                    *chunks = [].chunks(1);
                }
                Some(made)
            }
            Source::Worker { rx, .. } => rx.recv().ok(),
        }
    }

    /// Hand a used batch's buffer back to be filled again.
    pub fn give_back(&mut self, buf: Vec<f32>) {
        match &mut self.source {
            Source::Inline { spare, .. } => *spare = Some(buf),
            Source::Worker { back, .. } => {
                let _ = back.send(buf);
            }
        }
    }
}

/// Run `body` with the batches of `indices` cut into `batch_size` (the last may be
/// smaller) as [`Dataset::try_normalized_into`] makes them. When images of the data set
/// are streamed from disk they are prepared on a worker thread up to two batches ahead
/// (when `body` returns early, the worker stops); when all are in memory, each batch is
/// made when it is asked for. The batches are the same either way.
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
    if dataset.streamed() == 0 {
        let mut batches = Batches {
            source: Source::Inline {
                dataset,
                chunks: indices.chunks(batch_size),
                spare: None,
            },
        };
        return Ok(body(&mut batches));
    }
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
        let mut batches = Batches {
            source: Source::Worker { rx, back },
        };
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
