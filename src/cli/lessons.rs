//! `cnn-tutor lessons` and `cnn-tutor lesson ID --plain`.

use crate::cli::{GlobalOpts, LessonArgs};
use crate::{Error, Result};

pub fn list(_global: &GlobalOpts) -> Result<()> {
    Err(Error::Other("`lessons` is not built yet".into()))
}

pub fn plain(_global: &GlobalOpts, _args: &LessonArgs) -> Result<()> {
    Err(Error::Other("`lesson --plain` is not built yet".into()))
}
