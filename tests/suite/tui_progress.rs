//! The progress file: round trip, atomic replacement, damaged files ignored with a note, and
//! the state folder chosen by `CNN_TUTOR_STATE_DIR`.

use cnn_tutor::tui::{build_app, default_progress_path, Options, Progress, Theme};

#[test]
fn progress_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/progress.json");
    let mut p = Progress::new();
    p.visit("relu");
    p.finish("convolution");
    p.save(&path).expect("saves");
    let (back, note) = Progress::load(&path);
    assert_eq!(note, None);
    assert_eq!(back, p);
    assert!(back.get("convolution").finished);
    assert!(back.get("relu").visited && !back.get("relu").finished);
}

#[test]
fn missing_file_is_fresh_progress_without_a_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, note) = Progress::load(&dir.path().join("progress.json"));
    assert_eq!(p, Progress::new());
    assert_eq!(note, None);
}

#[test]
fn damaged_files_are_ignored_with_a_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("progress.json");
    for bad in [
        &b"{ not json"[..],
        b"",
        b"[1, 2, 3]",
        b"{\"lessons\": {\"relu\": 5}}",
        b"\xff\xfe\x00",
    ] {
        std::fs::write(&path, bad).expect("write");
        let (p, note) = Progress::load(&path);
        assert_eq!(p, Progress::new());
        let note = note.expect("a note says the file was ignored");
        assert!(note.contains("progress.json"), "{note}");
    }
    // a folder where the file should be
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).expect("mkdir");
    let (_, note) = Progress::load(&folder);
    assert!(note.is_some());
}

#[test]
fn unknown_fields_and_missing_fields_are_fine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("progress.json");
    std::fs::write(
        &path,
        r#"{"lessons": {"relu": {"visited": true, "extra": 1}}, "future": []}"#,
    )
    .expect("write");
    let (p, note) = Progress::load(&path);
    assert_eq!(note, None);
    assert!(p.get("relu").visited);
}

/// Set in the child process of [`state_dir_from_the_environment_and_a_damaged_file_at_start`].
const CHILD: &str = "CNN_TUTOR_TEST_STATE_CHILD";

/// The environment belongs to the whole test binary (every integration test runs in it), so
/// this test sets `CNN_TUTOR_STATE_DIR` only for a child process of the binary that runs
/// this one test, and checks the child passed.
#[test]
fn state_dir_from_the_environment_and_a_damaged_file_at_start() {
    let Some(state) = std::env::var_os(CHILD).and(std::env::var_os("CNN_TUTOR_STATE_DIR")) else {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = format!(
            "{}::state_dir_from_the_environment_and_a_damaged_file_at_start",
            crate::common::test_module(module_path!())
        );
        let o = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                name.as_str(),
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD, "1")
            .env("CNN_TUTOR_STATE_DIR", dir.path())
            .output()
            .expect("runs");
        let out =
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{out}");
        assert!(out.contains("test result: ok. 1 passed"), "{out}");
        assert!(dir.path().join("progress.json").exists(), "{out}");
        return;
    };
    let dir = std::path::PathBuf::from(state);
    let path = default_progress_path().expect("a path");
    assert_eq!(path, dir.join("progress.json"));

    std::fs::write(&path, "garbage").expect("write");
    let (app, saved_to) = build_app(&Options::default(), Theme::new(false, true))
        .expect("a damaged file is no error");
    assert_eq!(saved_to.as_deref(), Some(path.as_path()));
    assert!(app.notice().is_some_and(|n| n.contains("damaged")));
}
