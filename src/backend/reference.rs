//! Checking the engine against a PyTorch reference dump in the layout of
//! `../shared/golden/README.md`, generalised to any architecture in
//! `tests/fixtures/arch/README.md` (any batch size, seed, input size; metadata `arch` and
//! `mode`): activations, loss, gradients, and the tensors after one and three Adam steps. It lives with the backends because it
//! runs one: the activations come from the reference array ops of [`crate::nn`] (what the
//! lessons run) and from the CPU backend's pass that keeps its maps ([`super::cpu::forward_trace`],
//! what the inspector shows), the loss, gradients and Adam steps from the backend given (what
//! training runs).

use ndarray::Array4;

use super::Backend;
use crate::nn::adam::Adam;
use crate::nn::arch::Plan;
use crate::nn::checkpoint::TensorFile;
use crate::nn::net::Net;
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

/// What a reference dump says of itself: the network it was made for and the mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    /// The network (from the `arch` metadata and the `input` tensor's shape; the course's
    /// net when there is no `arch`).
    pub plan: Plan,
    /// Training mode (`mode` = `train`): batch norm on batch statistics (and its running
    /// statistics updated), dropouts on (the dumps use p = 0).
    pub train: bool,
}

/// Every key a reference file for `plan` must hold: `input`, `target`, `loss`,
/// `adam.losses`, `act.NAME` for every named output, `init.*`, `adam1.*` and `adam3.*`
/// for every tensor (buffers too), `grad.*` for every trainable one.
pub fn required_keys(plan: &Plan) -> Vec<String> {
    let mut keys: Vec<String> = ["input", "target", "loss", "adam.losses"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for a in plan.act_names() {
        keys.push(format!("act.{a}"));
    }
    for prefix in ["init", "grad", "adam1", "adam3"] {
        for t in &plan.tensors {
            if prefix != "grad" || t.trainable {
                keys.push(format!("{prefix}.{}", t.name));
            }
        }
    }
    keys
}

/// The network and mode of a reference file (see [`Dump`]).
pub fn dump_of(file: &TensorFile) -> Result<Dump> {
    let (arch, _) = crate::nn::checkpoint::arch_of(file)?;
    let input = file.get("input")?;
    let [n, c, h, w] = input.shape[..] else {
        return Err(Error::Checkpoint(format!(
            "{}: tensor `input` has shape {:?}, not [N, C, H, W]",
            file.path.display(),
            input.shape
        )));
    };
    if n == 0 {
        return Err(Error::Checkpoint(format!(
            "{}: tensor `input` holds no images",
            file.path.display()
        )));
    }
    let classes = crate::nn::checkpoint::classes_in(file, &arch, "init.").unwrap_or(3);
    let plan = Plan::new(&arch, [c, h, w], classes)
        .map_err(|e| Error::Checkpoint(format!("{}: metadata `arch`: {e}", file.path.display())))?;
    let train = match file.metadata.get("mode").map(String::as_str) {
        None | Some("eval") => false,
        Some("train") => true,
        Some(other) => {
            return Err(Error::Checkpoint(format!(
                "{}: metadata `mode` is `{}`, not `eval` or `train`",
                file.path.display(),
                crate::text::escaped(other)
            )))
        }
    };
    Ok(Dump { plan, train })
}

/// What [`verify`] found: one check per tensor compared, and the tensors of the file it
/// does not know (a name this network does not have).
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The network checked.
    pub dump: Dump,
    /// The comparisons.
    pub checks: Vec<Check>,
    /// Keys of the file that are not a tensor of this network's dump.
    pub unknown: Vec<String>,
}

/// Run every check of the reference file at `path` on `backend`. Fails (before computing
/// anything) when a key is missing or a tensor has the wrong shape, naming it.
pub fn verify(path: &std::path::Path, backend: &mut dyn Backend) -> Result<Verified> {
    let file = TensorFile::read(path)?;
    let dump = dump_of(&file)?;
    let plan = dump.plan.clone();
    let keys = required_keys(&plan);
    if let Some(missing) = keys.iter().find(|k| !file.tensors.contains_key(k.as_str())) {
        return Err(Error::Checkpoint(format!(
            "{} has no tensor `{missing}` (a reference dump for `{}` needs every key of tests/fixtures/arch/README.md)",
            path.display(),
            plan.arch
        )));
    }
    let mut unknown: Vec<String> = file
        .tensors
        .keys()
        .filter(|k| !keys.contains(k))
        .cloned()
        .collect();
    unknown.sort();
    let x = file.get("input")?;
    let targets = targets_of(&file, path, x.shape[0], plan.classes)?;
    let params = crate::nn::checkpoint::params_from(&file, &plan, "init.")?;
    let mut net = Net::from_params(plan.clone(), params)
        .ok_or_else(|| Error::Checkpoint(format!("{}: bad init tensors", path.display())))?;
    let mut ck = Checker {
        file: &file,
        checks: Vec::new(),
    };
    ck.activations(&net, &x.data, x.shape[0], dump.train)?;
    ck.training(backend, &mut net, &x.data, &targets, dump.train)?;
    Ok(Verified {
        dump,
        checks: ck.checks,
        unknown,
    })
}

/// The dump's `target` classes: i64 as PyTorch stores class indices (whole-number floats
/// are accepted too), each below `classes`.
fn targets_of(
    file: &TensorFile,
    path: &std::path::Path,
    n: usize,
    classes: usize,
) -> Result<Vec<usize>> {
    let target = file.get_shaped("target", &[n])?;
    let ints: Vec<i64> = match &target.ints {
        Some(v) => v.clone(),
        None => target
            .data
            .iter()
            .map(|&f| if f.fract() == 0.0 { f as i64 } else { -1 })
            .collect(),
    };
    ints.iter()
        .map(|&t| usize::try_from(t).ok().filter(|&t| t < classes))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            Error::Checkpoint(format!(
                "{}: tensor `target` must hold integer classes 0..{classes}",
                path.display()
            ))
        })
}

/// The comparisons made so far against one reference file.
struct Checker<'a> {
    file: &'a TensorFile,
    checks: Vec<Check>,
}

impl Checker<'_> {
    /// Compare `ours` with the file's tensor `name`.
    fn check(&mut self, name: &str, ours: &[f32], measure: Measure) -> Result<()> {
        let theirs = self.file.get(name)?;
        self.checks.push(Check {
            name: name.to_string(),
            error: compare(ours, &theirs.data, measure),
            tolerance: match measure {
                Measure::Relative => REL_TOL,
                Measure::Absolute => ABS_TOL,
            },
            measure,
        });
        Ok(())
    }

    /// [`Checker::check`], reported under another name.
    fn check_as(&mut self, name: &str, shown: String, ours: &[f32]) -> Result<()> {
        self.check(name, ours, Measure::Relative)?;
        if let Some(last) = self.checks.last_mut() {
            last.name = shown;
        }
        Ok(())
    }

    /// Every named activation, from the reference array ops (the code the lessons run)
    /// and, in eval mode, from the CPU backend's own pass, which keeps its maps for the
    /// inspector (`cnn-tutor explore`).
    fn activations(&mut self, net: &Net, x: &[f32], n: usize, train: bool) -> Result<()> {
        let plan = &net.plan;
        let names = plan.act_names();
        let flat = |a: &ndarray::ArrayD<f32>| a.iter().copied().collect::<Vec<f32>>();
        let [c, h, w] = plan.input_dims();
        let xa = Array4::from_shape_vec((n, c, h, w), x.to_vec())
            .map_err(|e| Error::shape("input", e))?;
        let tr = net.forward_trace_mode(&xa, train);
        for name in &names {
            if let Some(a) = tr.get(name) {
                self.check(&format!("act.{name}"), &flat(a), Measure::Relative)?;
            }
        }
        if !train {
            let bt = super::cpu::forward_trace(net, x)?;
            for name in &names {
                if let Some(a) = bt.get(name) {
                    let key = format!("act.{name}");
                    self.check_as(&key, format!("{key} (cpu pass)"), &flat(a))?;
                }
            }
        }
        Ok(())
    }

    /// The loss, gradients and three Adam steps, on the backend (the code training runs);
    /// a train-mode dump's dropouts have p = 0, so the generator's draws change nothing.
    fn training(
        &mut self,
        backend: &mut dyn Backend,
        net: &mut Net,
        x: &[f32],
        targets: &[usize],
        train: bool,
    ) -> Result<()> {
        let cancelled = if train {
            cancelled_biases(&net.plan)
        } else {
            Vec::new()
        };
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let mut adam = Adam::new(0.001, &net.params);
        let mut losses = Vec::new();
        for step in 1..=3 {
            let mode = train.then_some(&mut rng);
            let stats = backend.forward_backward(net, x, targets, mode)?;
            losses.push(stats.loss);
            if step == 1 {
                self.check("loss", &[stats.loss], Measure::Relative)?;
                if !train {
                    let log_probs = backend.predict(net, x)?;
                    let lp: Vec<f32> = log_probs.iter().copied().collect();
                    self.check_as("act.log_probs", "act.log_probs (backend)".into(), &lp)?;
                }
                self.gradients(net, backend.grads(), &cancelled)?;
            }
            adam.step(&mut net.params, backend.grads());
            if step == 1 || step == 3 {
                for (i, p) in net.params.iter().enumerate() {
                    if cancelled.iter().any(|(b, _)| *b == i) {
                        // Adam turns a rounding-noise gradient into a step of about lr:
                        // the two programs' values differ there, and nothing downstream
                        // sees it
                        continue;
                    }
                    self.check(
                        &format!("adam{step}.{}", p.name),
                        &p.data,
                        Measure::Absolute,
                    )?;
                }
            }
        }
        self.check("adam.losses", &losses, Measure::Relative)
    }

    /// Every trainable tensor's gradient; a bias that a batch norm cancels (`cancelled`,
    /// see [`cancelled_biases`]) is zero up to rounding, compared on the scale of its
    /// layer's weights.
    fn gradients(
        &mut self,
        net: &Net,
        grads: &[Vec<f32>],
        cancelled: &[(usize, usize)],
    ) -> Result<()> {
        for (i, (p, g)) in net.params.iter().zip(grads).enumerate() {
            if !p.trainable {
                continue;
            }
            let key = format!("grad.{}", p.name);
            match cancelled.iter().find(|(b, _)| *b == i) {
                Some(&(_, wi)) => {
                    let scale = grads[wi].iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    let theirs = self.file.get(&key)?;
                    self.checks.push(Check {
                        name: format!("{key} (zero: batch norm follows)"),
                        error: compare(g, &theirs.data, Measure::Absolute)
                            / scale.max(f32::MIN_POSITIVE),
                        tolerance: REL_TOL,
                        measure: Measure::Relative,
                    });
                }
                None => self.check(&key, g, Measure::Relative)?,
            }
        }
        Ok(())
    }
}

/// In training mode, the convolution biases that a batch norm cancels (the layers between
/// only pool or drop whole maps, so the bias shifts every value of a channel alike and
/// the batch norm subtracts it again): their gradient is zero up to rounding. Pairs of
/// (bias index, weight index) into the net's tensors.
pub fn cancelled_biases(plan: &Plan) -> Vec<(usize, usize)> {
    use crate::nn::arch::Layer;
    let mut out = Vec::new();
    for (i, l) in plan.layers.iter().enumerate() {
        if !matches!(l.layer, Layer::Conv { .. }) {
            continue;
        }
        let next = plan.layers[i + 1..].iter().map(|n| n.layer).find(|n| {
            !matches!(
                n,
                Layer::MaxPool { .. } | Layer::AvgPool { .. } | Layer::Dropout2d { .. }
            )
        });
        if next == Some(Layer::BatchNorm) {
            out.push((l.tensors[1], l.tensors[0]));
        }
    }
    out
}
