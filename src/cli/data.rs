//! `cnn-tutor data generate`.

use crate::cli::GenerateArgs;
use crate::Result;

/// Draw the seed's shapes into `--out` and print a one-line summary.
pub fn generate(args: &GenerateArgs) -> Result<()> {
    let summary = crate::data::generate(&args.out, args.per_class, args.seed)?;
    crate::outln!("{summary}");
    Ok(())
}
