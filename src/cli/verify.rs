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
    let checks = reference::verify(&args.reference, backend.as_mut())?;
    crate::outln!(
        "Checking {} on {}",
        args.reference.display(),
        backend.name()
    );
    crate::outln!(
        "{:<28} {:>12} {:>10}  result",
        "tensor",
        "max error",
        "tolerance"
    );
    for c in &checks {
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
    let failed = checks.iter().filter(|c| !c.pass()).count();
    if failed > 0 {
        return Err(Error::Other(format!(
            "{failed} of {} tensors are outside tolerance",
            checks.len()
        )));
    }
    crate::outln!("All {} tensors match within tolerance.", checks.len());
    Ok(())
}
