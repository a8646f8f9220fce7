//! `cnn-tutor replay FILE.cast`: play a recording in this terminal (see
//! [`crate::tui::replay`]).

use super::ReplayArgs;
use crate::Result;

/// Play the recording until it ends or the user quits.
pub fn run(args: &ReplayArgs) -> Result<()> {
    crate::tui::replay::run(&args.file, args.speed, args.idle_limit)
}
