//! Classification metrics: confusion matrix, accuracy, per-class precision and recall.

use serde::Serialize;

/// Counts of (actual, predicted) pairs: rows are actual classes, columns predicted ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    /// `counts[actual][predicted]`.
    pub counts: Vec<Vec<usize>>,
}

impl ConfusionMatrix {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> ConfusionMatrix {
        ConfusionMatrix {
            counts: vec![vec![0; classes]; classes],
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// Count one prediction. Out-of-range classes are ignored.
    pub fn add(&mut self, actual: usize, predicted: usize) {
        if let Some(c) = self
            .counts
            .get_mut(actual)
            .and_then(|row| row.get_mut(predicted))
        {
            *c += 1;
        }
    }

    /// All predictions counted.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// Predictions on the diagonal.
    pub fn correct(&self) -> usize {
        (0..self.classes()).map(|i| self.counts[i][i]).sum()
    }

    /// correct / total (0 when empty).
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// Of the images predicted as `class`, the share that are `class` (0 when none were).
    pub fn precision(&self, class: usize) -> f64 {
        let predicted: usize = self.counts.iter().map(|row| row[class]).sum();
        ratio(self.counts[class][class], predicted)
    }

    /// Of the images that are `class`, the share predicted as `class` (0 when there are none).
    pub fn recall(&self, class: usize) -> f64 {
        ratio(self.counts[class][class], self.counts[class].iter().sum())
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_matrix_by_hand() {
        let mut m = ConfusionMatrix::new(3);
        for (a, p) in [(0, 0), (0, 0), (0, 1), (1, 1), (2, 2), (2, 1), (2, 2)] {
            m.add(a, p);
        }
        m.add(5, 0); // ignored
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 1, 0], vec![0, 1, 2]]);
        assert_eq!(m.total(), 7);
        assert_eq!(m.correct(), 5);
        assert!((m.accuracy() - 5.0 / 7.0).abs() < 1e-12);
        assert!((m.precision(1) - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.recall(0) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.recall(1), 1.0);
        assert_eq!(ConfusionMatrix::new(2).precision(0), 0.0);
    }
}
