//! The seed notebook's progress lines, written once for `cnn-tutor train` and the
//! training screen.

use super::EpochReport;

/// The line that opens a run: `Training on DEVICE: N training and M validation images,
/// classes a, b, c` (`cnn-tutor train` adds the epochs and batches after it).
pub fn started_line(
    device: &str,
    train_size: usize,
    val_size: usize,
    classes: &[String],
) -> String {
    format!(
        "Training on {device}: {train_size} training and {val_size} validation images, classes {}",
        crate::text::escaped(&classes.join(", "))
    )
}

/// The line saying a run trains on part of its training split (`--train-share`).
pub fn share_line(train_size: usize, split_size: usize) -> String {
    format!(
        "Training on {train_size} of the split's {split_size} training images (train share {:.0}%); the validation images are all kept",
        100.0 * train_size as f64 / split_size.max(1) as f64
    )
}

/// The lines the seed prints for batch `batch` (1-based) of `epoch`: `Epoch: N` before
/// the first batch, and `Training set [seen/total (pct%)] Loss: x` every tenth batch.
pub fn batch_lines(
    epoch: usize,
    batch: usize,
    loss: f64,
    batch_size: usize,
    train_size: usize,
    batches_per_epoch: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    if batch == 1 {
        lines.push(format!("Epoch: {epoch}"));
    }
    let done = batch.saturating_sub(1);
    if done.is_multiple_of(10) {
        lines.push(format!(
            "Training set [{}/{train_size} ({:.0}%)] Loss: {loss:.6}",
            done * batch_size,
            100.0 * done as f64 / batches_per_epoch.max(1) as f64
        ));
    }
    lines
}

/// The seed's two lines at the end of an epoch: average training loss, then validation
/// loss and accuracy.
pub fn epoch_lines(r: &EpochReport) -> [String; 2] {
    [
        format!("Training set: Average loss: {:.6}", r.train_loss),
        format!(
            "Validation set: Average loss: {:.6}, Accuracy: {}/{} ({:.0}%)",
            r.val_loss,
            r.val_correct,
            r.val_size,
            100.0 * r.val_accuracy
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_seed() {
        assert_eq!(
            batch_lines(2, 1, 0.5, 50, 840, 17),
            vec!["Epoch: 2", "Training set [0/840 (0%)] Loss: 0.500000"]
        );
        assert!(batch_lines(2, 2, 0.5, 50, 840, 17).is_empty());
        assert_eq!(
            batch_lines(1, 11, 0.25, 50, 840, 17),
            vec!["Training set [500/840 (59%)] Loss: 0.250000"]
        );
        let r = EpochReport {
            epoch: 1,
            train_loss: 0.920634,
            val_loss: 0.537836,
            val_accuracy: 0.9,
            val_correct: 324,
            val_size: 360,
            train_images_per_second: 1.0,
            seconds: 1.0,
        };
        assert_eq!(
            epoch_lines(&r),
            [
                "Training set: Average loss: 0.920634".to_string(),
                "Validation set: Average loss: 0.537836, Accuracy: 324/360 (90%)".to_string()
            ]
        );
    }
}
