//! The settings form's field table: each setting's range (a typed value out of it is
//! refused with the reason), its steps for Left/Right, its default (shown beside a value
//! that differs, restored by `d`; `D` restores them all), and how the fields the lab
//! added (optimizer, momentum, weight decay, augmentation, train share) are written.

use crate::backend::DeviceChoice;

use super::settings::{SettingField, TrainSettings};

/// Most epochs and images per batch the form takes.
pub const MAX_EPOCHS: usize = 1000;
/// Most images per batch the form takes.
pub const MAX_BATCH: usize = 1000;
/// The smallest learning rate the form takes (the largest is 1).
pub const MIN_LR: f64 = 1e-6;

/// Whether `f` is shown and can be selected (SGD's momentum only with SGD).
pub(crate) fn shown(f: SettingField, s: &TrainSettings) -> bool {
    f != SettingField::Momentum || s.sgd
}

/// Read `typed` into the field `f` of `s`: `Err` with the reason when it is not a value
/// the field takes.
pub(crate) fn parse(f: SettingField, typed: &str, s: &mut TrainSettings) -> Result<(), String> {
    let whole = |what: &str, lo: usize, hi: usize| -> Result<usize, String> {
        typed
            .parse::<usize>()
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| format!("{what} must be a whole number from {lo} to {hi}"))
    };
    let number = |why: &str, ok: &dyn Fn(f64) -> bool| -> Result<f64, String> {
        typed
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && ok(*v))
            .ok_or_else(|| why.to_string())
    };
    match f {
        SettingField::Epochs => s.epochs = whole("epochs", 1, MAX_EPOCHS)?,
        SettingField::BatchSize => s.batch_size = whole("batch size", 1, MAX_BATCH)?,
        SettingField::Lr => {
            s.lr = number("learning rate must be between 0.000001 and 1", &|v| {
                (MIN_LR..=1.0).contains(&v)
            })?;
        }
        SettingField::Seed => {
            s.seed = typed
                .parse::<u64>()
                .map_err(|_| format!("seed must be a whole number from 0 to {}", u64::MAX))?;
        }
        SettingField::Momentum => {
            s.momentum = number("momentum must be at least 0 and below 1", &|v| {
                (0.0..1.0).contains(&v)
            })?;
        }
        SettingField::WeightDecay => {
            s.weight_decay = number("weight decay must be between 0 and 1", &|v| {
                (0.0..=1.0).contains(&v)
            })?;
        }
        SettingField::TrainShare => {
            let v = number(
                "train share must be above 0% and at most 100% (25 or 0.25 is a quarter)",
                &|v| v > 0.0 && v <= 100.0,
            )?;
            s.train_share = if v > 1.0 { v / 100.0 } else { v };
        }
        SettingField::Data
        | SettingField::Device
        | SettingField::Network
        | SettingField::Optimizer
        | SettingField::Augment => {}
    }
    Ok(())
}

/// Whether `f` takes typed characters.
pub(crate) fn typed(f: SettingField) -> bool {
    !matches!(
        f,
        SettingField::Device
            | SettingField::Data
            | SettingField::Network
            | SettingField::Optimizer
            | SettingField::Augment
    )
}

/// The next (`up`) or previous value in `steps` from `v` (the nearest step first).
fn step_in(steps: &[f64], v: f64, up: bool) -> f64 {
    let i = if up {
        steps.iter().position(|&x| x > v * 1.0001 + 1e-12)
    } else {
        steps.iter().rposition(|&x| x < v * 0.9999 - 1e-12)
    };
    match i {
        Some(i) => steps[i],
        None if up => steps[steps.len() - 1],
        None => steps[0],
    }
}

/// Step one of the lab's fields (optimizer, momentum, weight decay, augmentation, train
/// share); the others are stepped by the form.
pub(crate) fn step(f: SettingField, s: &mut TrainSettings, up: bool) {
    match f {
        SettingField::Optimizer => s.sgd = !s.sgd,
        SettingField::Augment => s.augment = !s.augment,
        SettingField::Momentum => {
            s.momentum = step_in(&[0.0, 0.5, 0.8, 0.9, 0.95, 0.99], s.momentum, up);
        }
        SettingField::WeightDecay => {
            const WD: [f64; 6] = [0.0, 0.00001, 0.0001, 0.001, 0.01, 0.1];
            s.weight_decay = step_in(&WD, s.weight_decay, up);
        }
        SettingField::TrainShare => {
            let tenths: Vec<f64> = (1..=10).map(|i| f64::from(i) / 10.0).collect();
            s.train_share = step_in(&tenths, s.train_share, up);
        }
        _ => {}
    }
}

/// How a value of one of the lab's fields is written (`None`: another field).
pub(crate) fn value(f: SettingField, s: &TrainSettings) -> Option<String> {
    Some(match f {
        SettingField::Optimizer => optimizer_text(s.sgd).into(),
        SettingField::Momentum => s.momentum.to_string(),
        SettingField::WeightDecay => s.weight_decay.to_string(),
        SettingField::Augment => augment_text(s.augment).into(),
        SettingField::TrainShare => share_text(s.train_share),
        _ => return None,
    })
}

fn optimizer_text(sgd: bool) -> &'static str {
    if sgd {
        "SGD with momentum"
    } else {
        "Adam"
    }
}

fn augment_text(on: bool) -> &'static str {
    if on {
        "on: flip, mirror, skew"
    } else {
        "off"
    }
}

/// A share as a percentage, `25%` (one decimal when it needs one).
pub(crate) fn share_text(share: f64) -> String {
    let pct = share * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{pct:.0}%")
    } else {
        format!("{pct:.1}%")
    }
}

/// The default of `f`, short, when `s` holds another value (`None`: it is the default,
/// or the field has none here: the data folder).
pub(crate) fn default_when_changed(f: SettingField, s: &TrainSettings) -> Option<String> {
    let d = TrainSettings::default();
    let differs = |a: String, b: String| (a != b).then_some(b);
    match f {
        SettingField::Data => None,
        SettingField::Epochs => differs(s.epochs.to_string(), d.epochs.to_string()),
        SettingField::BatchSize => differs(s.batch_size.to_string(), d.batch_size.to_string()),
        SettingField::Lr => differs(s.lr.to_string(), d.lr.to_string()),
        SettingField::Seed => differs(s.seed.to_string(), d.seed.to_string()),
        SettingField::Device => differs(device_text(s.device), device_text(d.device)),
        SettingField::Network => differs(s.network.to_string(), d.network.to_string())
            .map(|_| d.preset().name.to_string()),
        SettingField::Optimizer => differs(optimizer_text(s.sgd).into(), "Adam".into()),
        SettingField::Augment => differs(augment_text(s.augment).into(), "off".into()),
        _ => differs(value(f, s)?, value(f, &d)?),
    }
}

fn device_text(d: DeviceChoice) -> String {
    match d {
        DeviceChoice::Auto => "auto".into(),
        DeviceChoice::Cpu => "cpu".into(),
        DeviceChoice::Cuda => "cuda".into(),
    }
}

/// Put `f` back to its value in `d` (the defaults, or a class lab's settings).
pub(crate) fn reset(f: SettingField, s: &mut TrainSettings, d: &TrainSettings) {
    match f {
        SettingField::Data => {}
        SettingField::Epochs => s.epochs = d.epochs,
        SettingField::BatchSize => s.batch_size = d.batch_size,
        SettingField::Lr => s.lr = d.lr,
        SettingField::Device => s.device = d.device,
        SettingField::Seed => s.seed = d.seed,
        SettingField::Network => {
            s.network = d.network;
            s.edited.clone_from(&d.edited);
        }
        SettingField::Optimizer => s.sgd = d.sgd,
        SettingField::Momentum => s.momentum = d.momentum,
        SettingField::WeightDecay => s.weight_decay = d.weight_decay,
        SettingField::Augment => s.augment = d.augment,
        SettingField::TrainShare => s.train_share = d.train_share,
    }
}

/// What the run trains, in a sentence, beside the seed's when they differ.
pub(crate) fn run_sentence(s: &TrainSettings, arch: &crate::nn::arch::Arch) -> String {
    const SEED: &str = "5 epochs of batches of 50 with Adam at lr 0.001";
    let d = TrainSettings::default();
    let optimizer = if s.sgd {
        format!("SGD (momentum {})", s.momentum)
    } else {
        "Adam".to_string()
    };
    let mut run = format!(
        "{} epochs of batches of {} with {optimizer} at lr {}",
        s.epochs, s.batch_size, s.lr
    );
    if s.weight_decay != d.weight_decay {
        run.push_str(&format!(", weight decay {}", s.weight_decay));
    }
    if s.augment {
        run.push_str(", the images flipped, mirrored and skewed at random");
    }
    if s.train_share < 1.0 {
        run.push_str(&format!(
            ", on {:.0}% of the training images",
            s.train_share * 100.0
        ));
    }
    let same_settings = run == SEED;
    match (arch.is_course(), same_settings) {
        (true, true) => format!(
            "The seed trains {SEED}; each epoch ends with a pass over the validation images."
        ),
        (true, false) => format!("This run trains {run}; the seed trains {SEED}."),
        (false, true) => format!(
            "This run trains {} ({arch}) with the seed's settings ({SEED}).",
            s.network_name()
        ),
        (false, false) => format!(
            "This run trains {} ({arch}): {run}; the seed trains the course's net, {SEED}.",
            s.network_name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_out_of_range_say_why() {
        let mut s = TrainSettings::default();
        let e = parse(SettingField::Lr, "2", &mut s).unwrap_err();
        assert_eq!(e, "learning rate must be between 0.000001 and 1");
        assert!(parse(SettingField::Epochs, "0", &mut s)
            .unwrap_err()
            .contains("from 1 to 1000"));
        assert!(parse(SettingField::Momentum, "1", &mut s).is_err());
        parse(SettingField::TrainShare, "25", &mut s).unwrap();
        assert_eq!(s.train_share, 0.25);
        parse(SettingField::TrainShare, "0.5", &mut s).unwrap();
        assert_eq!(share_text(s.train_share), "50%");
        assert!(parse(SettingField::TrainShare, "0", &mut s).is_err());
        parse(SettingField::Lr, "0.01", &mut s).unwrap();
        assert_eq!(
            default_when_changed(SettingField::Lr, &s).as_deref(),
            Some("0.001")
        );
        reset(SettingField::Lr, &mut s, &TrainSettings::default());
        assert_eq!(default_when_changed(SettingField::Lr, &s), None);
    }

    #[test]
    fn steps_move_to_the_next_value_and_stop_at_the_ends() {
        let mut s = TrainSettings::default();
        step(SettingField::TrainShare, &mut s, false);
        assert_eq!(s.train_share, 0.9);
        s.train_share = 0.25;
        step(SettingField::TrainShare, &mut s, true);
        assert_eq!(s.train_share, 0.3);
        step(SettingField::Momentum, &mut s, true);
        assert_eq!(s.momentum, 0.95);
        for _ in 0..10 {
            step(SettingField::WeightDecay, &mut s, true);
        }
        assert_eq!(s.weight_decay, 0.1);
        step(SettingField::Optimizer, &mut s, true);
        assert!(s.sgd);
        assert!(shown(SettingField::Momentum, &s));
    }
}
