//! `cnn-tutor data generate` and `cnn-tutor data check`.

use crate::cli::{CheckArgs, GenerateArgs};
use crate::{Error, Result};

/// Draw the seed's shapes into `--out` and print a one-line summary.
pub fn generate(args: &GenerateArgs) -> Result<()> {
    let summary = crate::data::generate(&args.out, args.per_class, args.seed)?;
    crate::outln!("{summary}");
    Ok(())
}

/// Report on a data folder; an error (exit 1) when training on it would fail.
pub fn check(args: &CheckArgs) -> Result<()> {
    let report = crate::data::check::check_folder(&args.dir)?;
    for line in report.lines() {
        crate::outln!("{line}");
    }
    match report.fatal() {
        Some(why) => Err(Error::Data(why)),
        None => Ok(()),
    }
}
