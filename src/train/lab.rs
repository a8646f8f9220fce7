//! A lab setup: the settings an experiment lesson opens the training screen with. Each
//! is optional (`None` keeps the screen's default), and a second setup can change some of
//! them on top of the first ([`LabSetup::then`]): "run this, then change one thing".

use crate::nn::arch::Arch;

use super::OptimizerChoice;

/// The settings of a lab run that a lesson fixes; `None` leaves the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabSetup {
    /// The network.
    pub arch: Option<Arch>,
    /// Passes over the training images.
    pub epochs: Option<usize>,
    /// Images per batch.
    pub batch_size: Option<usize>,
    /// The learning rate.
    pub lr: Option<f64>,
    /// Adam, or SGD with its momentum.
    pub optimizer: Option<OptimizerChoice>,
    /// L2 penalty added to the gradient.
    pub weight_decay: Option<f64>,
    /// Random flips, mirrors and skews of the training images, new every epoch.
    pub augment: Option<bool>,
    /// The share of the training images used (the validation images stay the same).
    pub train_share: Option<f64>,
    /// Seed of the weights, the split and the dropout masks.
    pub seed: Option<u64>,
}

impl LabSetup {
    /// This setup with what `change` sets put on top.
    pub fn then(&self, change: &LabSetup) -> LabSetup {
        LabSetup {
            arch: change.arch.clone().or_else(|| self.arch.clone()),
            epochs: change.epochs.or(self.epochs),
            batch_size: change.batch_size.or(self.batch_size),
            lr: change.lr.or(self.lr),
            optimizer: change.optimizer.or(self.optimizer),
            weight_decay: change.weight_decay.or(self.weight_decay),
            augment: change.augment.or(self.augment),
            train_share: change.train_share.or(self.train_share),
            seed: change.seed.or(self.seed),
        }
    }

    /// What this setup sets, one `name value` per setting (the network in its text
    /// form), in the order of the training screen.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(a) = &self.arch {
            out.push(("network", a.to_string()));
        }
        if let Some(v) = self.epochs {
            out.push(("epochs", v.to_string()));
        }
        if let Some(v) = self.batch_size {
            out.push(("batch size", v.to_string()));
        }
        if let Some(v) = self.lr {
            out.push(("learning rate", v.to_string()));
        }
        if let Some(v) = self.optimizer {
            out.push(("optimizer", v.label()));
        }
        if let Some(v) = self.weight_decay {
            out.push(("weight decay", v.to_string()));
        }
        if let Some(v) = self.augment {
            out.push(("augmentation", if v { "on" } else { "off" }.to_string()));
        }
        if let Some(v) = self.train_share {
            out.push(("training images used", format!("{:.0}%", v * 100.0)));
        }
        if let Some(v) = self.seed {
            out.push(("seed", v.to_string()));
        }
        out
    }

    /// The settings `change` sets to a value different from this setup's (what the
    /// second run changes).
    pub fn changed_by(&self, change: &LabSetup) -> Vec<(&'static str, String)> {
        let before = self.describe();
        self.then(change)
            .describe()
            .into_iter()
            .filter(|(k, v)| !before.iter().any(|(bk, bv)| bk == k && bv == v))
            .collect()
    }
}

/// A setting a teacher's lab can lock (`serve --lab`); its key is the lab file's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LabSetting {
    /// `arch`: the network.
    Arch,
    /// `epochs`.
    Epochs,
    /// `batch_size`.
    BatchSize,
    /// `learning_rate`.
    LearningRate,
    /// `optimizer` (with SGD's momentum).
    Optimizer,
    /// `weight_decay`.
    WeightDecay,
    /// `augment`.
    Augment,
    /// `train_share`.
    TrainShare,
    /// `seed`.
    Seed,
}

impl LabSetting {
    /// Every setting, in the training screen's order.
    pub const ALL: [LabSetting; 9] = [
        LabSetting::Epochs,
        LabSetting::BatchSize,
        LabSetting::LearningRate,
        LabSetting::Seed,
        LabSetting::Arch,
        LabSetting::Optimizer,
        LabSetting::WeightDecay,
        LabSetting::Augment,
        LabSetting::TrainShare,
    ];

    /// The lab file's field for it.
    pub fn key(self) -> &'static str {
        match self {
            LabSetting::Arch => "arch",
            LabSetting::Epochs => "epochs",
            LabSetting::BatchSize => "batch_size",
            LabSetting::LearningRate => "learning_rate",
            LabSetting::Optimizer => "optimizer",
            LabSetting::WeightDecay => "weight_decay",
            LabSetting::Augment => "augment",
            LabSetting::TrainShare => "train_share",
            LabSetting::Seed => "seed",
        }
    }

    /// The setting a lab file's field names.
    pub fn from_key(key: &str) -> Option<LabSetting> {
        LabSetting::ALL.into_iter().find(|s| s.key() == key)
    }
}

impl LabSetup {
    /// The settings this setup gives a value.
    pub fn sets(&self) -> Vec<LabSetting> {
        let given = |s: LabSetting| match s {
            LabSetting::Arch => self.arch.is_some(),
            LabSetting::Epochs => self.epochs.is_some(),
            LabSetting::BatchSize => self.batch_size.is_some(),
            LabSetting::LearningRate => self.lr.is_some(),
            LabSetting::Optimizer => self.optimizer.is_some(),
            LabSetting::WeightDecay => self.weight_decay.is_some(),
            LabSetting::Augment => self.augment.is_some(),
            LabSetting::TrainShare => self.train_share.is_some(),
            LabSetting::Seed => self.seed.is_some(),
        };
        LabSetting::ALL.into_iter().filter(|&s| given(s)).collect()
    }
}

/// A lab the teacher gives the whole class (`serve --lab FILE`): every student's training
/// screen opens with its setup, and the settings it locks cannot be changed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassLab {
    /// What the students see it called (the file's `title`, or its name).
    pub title: String,
    /// The settings it starts from.
    pub setup: LabSetup,
    /// The settings students cannot change (a locked one the setup leaves out stays at the
    /// training screen's default).
    pub locked: Vec<LabSetting>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_goes_on_top_and_names_only_what_differs() {
        let first = LabSetup {
            epochs: Some(20),
            lr: Some(0.001),
            train_share: Some(0.1),
            ..LabSetup::default()
        };
        let change = LabSetup {
            lr: Some(0.1),
            epochs: Some(20),
            ..LabSetup::default()
        };
        let both = first.then(&change);
        assert_eq!(both.lr, Some(0.1));
        assert_eq!(both.train_share, Some(0.1));
        assert_eq!(
            first.changed_by(&change),
            vec![("learning rate", "0.1".to_string())]
        );
        assert_eq!(first.describe()[2], ("training images used", "10%".into()));
    }
}
