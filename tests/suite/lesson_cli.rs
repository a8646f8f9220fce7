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
    assert_eq!(lines.len(), 9);
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
