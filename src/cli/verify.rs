//! `cnn-tutor verify`: compare every tensor with a PyTorch reference dump.

use crate::backend;
use crate::backend::reference::{self, Measure};
use crate::cli::VerifyArgs;
use crate::{Error, Result};

/// Run `cnn-tutor verify`: one line per tensor, then a summary; an error (exit 1) when
/// any tensor is outside its tolerance.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let (mut backend, note) = backend::select(args.device, None)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let verified = reference::verify(&args.reference, backend.as_mut())?;
    let checks = &verified.checks;
    crate::outln!(
        "Checking {} on {}",
        args.reference.display(),
        backend.name()
    );
    crate::outln!(
        "network: {} ({} mode, input {})",
        verified.dump.plan.arch,
        if verified.dump.train { "train" } else { "eval" },
        verified.dump.plan.input
    );
    crate::outln!(
        "{:<28} {:>12} {:>10}  result",
        "tensor",
        "max error",
        "tolerance"
    );
    for c in checks {
        let kind = match c.measure {
            Measure::Relative => "rel",
            Measure::Absolute => "abs",
        };
        crate::outln!(
            "{:<28} {:>12.3e} {:>6.0e} {kind}  {}",
            c.name,
            c.error,
            c.tolerance,
            if c.pass() { "PASS" } else { "FAIL" }
        );
    }
    for name in &verified.unknown {
        crate::outln!(
            "{:<28} {:>12} {:>10}  UNKNOWN (not a tensor of this network's dump)",
            crate::text::escaped(name),
            "-",
            "-"
        );
    }
    let failed = checks.iter().filter(|c| !c.pass()).count();
    if !verified.unknown.is_empty() {
        return Err(Error::Other(format!(
            "{} tensor(s) of the file are not known for this network (named above); {failed} of {} checked tensors are outside tolerance",
            verified.unknown.len(),
            checks.len()
        )));
    }
    if failed > 0 {
        return Err(Error::Other(format!(
            "{failed} of {} tensors are outside tolerance",
            checks.len()
        )));
    }
    crate::outln!("All {} tensors match within tolerance.", checks.len());
    Ok(())
}
