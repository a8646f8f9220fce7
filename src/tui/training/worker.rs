//! The training worker: makes the data when the default folder is missing, loads it,
//! trains with [`crate::train::run`] and, once finished, classifies the validation images
//! (for the evaluation screen). Everything it learns goes over a channel as [`WorkerMsg`]s.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::backend::{cpu::argmax, Backend};
use crate::data::{self, Dataset, IMAGE_LEN};
use crate::nn::net::Net;
use crate::train::{self, Outcome, TrainEvent};
use crate::Result;

use super::queue::Ticket;
use super::settings::TrainSettings;

/// What the worker reports, in order: notes and `Loaded`, then the training events, then
/// (after a finished run) `Predictions` and, when the run was kept, `Kept`, just before
/// `Train(Finished)`.
#[derive(Debug, Clone)]
pub enum WorkerMsg {
    /// The images are in memory; `val` are the validation images' indices in split order.
    Loaded {
        /// The whole data set (shared, not copied).
        dataset: Arc<Dataset>,
        /// Validation indices, in the order the validation pass visits them.
        val: Vec<usize>,
    },
    /// The predicted class of every validation image, in the order of `Loaded::val`.
    Predictions(Vec<usize>),
    /// An event of the training loop (the same events `cnn-tutor train` gets).
    Train(TrainEvent),
    /// The run was kept under this id (just before `Train(Finished)`).
    Kept(String),
}

/// Control of a running worker: cancel, pause. Dropping it cancels the run.
#[derive(Debug)]
pub struct WorkerHandle {
    cancel: Arc<AtomicBool>,
    pause: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Ask the worker to stop; it stops after the batch it is on.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Pause (true) or resume (false) after the current batch.
    pub fn set_paused(&self, paused: bool) {
        self.pause.store(paused, Ordering::SeqCst);
    }

    /// True once the worker thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Wait for the worker thread to end.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Start training with `settings` on the images in `data_dir` (made first when it is the
/// default `data/shapes` and missing). Never saves: saving is the learner's choice later.
///
/// `threads`: CPU threads for this run (`None`: one per core). `ticket`: the run's place in
/// a classroom's [`TrainQueue`](super::TrainQueue), held until the worker thread ends.
pub fn spawn_worker(
    settings: &TrainSettings,
    data_dir: PathBuf,
    threads: Option<usize>,
    ticket: Option<Ticket>,
) -> std::io::Result<(Receiver<WorkerMsg>, WorkerHandle)> {
    spawn_worker_with(settings, data_dir, threads, data::DEFAULT_CACHE_MB, ticket)
}

/// [`spawn_worker`] keeping at most `cache_mb` megabytes of decoded images in memory (the
/// rest are streamed from disk, see [`data::stream`]).
pub fn spawn_worker_with(
    settings: &TrainSettings,
    data_dir: PathBuf,
    threads: Option<usize>,
    cache_mb: usize,
    ticket: Option<Ticket>,
) -> std::io::Result<(Receiver<WorkerMsg>, WorkerHandle)> {
    spawn_worker_kept(settings, data_dir, threads, cache_mb, ticket, None)
}

/// [`spawn_worker_with`] that keeps the run in `runs_dir` (see [`crate::train::runs`])
/// when it finishes, or stops after a whole epoch or more; `None` keeps nothing.
pub fn spawn_worker_kept(
    settings: &TrainSettings,
    data_dir: PathBuf,
    threads: Option<usize>,
    cache_mb: usize,
    ticket: Option<Ticket>,
    runs_dir: Option<PathBuf>,
) -> std::io::Result<(Receiver<WorkerMsg>, WorkerHandle)> {
    let (tx, rx) = channel();
    let cancel = Arc::new(AtomicBool::new(false));
    let pause = Arc::new(AtomicBool::new(false));
    let (c, p) = (Arc::clone(&cancel), Arc::clone(&pause));
    let settings = settings.clone();
    let thread = std::thread::Builder::new()
        .name("cnn-tutor-train".into())
        .spawn(move || {
            // the queue place is given back when this thread ends, however it ends
            let _ticket = ticket;
            let places = Places {
                data_dir,
                threads,
                cache_mb,
                runs_dir,
            };
            if let Err(e) = work(&settings, places, &c, &p, &tx) {
                let _ = tx.send(WorkerMsg::Train(TrainEvent::Failed(e.to_string())));
            }
            give_back_freed_memory();
        })?;
    Ok((
        rx,
        WorkerHandle {
            cancel,
            pause,
            thread: Some(thread),
        },
    ))
}

/// Hand the memory a finished training freed (its activations and gradients, tens of MB)
/// back to the system. glibc keeps what a thread freed in that thread's arena, so a
/// classroom server whose students trained one after another on different threads held
/// about 20 MB more per student than their results need (measured: 8 students on the
/// results screen, 219 MB before, see the note). Elsewhere the allocator decides.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's heaps to the system;
    // it takes no pointers and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn note(tx: &Sender<WorkerMsg>, text: String) {
    let _ = tx.send(WorkerMsg::Train(TrainEvent::Note(text)));
}

/// Where a worker reads, how much it holds, where it keeps the run.
struct Places {
    data_dir: PathBuf,
    threads: Option<usize>,
    cache_mb: usize,
    runs_dir: Option<PathBuf>,
}

fn work(
    settings: &TrainSettings,
    places: Places,
    cancel: &AtomicBool,
    pause: &AtomicBool,
    tx: &Sender<WorkerMsg>,
) -> Result<()> {
    let Places {
        data_dir,
        threads,
        cache_mb,
        runs_dir,
    } = places;
    if data_dir.exists() {
        // reading a large folder takes a while: say so first (a missing default folder
        // is drawn first, with notes of its own)
        note(
            tx,
            format!("loading images from {} ...", crate::text::path(&data_dir)),
        );
    }
    let config = settings.config(data_dir, threads);
    let data = train::DataOptions {
        cache_mb,
        make_default: true,
    };
    let Some(train::Ready {
        run: mut prepared,
        mut backend,
    }) = train::prepare(config, data, &mut |n| note(tx, n), cancel)?
    else {
        let _ = tx.send(WorkerMsg::Train(TrainEvent::Cancelled { epochs_done: 0 }));
        return Ok(());
    };
    prepared.front_end = Some("app");
    let _ = tx.send(WorkerMsg::Loaded {
        dataset: Arc::clone(&prepared.dataset),
        val: prepared.val_idx.clone(),
    });
    let mut kept = Kept::default();
    let started = std::time::Instant::now();
    let mut sink = |event: TrainEvent| {
        kept.see(&event);
        let _ = tx.send(WorkerMsg::Train(event));
        // pausing holds the worker between batches (cancel still ends it)
        while pause.load(Ordering::SeqCst) && !cancel.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let last = match train::run(&prepared, backend.as_mut(), cancel, &mut sink)? {
        Outcome::Finished(summary) => {
            if let Some(preds) = classify(
                backend.as_mut(),
                &summary.net,
                &prepared.dataset,
                &prepared.val_idx,
                settings.batch_size,
                cancel,
            )? {
                let _ = tx.send(WorkerMsg::Predictions(preds));
            }
            if let Some(dir) = &runs_dir {
                match kept.keep(dir, &prepared, Some(&summary), started) {
                    Ok(id) => {
                        note(tx, format!("Run kept as {id} (R: the runs)"));
                        let _ = tx.send(WorkerMsg::Kept(id));
                    }
                    Err(e) => note(tx, e),
                }
            }
            TrainEvent::Finished(summary)
        }
        Outcome::Cancelled { epochs_done } => {
            if let (Some(dir), true) = (&runs_dir, epochs_done > 0) {
                let line = kept.keep(dir, &prepared, None, started);
                note(
                    tx,
                    line.map_or_else(|e| e, |id| format!("Run kept as {id}")),
                );
            }
            TrainEvent::Cancelled { epochs_done }
        }
    };
    let _ = tx.send(WorkerMsg::Train(last));
    Ok(())
}

/// What the worker keeps of a run as it goes, to record it ([`crate::train::runs`]).
#[derive(Default)]
struct Kept {
    device: String,
    epochs: Vec<crate::train::EpochReport>,
}

impl Kept {
    fn see(&mut self, event: &TrainEvent) {
        match event {
            TrainEvent::Started { device, .. } => self.device.clone_from(device),
            TrainEvent::Epoch(r) => self.epochs.push(r.clone()),
            _ => {}
        }
    }

    /// Record the run (finished with `summary`, else stopped) in `dir`: its id, or the
    /// log's line saying why not.
    fn keep(
        &self,
        dir: &std::path::Path,
        prepared: &train::Prepared,
        summary: Option<&train::Summary>,
        started: std::time::Instant,
    ) -> std::result::Result<String, String> {
        use crate::train::runs::{self, RunConfig, RunRecord};
        let config = RunConfig::of(
            &prepared.config,
            prepared.plan.param_count(),
            &self.device,
            (prepared.train_idx.len(), prepared.val_idx.len()),
            prepared.classes(),
            "app",
        );
        let (record, model) = match summary {
            Some(s) => (RunRecord::finished(config, s), Some((&s.net, &s.meta))),
            None => {
                let secs = started.elapsed().as_secs_f64();
                (RunRecord::stopped(config, self.epochs.clone(), secs), None)
            }
        };
        runs::record(dir, record, model).map_err(|e| format!("the run was not kept: {e}"))
    }
}

/// The predicted class of each image in `indices` (eval mode); `None` when cancelled.
fn classify(
    backend: &mut dyn Backend,
    net: &Net,
    dataset: &Dataset,
    indices: &[usize],
    batch_size: usize,
    cancel: &AtomicBool,
) -> Result<Option<Vec<usize>>> {
    let mut out = Vec::with_capacity(indices.len());
    let mut input = vec![0.0f32; batch_size.max(1) * IMAGE_LEN];
    for chunk in indices.chunks(batch_size.max(1)) {
        if cancel.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let x = &mut input[..chunk.len() * IMAGE_LEN];
        dataset.try_normalized_into(chunk, x)?;
        let lp = backend.predict(net, x)?;
        for row in lp.rows() {
            let v: Vec<f32> = row.iter().copied().collect();
            out.push(argmax(&v));
        }
    }
    Ok(Some(out))
}
