//! What the training screen's worker tests share.

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use cnn_tutor::train::TrainEvent;
use cnn_tutor::tui::training::WorkerMsg;

/// Messages until the worker's last event (or a time limit).
pub fn collect(rx: &Receiver<WorkerMsg>, limit: Duration) -> Vec<WorkerMsg> {
    let start = Instant::now();
    let mut out = Vec::new();
    while start.elapsed() < limit {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(m) => {
                let last = matches!(
                    m,
                    WorkerMsg::Train(
                        TrainEvent::Finished(_)
                            | TrainEvent::Cancelled { .. }
                            | TrainEvent::Failed(_)
                    )
                );
                out.push(m);
                if last {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    out
}
