//! `cnn-tutor lessons`, `cnn-tutor lesson ID --plain` and `cnn-tutor lesson ID --json`.

use std::io::Write;

use crate::cli::{GlobalOpts, LessonArgs};
use crate::{lesson, Error, Result};

/// Print one `id  title` line per lesson, in menu order.
pub fn list(global: &GlobalOpts) -> Result<()> {
    let lessons = lesson::load(global.lessons.as_deref())?;
    let width = lessons.iter().map(|l| l.id().len()).max().unwrap_or(0);
    let mut text = String::new();
    for l in &lessons {
        text.push_str(&format!("{:<width$}  {}\n", l.id(), l.title()));
    }
    print_out(&text)
}

/// Print a lesson's frames (or one of them, `--step N`) as plain text.
pub fn plain(global: &GlobalOpts, args: &LessonArgs) -> Result<()> {
    let lessons = lesson::load(global.lessons.as_deref())?;
    let l = lesson::find(&lessons, &args.id)?;
    // issue 14: `--worksheet` blanks every value the lesson asks, answers at the end
    let text = if args.worksheet {
        if args.step.is_some() {
            return Err(Error::Usage(
                "--worksheet prints the whole lesson; leave out --step".into(),
            ));
        }
        lesson::plain::worksheet(l)?
    } else {
        lesson::plain::lesson(l, args.step)?
    };
    print_out(&text)
}

/// Print a lesson as one JSON document (`lesson ID --json`).
pub fn json(global: &GlobalOpts, args: &LessonArgs) -> Result<()> {
    let lessons = lesson::load(global.lessons.as_deref())?;
    let l = lesson::find(&lessons, &args.id)?;
    print_out(&lesson::export::json(l)?)
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn print_out(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
    }
}
