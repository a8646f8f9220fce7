//! The training loop: runs on a worker thread and reports `TrainEvent`s over a channel.
