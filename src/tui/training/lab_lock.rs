//! A teacher's lab in a classroom (`serve --lab`, [`crate::train::lab::ClassLab`]): the
//! settings it locks are held at the lab's values. One rule, applied wherever settings can
//! change (a key on the form, the layer editor, a reset, an experiment lesson's setup) and
//! again when a run starts: [`enforce`] puts every locked setting back and says which.

use crate::train::lab::LabSetting;

use super::settings::{SettingField, TrainPrefs, TrainSettings};

/// The form's field of a lab setting.
fn field_of(s: LabSetting) -> SettingField {
    match s {
        LabSetting::Arch => SettingField::Network,
        LabSetting::Epochs => SettingField::Epochs,
        LabSetting::BatchSize => SettingField::BatchSize,
        LabSetting::LearningRate => SettingField::Lr,
        LabSetting::Optimizer => SettingField::Optimizer,
        LabSetting::WeightDecay => SettingField::WeightDecay,
        LabSetting::Augment => SettingField::Augment,
        LabSetting::TrainShare => SettingField::TrainShare,
        LabSetting::Seed => SettingField::Seed,
    }
}

/// Field `f` is locked by the class's lab (SGD's momentum with the optimizer).
pub(crate) fn locked(prefs: &TrainPrefs, f: SettingField) -> bool {
    let f = if f == SettingField::Momentum {
        SettingField::Optimizer
    } else {
        f
    };
    prefs
        .lab
        .as_ref()
        .is_some_and(|lab| lab.locked.iter().any(|&s| field_of(s) == f))
}

/// Copy lab setting `s` from `want` into `to`; true when it differed.
fn hold(s: LabSetting, want: &TrainSettings, to: &mut TrainSettings) -> bool {
    fn set<T: PartialEq + Copy>(to: &mut T, want: T) -> bool {
        let differs = *to != want;
        *to = want;
        differs
    }
    match s {
        LabSetting::Arch => {
            let differs = to.arch() != want.arch();
            if differs {
                to.set_arch(want.arch());
            }
            differs
        }
        LabSetting::Epochs => set(&mut to.epochs, want.epochs),
        LabSetting::BatchSize => set(&mut to.batch_size, want.batch_size),
        LabSetting::LearningRate => set(&mut to.lr, want.lr),
        LabSetting::Optimizer => {
            set(&mut to.sgd, want.sgd) | (want.sgd && set(&mut to.momentum, want.momentum))
        }
        LabSetting::WeightDecay => set(&mut to.weight_decay, want.weight_decay),
        LabSetting::Augment => set(&mut to.augment, want.augment),
        LabSetting::TrainShare => set(&mut to.train_share, want.train_share),
        LabSetting::Seed => set(&mut to.seed, want.seed),
    }
}

/// Put every locked setting back at the lab's value; the notice naming them when any had
/// moved (`None`: nothing locked moved, or no lab).
pub(crate) fn enforce(prefs: &mut TrainPrefs) -> Option<String> {
    let lab = prefs.lab.clone()?;
    let want = prefs.settings.with_lab(&lab.setup);
    let moved: Vec<&str> = LabSetting::ALL
        .iter()
        .filter(|s| lab.locked.contains(s))
        .filter(|&&s| hold(s, &want, &mut prefs.settings))
        .map(|&s| field_of(s).label())
        .collect();
    (!moved.is_empty()).then(|| {
        format!(
            "{} locked by the teacher for this lab ({}): kept at the lab's value",
            moved.join(", "),
            crate::text::escaped(&lab.title)
        )
    })
}

/// The notice for a change to locked field `f`, refused before it is made.
pub(crate) fn refused(prefs: &TrainPrefs, f: SettingField) -> Option<String> {
    locked(prefs, f).then(|| {
        format!(
            "{} is locked by the teacher for this lab: the class runs it as set",
            f.label()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::Arch;
    use crate::train::lab::{ClassLab, LabSetup};
    use std::sync::Arc;

    fn prefs() -> TrainPrefs {
        let lab = ClassLab {
            title: "wider".into(),
            setup: LabSetup {
                arch: Some(Arch::parse("conv(8,3) maxpool(2) relu flatten linear").unwrap()),
                epochs: Some(8),
                lr: Some(0.01),
                ..LabSetup::default()
            },
            locked: vec![LabSetting::Arch, LabSetting::Epochs, LabSetting::Seed],
        };
        let mut p = TrainPrefs {
            lab: Some(Arc::new(lab)),
            ..TrainPrefs::default()
        };
        p.settings = p.settings.with_lab(&p.lab.as_ref().unwrap().setup);
        p
    }

    #[test]
    fn locked_settings_come_back_and_the_others_stay_changed() {
        let mut p = prefs();
        assert_eq!(enforce(&mut p), None, "the lab's own values stand");
        p.settings.epochs = 30;
        p.settings.lr = 0.5;
        p.settings.seed = 99;
        p.settings.set_arch(Arch::course());
        let said = enforce(&mut p).expect("a notice");
        assert!(
            said.starts_with("Epochs, Seed, Network locked by the teacher for this lab (wider)"),
            "{said}"
        );
        assert_eq!(p.settings.epochs, 8);
        assert_eq!(
            p.settings.seed,
            TrainSettings::default().seed,
            "locked at the default"
        );
        assert_eq!(
            p.settings.arch().to_string(),
            "conv(8,3) maxpool(2) relu flatten linear"
        );
        assert_eq!(p.settings.lr, 0.5, "the learning rate is not locked");
        assert!(locked(&p, SettingField::Network) && !locked(&p, SettingField::Lr));
        assert!(refused(&p, SettingField::Epochs).is_some());
    }
}
