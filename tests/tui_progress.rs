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

/// The only test in this binary that touches the environment.
#[test]
fn state_dir_from_the_environment_and_a_damaged_file_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::env::set_var("CNN_TUTOR_STATE_DIR", dir.path());
    let path = default_progress_path().expect("a path");
    assert_eq!(path, dir.path().join("progress.json"));

    std::fs::write(&path, "garbage").expect("write");
    let (app, saved_to) = build_app(&Options::default(), Theme::new(false, true))
        .expect("a damaged file is no error");
    assert_eq!(saved_to.as_deref(), Some(path.as_path()));
    assert!(app.notice().is_some_and(|n| n.contains("damaged")));
    std::env::remove_var("CNN_TUTOR_STATE_DIR");
}
