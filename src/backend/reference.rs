//! Checking the engine against a PyTorch reference dump in the layout of
//! `../shared/golden/README.md` (any batch size, any seed): activations, loss, gradients,
//! and the parameters after one and three Adam steps. It lives with the backends because it
//! runs one: the activations come from the reference array ops of [`crate::nn`] (what the
//! lessons run) and from the CPU backend's pass that keeps its maps ([`super::cpu::forward_trace`],
//! what the inspector shows), the loss, gradients and Adam steps from the backend given (what
//! training runs).

use ndarray::Array4;

use super::Backend;
use crate::nn::adam::Adam;
use crate::nn::checkpoint::TensorFile;
use crate::nn::net::{param_specs, Param, ShapesNet, IMAGE_SIDE, IN_CHANNELS};
use crate::{Error, Result};

/// Relative tolerance for activations, loss and gradients: max|ours - theirs| / max|theirs|.
pub const REL_TOL: f32 = 1e-4;
/// Absolute tolerance for parameters after Adam steps: max|ours - theirs|.
pub const ABS_TOL: f32 = 1e-5;

/// How a tensor is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// max|ours - theirs| / max|theirs|.
    Relative,
    /// max|ours - theirs|.
    Absolute,
}

/// The comparison of one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Key in the reference file.
    pub name: String,
    /// The error by `measure`.
    pub error: f32,
    /// The tolerance it must stay within.
    pub tolerance: f32,
    /// How `error` was measured.
    pub measure: Measure,
}

impl Check {
    /// True when the error is within tolerance (NaN fails).
    pub fn pass(&self) -> bool {
        self.error <= self.tolerance
    }
}

/// Compare `ours` with `theirs` by `measure`.
pub fn compare(ours: &[f32], theirs: &[f32], measure: Measure) -> f32 {
    if ours.len() != theirs.len() {
        return f32::INFINITY;
    }
    let mut diff = 0.0f32;
    let mut scale = 0.0f32;
    for (&a, &b) in ours.iter().zip(theirs) {
        let d = (a - b).abs();
        if d.is_nan() {
            return f32::NAN;
        }
        diff = diff.max(d);
        scale = scale.max(b.abs());
    }
    match measure {
        Measure::Relative if scale > 0.0 => diff / scale,
        _ => diff,
    }
}

/// Every key a reference file must hold for a net with `classes` outputs.
pub fn required_keys(classes: usize) -> Vec<String> {
    let mut keys: Vec<String> = ["input", "target", "loss", "adam.losses"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for a in [
        "conv1",
        "pool1",
        "relu1",
        "conv2",
        "pool2",
        "relu2",
        "conv3",
        "relu3",
        "logits",
        "log_probs",
    ] {
        keys.push(format!("act.{a}"));
    }
    for prefix in ["init", "grad", "adam1", "adam3"] {
        for (name, _) in param_specs(classes) {
            keys.push(format!("{prefix}.{name}"));
        }
    }
    keys
}

/// Run every check of the reference file at `path` on `backend`. Fails (before computing
/// anything) when a key is missing or a tensor has the wrong shape, naming it.
pub fn verify(path: &std::path::Path, backend: &mut dyn Backend) -> Result<Vec<Check>> {
    let file = TensorFile::read(path)?;
    let classes = match file.tensors.get("init.fc.bias") {
        Some(t) if t.shape.len() == 1 && t.shape[0] > 0 => t.shape[0],
        _ => 3,
    };
    if let Some(missing) = required_keys(classes)
        .into_iter()
        .find(|k| !file.tensors.contains_key(k))
    {
        return Err(Error::Checkpoint(format!(
            "{} has no tensor `{missing}` (a reference dump needs every key of ../shared/golden/README.md)",
            path.display()
        )));
    }
    let input = file.get("input")?;
    let n = input.shape.first().copied().unwrap_or(0);
    let x = file.get_shaped("input", &[n, IN_CHANNELS, IMAGE_SIDE, IMAGE_SIDE])?;
    if n == 0 {
        return Err(Error::Checkpoint(format!(
            "{}: tensor `input` holds no images",
            path.display()
        )));
    }
    let target = file.get_shaped("target", &[n])?;
    // i64 as PyTorch stores class indices; whole-number floats are accepted too
    let ints: Vec<i64> = match &target.ints {
        Some(v) => v.clone(),
        None => target
            .data
            .iter()
            .map(|&f| if f.fract() == 0.0 { f as i64 } else { -1 })
            .collect(),
    };
    let targets: Vec<usize> = ints
        .iter()
        .map(|&t| usize::try_from(t).ok().filter(|&t| t < classes))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            Error::Checkpoint(format!(
                "{}: tensor `target` must hold integer classes 0..{classes}",
                path.display()
            ))
        })?;

    let mut params = Vec::new();
    for (name, shape) in param_specs(classes) {
        let t = file.get_shaped(&format!("init.{name}"), &shape)?;
        params.push(Param {
            name,
            shape,
            data: t.data.clone(),
        });
    }
    let mut net = ShapesNet::from_params(params)
        .ok_or_else(|| Error::Checkpoint(format!("{}: bad init tensors", path.display())))?;

    let mut checks: Vec<Check> = Vec::new();
    let check = |checks: &mut Vec<Check>, name: &str, ours: &[f32], measure: Measure| {
        let theirs = file.get(name)?;
        checks.push(Check {
            name: name.to_string(),
            error: compare(ours, &theirs.data, measure),
            tolerance: match measure {
                Measure::Relative => REL_TOL,
                Measure::Absolute => ABS_TOL,
            },
            measure,
        });
        Ok::<(), Error>(())
    };

    // activations, with the reference array ops (the code the lessons run)
    let xa = Array4::from_shape_vec((n, IN_CHANNELS, IMAGE_SIDE, IMAGE_SIDE), x.data.clone())
        .map_err(|e| Error::shape("input", e))?;
    let tr = net.forward_trace(&xa);
    let flat = |a: &Array4<f32>| a.iter().copied().collect::<Vec<f32>>();
    for (name, a) in [
        ("act.conv1", &tr.conv1),
        ("act.pool1", &tr.pool1),
        ("act.relu1", &tr.relu1),
        ("act.conv2", &tr.conv2),
        ("act.pool2", &tr.pool2),
        ("act.relu2", &tr.relu2),
        ("act.conv3", &tr.conv3),
        ("act.relu3", &tr.relu3),
    ] {
        check(&mut checks, name, &flat(a), Measure::Relative)?;
    }
    check(
        &mut checks,
        "act.logits",
        &tr.logits.iter().copied().collect::<Vec<_>>(),
        Measure::Relative,
    )?;
    check(
        &mut checks,
        "act.log_probs",
        &tr.log_probs.iter().copied().collect::<Vec<_>>(),
        Measure::Relative,
    )?;

    // the same activations from the CPU backend's own pass, which keeps its maps for the
    // inspector (`cnn-tutor explore`)
    let bt = super::cpu::forward_trace(&net, &x.data)?;
    let v = |a: ndarray::ArrayViewD<'_, f32>| a.iter().copied().collect::<Vec<f32>>();
    for (name, ours) in [
        ("act.conv1", v(bt.conv1.view().into_dyn())),
        ("act.pool1", v(bt.pool1.view().into_dyn())),
        ("act.relu1", v(bt.relu1.view().into_dyn())),
        ("act.conv2", v(bt.conv2.view().into_dyn())),
        ("act.pool2", v(bt.pool2.view().into_dyn())),
        ("act.relu2", v(bt.relu2.view().into_dyn())),
        ("act.conv3", v(bt.conv3.view().into_dyn())),
        ("act.relu3", v(bt.relu3.view().into_dyn())),
        ("act.logits", v(bt.logits.view().into_dyn())),
        ("act.log_probs", v(bt.log_probs.view().into_dyn())),
    ] {
        check(&mut checks, name, &ours, Measure::Relative)?;
        if let Some(last) = checks.last_mut() {
            last.name = format!("{name} (cpu pass)");
        }
    }

    // loss, gradients and Adam, on the backend (the code training runs)
    let mut adam = Adam::new(0.001, &net.params);
    let mut losses = Vec::new();
    for step in 1..=3 {
        let stats = backend.forward_backward(&net, &x.data, &targets, None)?;
        losses.push(stats.loss);
        if step == 1 {
            check(&mut checks, "loss", &[stats.loss], Measure::Relative)?;
            let log_probs = backend.predict(&net, &x.data)?;
            check(
                &mut checks,
                "act.log_probs",
                &log_probs.iter().copied().collect::<Vec<_>>(),
                Measure::Relative,
            )?;
            if let Some(last) = checks.last_mut() {
                last.name = "act.log_probs (backend)".into();
            }
            for (p, g) in net.params.iter().zip(backend.grads()) {
                check(
                    &mut checks,
                    &format!("grad.{}", p.name),
                    g,
                    Measure::Relative,
                )?;
            }
        }
        adam.step(&mut net.params, backend.grads());
        if step == 1 || step == 3 {
            for p in &net.params {
                check(
                    &mut checks,
                    &format!("adam{step}.{}", p.name),
                    &p.data,
                    Measure::Absolute,
                )?;
            }
        }
    }
    check(&mut checks, "adam.losses", &losses, Measure::Relative)?;
    Ok(checks)
}
