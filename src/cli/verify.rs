//! `cnn-tutor verify`.

use crate::cli::VerifyArgs;
use crate::{Error, Result};

pub fn run(_args: &VerifyArgs) -> Result<()> {
    Err(Error::Other("`verify` is not built yet".into()))
}
