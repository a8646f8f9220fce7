//! `cnn-tutor predict`.

use crate::cli::PredictArgs;
use crate::{Error, Result};

pub fn run(_args: &PredictArgs) -> Result<()> {
    Err(Error::Other("`predict` is not built yet".into()))
}
