//! `cnn-tutor lessons` and `cnn-tutor lesson ID --plain [--step N]`, run as a user would.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn lessons_lists_ids_and_titles() {
    let o = run(&["lessons"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 16);
    assert!(lines[0].starts_with("convolution") && lines[0].ends_with("Convolution"));
    assert!(lines.iter().any(|l| l.starts_with("fully-connected ")));
    assert!(!out.contains('\x1b'));
}

#[test]
fn every_lesson_prints_as_plain_text() {
    for id in [
        "convolution",
        "relu",
        "pooling",
        "dropout",
        "flatten",
        "fully-connected",
        "architecture",
        "backprop",
        "train",
    ] {
        let o = run(&["lesson", id, "--plain"]);
        assert!(o.status.success(), "{id}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("Step 1 of "), "{id}");
        assert!(!out.contains('\x1b'), "{id}: escape codes in plain output");
    }
}

#[test]
fn plain_convolution_shows_the_window_the_sum_and_the_map() {
    let o = run(&["lesson", "convolution", "--plain", "--step", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Step 2 of 19"), "{out}");
    assert!(out.contains("[255][255][255]"), "{out}");
    assert!(out.contains("(255 x 1) + (255 x -1)"), "{out}");
    assert!(out.contains("= 155"), "{out}");
    assert!(out.contains("<155>"), "{out}");
    assert!(out.contains('?'), "{out}");
    // only that step
    assert!(!out.contains("Step 3 of"));
}

#[test]
fn plain_relu_and_pooling_hold_the_seed_rows() {
    let relu = stdout(&run(&["lesson", "relu", "--plain"]));
    assert!(relu
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["0", "310", "155", "310", "0", "0"]));
    let pool = stdout(&run(&["lesson", "pooling", "--plain"]));
    assert!(pool
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["310", "310", "155"]));
}

#[test]
fn an_unknown_id_lists_the_valid_ones() {
    let o = run(&["lesson", "convolutoin", "--plain"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("convolutoin") && err.contains("convolution, relu, pooling"),
        "{err}"
    );
}

#[test]
fn a_step_out_of_range_is_one_line() {
    for step in ["0", "20"] {
        let o = run(&["lesson", "convolution", "--plain", "--step", step]);
        assert!(!o.status.success());
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("1 to 19"), "{err}");
    }
}

#[test]
fn a_bad_lessons_folder_is_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("01-x.toml"),
        "id = \"x\"\ntitle = \"X\"\nkind = \"relu\"\nimgae = [[1]]\n",
    )
    .unwrap();
    let o = run(&["--lessons", dir.path().to_str().unwrap(), "lessons"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("01-x.toml") && err.contains("line 4") && err.contains("imgae"),
        "{err}"
    );
}

#[test]
fn lesson_step_opens_the_app_at_that_step() {
    use cnn_tutor::tui::{build_app, Options, Screen, Theme};
    let options = Options {
        start_lesson: Some("convolution".into()),
        start_step: Some(5),
        ..Options::default()
    };
    let (app, _) = build_app(&options, Theme::new(false, true)).expect("opens");
    let Screen::Lesson(state) = app.screen() else {
        panic!("not on the lesson screen");
    };
    assert_eq!(state.step, 4, "step 5 is index 4");
    assert!(!state.playing);
}

#[test]
fn lesson_step_out_of_range_without_plain_is_one_line() {
    // checked before the app needs a terminal: the same line as --plain gives
    let o = run(&["lesson", "convolution", "--step", "20"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("1 to 19"), "{err}");
}

/// issue 23: a worksheet's blanks are all numbered (`__3__`), every number is answered in
/// the key, every question has its blank, and no line is over 100 characters.
#[test]
fn every_worksheet_has_numbered_blanks_each_answered() {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    for l in &lessons {
        let text = cnn_tutor::lesson::plain::worksheet(l).expect("worksheet");
        assert!(
            !text.contains("____"),
            "{}: a blank without a number",
            l.id()
        );
        for line in text.lines() {
            assert!(
                line.chars().count() <= 100,
                "{}: long line `{line}`",
                l.id()
            );
        }
        let (body, key) = text
            .split_once("\nAnswers\n=======\n")
            .unwrap_or((&text, ""));
        let mut numbers = std::collections::BTreeSet::new();
        let mut rest = body;
        while let Some(at) = rest.find("__") {
            let tail = &rest[at + 2..];
            let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
            assert!(
                !digits.is_empty() && tail[digits.len()..].starts_with("__"),
                "{}: a blank that is not `__n__` near `{}`",
                l.id(),
                &rest[at..(at + 12).min(rest.len())]
            );
            numbers.insert(digits.parse::<usize>().unwrap());
            rest = &tail[digits.len() + 2..];
        }
        let asked = body.lines().filter(|l| l.starts_with("Question ")).count();
        assert_eq!(numbers.len(), asked, "{}: one number per question", l.id());
        for n in &numbers {
            assert!(
                key.lines()
                    .any(|k| k.trim_start().starts_with(&format!("{n}. "))),
                "{}: blank {n} has no answer",
                l.id()
            );
        }
        if asked == 0 {
            assert!(text.contains("Nothing to work out"), "{}", l.id());
            assert!(!text.contains("0 questions"), "{}", l.id());
        }
    }
}

/// issue 23: ReLU groups its runs of cells of 0 into one step each, and asks only the
/// cells that are not 0.
#[test]
fn relu_groups_the_zero_cells() {
    let o = run(&["lesson", "relu", "--plain"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Step 1 of 21:"), "{out}");
    assert!(out.contains("Cells 1 to 7 of 36: 7 zeros stay 0"), "{out}");
    assert!(
        out.contains("Cells 29 to 36 of 36: 8 zeros stay 0"),
        "{out}"
    );
    let ws = stdout(&run(&["lesson", "relu", "--plain", "--worksheet"]));
    assert!(ws.contains("question 14): 14\n    questions,"), "{ws}");
    assert!(!ws.contains("holds 0:"), "a cell of 0 is not asked");
}
