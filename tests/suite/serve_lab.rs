//! The teacher's lab for the whole class (`serve --lab FILE`, issue 26 item 14): every
//! student's training screen opens with the lab's settings, the locked ones are shown as
//! locked and cannot be changed, and a bad lab file stops the server at once with one line
//! naming the file, line and field.

use std::process::{Command, Stdio};
use std::sync::Arc;

use cnn_tutor::nn::arch::Arch;
use cnn_tutor::train::lab::{ClassLab, LabSetting, LabSetup};

use crate::common::ssh;
use ssh::{config, connect, first_lesson_title, start, train_lesson_index, Term, CODE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_trains_the_teachers_lab_with_its_locked_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.data_dir = dir.path().join("shapes");
    cnn_tutor::data::shapes::generate(&c.data_dir, 20, 1).expect("images");
    c.lab = Some(Arc::new(ClassLab {
        title: "Small nets".into(),
        setup: LabSetup {
            arch: Some(Arch::parse("conv(4,3) maxpool(4) relu flatten linear").unwrap()),
            epochs: Some(2),
            lr: Some(0.01),
            ..LabSetup::default()
        },
        locked: vec![LabSetting::Epochs, LabSetting::Arch],
    }));
    let server = start(c);
    let mut h = connect(server.addr()).await;
    assert!(h
        .authenticate_password("ada", CODE)
        .await
        .unwrap()
        .success());
    let mut t = Term::open(&h, 120, 40).await;
    t.until_text(&first_lesson_title()).await;
    for _ in 0..train_lesson_index() {
        t.keys(b"j").await;
    }
    t.keys(b"\r").await;
    t.keys(b"\r").await;
    let screen = t.until_text("lab: Small nets").await;
    let line = |s: &str, what: &str| {
        s.lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what}:\n{s}"))
            .to_string()
    };
    let epochs = line(&screen, "Epochs");
    assert!(
        epochs.contains(" 2 ") && epochs.contains("[locked"),
        "{epochs}"
    );
    let lr = line(&screen, "Learning rate");
    assert!(lr.contains("0.01") && !lr.contains("[locked"), "{lr}");
    assert!(line(&screen, "Network").contains("[locked"), "{screen}");
    // typing over the locked epochs is refused, with the reason
    t.keys(b"9").await;
    t.until_text("Epochs is locked by the teacher for this lab")
        .await;
    // the unlocked learning rate can change
    t.keys(b"\x1b[B\x1b[B").await;
    t.keys(b"0.002\r").await;
    t.until_text("(default 0.001)").await;
    // the run trains the lab's network for the lab's epochs
    t.keys(b"s").await;
    t.until_text("Training · done").await;
    let runs = cnn_tutor::serve::class::student_runs_dir(dir.path(), "ada");
    let run = std::fs::read_dir(&runs)
        .expect("ada's runs are kept")
        .filter_map(Result::ok)
        .map(|e| e.path().join("run.json"))
        .find(|p| p.exists())
        .expect("a run record");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run).unwrap()).unwrap();
    let text = run.to_string();
    assert!(
        text.contains("conv(4,3) maxpool(4) relu flatten linear"),
        "{text}"
    );
    assert_eq!(run["config"]["epochs"], 2, "{text}");
    assert_eq!(
        run["config"]["lr"].as_f64().map(|v| (v * 1e6).round()),
        Some(2000.0),
        "{text}"
    );
}

/// A lab file that cannot be used: one line naming the file, the line and the field, and
/// exit status 2, before anyone can connect.
#[test]
fn a_bad_lab_file_stops_the_server_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab.toml");
    std::fs::write(
        &lab,
        "title = \"x\"\nepochs = 4\nlock = [\"epochs\", \"colour\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
        .args(["serve", "--listen", "127.0.0.1:0", "--lab"])
        .arg(&lab)
        .env("CNN_TUTOR_STATE_DIR", dir.path())
        .env("CNN_TUTOR_CODE", CODE)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("lab.toml: line 3, column 8: field `lock`: `colour` is not a setting"),
        "{err}"
    );
}
