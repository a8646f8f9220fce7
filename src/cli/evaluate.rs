//! `cnn-tutor evaluate`.

use crate::cli::EvaluateArgs;
use crate::{Error, Result};

pub fn run(_args: &EvaluateArgs) -> Result<()> {
    Err(Error::Other("`evaluate` is not built yet".into()))
}
