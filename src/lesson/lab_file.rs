//! A teacher's lab for a whole class (`serve --lab FILE`): the training settings every
//! student starts from and the ones they cannot change. The file is either a lab file,
//! the settings of an experiment lesson at its top level with an optional `title` and
//! `lock`:
//!
//! ```toml
//! title = "Dropout or not"
//! arch = "conv(12,3) maxpool(2) relu flatten linear"
//! epochs = 8
//! learning_rate = 0.001
//! lock = ["arch", "epochs"]   # left out: every setting the file gives is locked
//! ```
//!
//! or an experiment lesson (`kind = "experiment"`), whose first run is the lab with every
//! setting it gives locked. Errors name the file, line and field.

use std::path::Path;

use toml::Spanned;

use super::check::{self, Ctx};
use super::kinds::experiment::{check_setup, SetupFile};
use super::Lesson;
use crate::nn::arch::{Plan, DEFAULT_INPUT};
use crate::train::lab::{ClassLab, LabSetting};
use crate::Result;

/// Read and check a lab file or an experiment lesson for `serve --lab`.
pub fn read_lab(path: &Path) -> Result<ClassLab> {
    let text = super::read_capped(path)?;
    let name = crate::text::path(path);
    let is_lesson = toml::from_str::<toml::Table>(&text).is_ok_and(|t| t.contains_key("kind"));
    if is_lesson {
        let lesson = Lesson::parse(&name, &text)?;
        let setup = lesson.lab_setup(0).ok_or_else(|| {
            check::fail(format!(
                "{name}: lesson `{}` is not an experiment: --lab takes a lab file or an experiment lesson",
                lesson.id()
            ))
        })?;
        let locked = setup.sets();
        return Ok(ClassLab {
            title: lesson.title().to_string(),
            setup,
            locked,
        });
    }
    let ctx = Ctx {
        name: &name,
        text: &text,
        kind: "lab",
        kind_span: 0..0,
    };
    let mut file: SetupFile = ctx.parse()?;
    let (title, lock) = (file.title.take(), file.lock.take());
    let setup = check_setup(&ctx, &file, "")?;
    let locked = match &lock {
        None => setup.sets(),
        Some(l) => locked_settings(&ctx, l)?,
    };
    let title = match title {
        Some(t) => crate::text::escaped(t.get_ref().trim())
            .chars()
            .take(60)
            .collect(),
        None => path
            .file_stem()
            .map_or_else(|| "lab".into(), |s| s.to_string_lossy().into_owned()),
    };
    Ok(ClassLab {
        title,
        setup,
        locked,
    })
}

/// The settings `lock` names, each once; an unknown name is an error at its line.
fn locked_settings(ctx: &Ctx, lock: &Spanned<Vec<String>>) -> Result<Vec<LabSetting>> {
    let mut out = Vec::new();
    for key in lock.get_ref() {
        let Some(s) = LabSetting::from_key(key) else {
            let known: Vec<&str> = LabSetting::ALL.iter().map(|s| s.key()).collect();
            return Err(ctx.err(
                lock.span(),
                "lock",
                format!("`{key}` is not a setting: use {}", known.join(", ")),
            ));
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Whether the lab's network runs on `classes` classes: the reason, naming the file, when
/// it does not (`serve` checks it against its data before any student logs in).
pub fn check_lab_plans(lab: &ClassLab, path: &Path, classes: usize) -> Result<()> {
    let Some(arch) = &lab.setup.arch else {
        return Ok(());
    };
    Plan::new(arch, DEFAULT_INPUT, classes.max(2)).map_err(|e| {
        check::fail(format!(
            "{}: field `arch`: {} (on the class's {classes} classes)",
            crate::text::path(path),
            e.to_string().trim_start_matches("architecture: ")
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ClassLab> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lab.toml");
        std::fs::write(&p, text).unwrap();
        read_lab(&p)
    }

    #[test]
    fn a_lab_file_locks_what_it_names_or_else_all_it_sets() {
        let lab = read("title = \"Dropout\"\nepochs = 8\nlearning_rate = 0.01\nlock = [\"epochs\", \"arch\"]\n").unwrap();
        assert_eq!(lab.title, "Dropout");
        assert_eq!(lab.setup.epochs, Some(8));
        assert_eq!(lab.setup.lr, Some(0.01));
        assert_eq!(lab.locked, vec![LabSetting::Epochs, LabSetting::Arch]);
        let lab = read("epochs = 3\nseed = 7\n").unwrap();
        assert_eq!(lab.title, "lab");
        assert_eq!(lab.locked, vec![LabSetting::Epochs, LabSetting::Seed]);
    }

    #[test]
    fn errors_name_the_file_line_and_field() {
        let e = read("epochs = 3\nlock = [\"epochs\", \"speed\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lab.toml: line 2") && e.contains("field `lock`"),
            "{e}"
        );
        assert!(e.contains("`speed` is not a setting"), "{e}");
        let e = read("epochs = 0\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("`epochs`"), "{e}");
        let e = read("epochs = 3\nwings = 2\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("wings"), "{e}");
        let e = read("arch = \"conv(12,3) wings\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("`arch`"), "{e}");
        let lab = read("arch = \"conv(12,3) maxpool(8) maxpool(8) maxpool(8) flatten linear\"\n")
            .unwrap();
        let e = check_lab_plans(&lab, Path::new("lab.toml"), 3)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("lab.toml: field `arch`: ") && e.contains("3 classes"),
            "{e}"
        );
    }

    #[test]
    fn an_experiment_lesson_is_its_first_run_locked() {
        let lessons = crate::lesson::load(None).unwrap();
        let overfit = lessons
            .iter()
            .find(|l| l.id() == "exp-overfitting")
            .unwrap();
        let want = overfit.lab_setup(0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("11.toml");
        let text = include_str!("../../lessons/11-overfitting.toml");
        std::fs::write(&p, text).unwrap();
        let lab = read_lab(&p).unwrap();
        assert_eq!(lab.setup, want);
        assert_eq!(lab.locked, want.sets());
        assert_eq!(lab.title, overfit.title());
        let conv = dir.path().join("01.toml");
        std::fs::write(&conv, include_str!("../../lessons/01-convolution.toml")).unwrap();
        let e = read_lab(&conv).unwrap_err().to_string();
        assert!(e.contains("is not an experiment"), "{e}");
    }
}
