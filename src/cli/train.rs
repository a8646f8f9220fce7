//! `cnn-tutor train`.

use crate::cli::TrainArgs;
use crate::{Error, Result};

pub fn run(_args: &TrainArgs) -> Result<()> {
    Err(Error::Other("`train` is not built yet".into()))
}
