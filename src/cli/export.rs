//! `cnn-tutor export --pytorch FILE.py`: the model's network as a short PyTorch file
//! ([`crate::nn::pytorch::module_source`]) that loads the checkpoint and classifies images.

use crate::cli::ExportArgs;
use crate::nn::checkpoint;
use crate::{Error, Result};

/// Run `cnn-tutor export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let Some(out) = &args.pytorch else {
        return Err(Error::Usage(
            "say what to export: --pytorch FILE.py writes the model's network as a PyTorch module"
                .into(),
        ));
    };
    let (net, meta) = checkpoint::load(&args.model)?;
    let classes: Vec<String> = if meta.classes.len() == net.classes() {
        meta.classes
    } else {
        (0..net.classes()).map(|i| format!("class{i}")).collect()
    };
    let source = crate::nn::pytorch::module_source(&net.plan, &classes);
    crate::fsutil::write_atomic(out, source.as_bytes())?;
    crate::outln!(
        "Wrote {} ({}); run it as: python {} {} IMAGE...",
        crate::text::path(out),
        net.plan.arch,
        crate::text::path(out),
        crate::text::path(&args.model),
    );
    Ok(())
}
