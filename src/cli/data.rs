//! `cnn-tutor data generate`.

use crate::cli::GenerateArgs;
use crate::{Error, Result};

pub fn generate(_args: &GenerateArgs) -> Result<()> {
    Err(Error::Other("`data generate` is not built yet".into()))
}
