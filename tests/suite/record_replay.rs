//! `--record FILE.cast` and `cnn-tutor replay` (issue 26, item 13): the recording is an
//! asciicast v2 file line by line (header, well-formed events, times that never go back, one
//! marker per lesson step visited), its output played into a terminal emulator is the
//! screen the app drew, and `replay` plays it back (and refuses what it cannot play, with
//! one line naming the file and line).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

/// The recording's lines: the header and the events, each checked against the asciicast
/// v2 format as it is read.
fn read_cast(path: &Path) -> (Value, Vec<(f64, String, String)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).expect("a JSON header");
    assert!(header.is_object(), "{header}");
    assert_eq!(header["version"], 2, "{header}");
    let mut events = Vec::new();
    let mut last = 0.0;
    for (n, line) in lines.enumerate() {
        let e: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 2));
        let a = e
            .as_array()
            .unwrap_or_else(|| panic!("line {}: not an array", n + 2));
        assert_eq!(a.len(), 3, "line {}: {line}", n + 2);
        let t = a[0].as_f64().expect("time is a number");
        assert!(t >= last, "line {}: time {t} goes back from {last}", n + 2);
        last = t;
        let code = a[1].as_str().expect("code is a string").to_string();
        assert!(
            ["o", "m", "r"].contains(&code.as_str()),
            "line {}: code {code}",
            n + 2
        );
        let data = a[2].as_str().expect("data is a string").to_string();
        events.push((t, code, data));
    }
    (header, events)
}

/// The screen `bytes` leave on a `cols` x `rows` terminal, one line per row, without the
/// spaces at the ends of lines.
fn emulate(bytes: &[u8], cols: u16, rows: u16) -> String {
    let mut vt = vt100::Parser::new(rows, cols, 0);
    vt.process(bytes);
    let screen = vt.screen();
    (0..rows)
        .map(|r| {
            let row: String = screen.rows(0, cols).nth(r as usize).unwrap_or_default();
            row.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the app draws at lesson `id` step `step` (1-based) on an ASCII, colourless
/// terminal, in the same form as [`emulate`].
fn drawn(id: &str, step: usize, cols: u16, rows: u16) -> String {
    use cnn_tutor::tui::{App, Progress, Theme};
    let lessons = cnn_tutor::lesson::builtin().unwrap();
    let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
    app.open_by_id(id).unwrap();
    app.open_step(step).unwrap();
    crate::common::screen(&app, cols, rows)
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Record `lesson convolution --step 2`, step right three times and left once, quit.
#[cfg(target_os = "linux")]
fn record_a_walk(cast: &Path) {
    use crate::common::pty;
    let path = cast.to_str().unwrap();
    let args = [
        "--ascii",
        "lesson",
        "convolution",
        "--step",
        "2",
        "--record",
        path,
    ];
    let mut app = pty::App::start_with(&args, (80, 24));
    // ratatui writes only the cells that change: the step is read off the emulated screen
    let showing = |app: &pty::App, step: usize| {
        let start = std::time::Instant::now();
        let want = format!("step {step}/19");
        while !emulate(app.output().as_bytes(), 80, 24).contains(&want) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no step {step}: {}",
                emulate(app.output().as_bytes(), 80, 24)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    showing(&app, 2);
    for (key, step) in [("\x1b[C", 3), ("\x1b[C", 4), ("\x1b[C", 5), ("\x1b[D", 4)] {
        app.send(key.as_bytes());
        showing(&app, step);
    }
    app.send(b"q");
    let status = app.exit_within(Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_recording_is_asciicast_v2_with_a_marker_per_step_and_the_screen_it_drew() {
    let dir = tempfile::tempdir().unwrap();
    let cast = dir.path().join("class.cast");
    record_a_walk(&cast);
    let (header, events) = read_cast(&cast);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(80), Some(24))
    );
    assert!(header["timestamp"].is_u64(), "{header}");
    // one marker per step visited, in order, each naming the lesson and the step
    let markers: Vec<&str> = events
        .iter()
        .filter(|e| e.1 == "m")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(markers.len(), 5, "{markers:?}");
    for (label, step) in markers.iter().zip([2, 3, 4, 5, 4]) {
        assert!(
            label.starts_with(&format!("convolution step {step}/19: Window ")),
            "{label}"
        );
    }
    // the output played into a terminal is what the app draws at step 4
    let out: String = events
        .iter()
        .filter(|e| e.1 == "o")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(
        emulate(out.as_bytes(), 80, 24),
        drawn("convolution", 4, 80, 24)
    );
    // a marker comes just after its step's frame: the output before the third marker
    // (step 4) shows step 4, as a player seeking to it shows
    let third = events
        .iter()
        .position(|e| e.2.starts_with("convolution step 4/"))
        .unwrap();
    let upto: String = events[..third]
        .iter()
        .filter(|e| e.1 == "o")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(
        emulate(upto.as_bytes(), 80, 24),
        drawn("convolution", 4, 80, 24)
    );

    // recording again into the same file appends: one header, times go on
    record_a_walk(&cast);
    let (_, again) = read_cast(&cast);
    assert_eq!(again.iter().filter(|e| e.1 == "m").count(), 10);
    let text = std::fs::read_to_string(&cast).unwrap();
    assert_eq!(text.matches("\"version\"").count(), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn replay_plays_to_the_last_screen_and_jumps_back_a_step() {
    use crate::common::pty;
    let dir = tempfile::tempdir().unwrap();
    let cast = dir.path().join("class.cast");
    record_a_walk(&cast);
    // one row more than the recording: the status line goes there
    let mut player = pty::App::start_with(&["replay", cast.to_str().unwrap()], (80, 25));
    assert!(
        player.wait_for(b"the end", Duration::from_secs(30)),
        "{}",
        player.output()
    );
    let top = |player: &pty::App| {
        let screen = emulate(player.output().as_bytes(), 80, 25);
        screen.lines().take(24).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(top(&player), drawn("convolution", 4, 80, 24));
    // p: back to the chapter before the last one (step 5), shown at once
    player.send(b" p");
    assert!(
        player.wait_for(b"paused 1x | 4/5", Duration::from_secs(10)),
        "{}",
        player.output()
    );
    assert_eq!(top(&player), drawn("convolution", 5, 80, 24));
    player.send(b"q");
    let status = player.exit_within(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(player.output_within(b"\x1b[?1049l", Duration::from_secs(5)));
}

#[cfg(target_os = "linux")]
#[test]
fn replay_refuses_a_recording_larger_than_the_terminal_with_the_size_it_needs() {
    use crate::common::pty;
    let dir = tempfile::tempdir().unwrap();
    let cast = dir.path().join("big.cast");
    std::fs::write(
        &cast,
        "{\"version\": 2, \"width\": 120, \"height\": 40}\n[0.5, \"o\", \"hello\"]\n",
    )
    .unwrap();
    let mut player = pty::App::spawn(&["replay", cast.to_str().unwrap()], (80, 24));
    let status = player.exit_within(Duration::from_secs(10));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "{}",
        player.output()
    );
    assert!(
        player.output_within(b"make it at least 120x40", Duration::from_secs(5)),
        "{}",
        player.output()
    );
}

#[test]
fn replay_names_the_line_of_a_recording_it_cannot_play() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": 24}}\n",
            "line 1: asciicast v3",
        ),
        (
            "{\n  \"version\": 1,\n  \"width\": 80,\n  \"height\": 24,\n  \"stdout\": []\n}\n",
            "line 1: asciicast v1",
        ),
        (
            "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"a\"]\n[0.2, \"o\"]\n",
            "line 3: an event is an array of three",
        ),
        (
            "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"a\"]\nnot json\n",
            "line 3: not a JSON event",
        ),
        (
            "{\"version\": 2, \"height\": 24}\n",
            "line 1: the header's \"width\"",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("{i}.cast"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
            .args(["replay", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&format!("{i}.cast {want}")), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// The screen a recording's events leave, resizes included.
fn emulate_cast(events: &[(f64, String, String)], cols: u16, rows: u16) -> vt100::Parser {
    let mut vt = vt100::Parser::new(rows, cols, 0);
    for (_, code, data) in events {
        match code.as_str() {
            "o" => vt.process(data.as_bytes()),
            "r" => {
                let (c, r) = data.split_once('x').unwrap();
                vt.set_size(r.parse().unwrap(), c.parse().unwrap());
            }
            _ => {}
        }
    }
    vt
}

async fn login(
    addr: std::net::SocketAddr,
    name: &str,
) -> russh::client::Handle<crate::common::ssh::Client> {
    let mut h = crate::common::ssh::connect(addr).await;
    let code = crate::common::ssh::CODE;
    assert!(h.authenticate_password(name, code).await.unwrap().success());
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_records_the_teachers_session_and_goes_on_after_a_reconnect() {
    use crate::common::ssh::{config, eventually, start, Term};
    let dir = tempfile::tempdir().unwrap();
    let cast = dir.path().join("class.cast");
    let mut c = config(dir.path());
    c.teacher = Some("teach".into());
    c.record = Some(cast.clone());
    let server = start(c);
    let ht = login(server.addr(), "teach").await;
    let mut teacher = Term::open(&ht, 100, 30).await;
    teacher.until_text("cnn-tutor class").await;
    // a student's session is not recorded
    let hs = login(server.addr(), "kim").await;
    let mut student = Term::open(&hs, 90, 28).await;
    student.keys(b"\r").await;
    student.until_text("step 1/").await;
    // the teacher's own lessons: the first lesson, two steps on
    teacher.keys(b"\t").await;
    teacher.keys(b"\r").await;
    teacher.until_text("step 1/").await;
    teacher.keys(b"\x1b[C").await;
    teacher.until_text("step 2/").await;
    teacher.keys(b"\x1b[C").await;
    teacher.until_text("step 3/").await;
    // the marker is written just after the frame is sent
    let marked = |n: usize| {
        let cast = cast.clone();
        move || read_cast(&cast).1.iter().filter(|e| e.1 == "m").count() == n
    };
    eventually("three markers", marked(3)).await;
    let (header, events) = read_cast(&cast);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(100), Some(30))
    );
    let markers: Vec<&str> = events
        .iter()
        .filter(|e| e.1 == "m")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(markers.len(), 3, "{markers:?}");
    for (label, step) in markers.iter().zip(1..) {
        assert!(
            label.starts_with(&format!("convolution step {step}/19")),
            "{label}"
        );
    }
    // what was recorded is what the teacher's terminal shows
    let vt = emulate_cast(&events, 100, 30);
    assert_eq!(vt.screen().contents(), teacher.screen());

    // the teacher leaves and comes back at another size: the same file goes on
    drop(teacher);
    drop(ht);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ht = login(server.addr(), "teach").await;
    let mut teacher = Term::open(&ht, 80, 24).await;
    teacher.until_text("cnn-tutor class").await;
    teacher.keys(b"\t").await;
    teacher.keys(b"\r").await;
    teacher.until_text("step 1/").await;
    teacher.keys(b"\x1b[C").await;
    teacher.until_text("step 2/").await;
    eventually("five markers", marked(5)).await;
    let (_, events) = read_cast(&cast);
    let text = std::fs::read_to_string(&cast).unwrap();
    assert_eq!(text.matches("\"version\"").count(), 1);
    assert!(
        events.iter().any(|e| e.1 == "r" && e.2 == "80x24"),
        "no resize"
    );
    assert_eq!(events.iter().filter(|e| e.1 == "m").count(), 5);
    let vt = emulate_cast(&events, 100, 30);
    assert_eq!(vt.screen().size(), (24, 80));
    assert_eq!(vt.screen().contents(), teacher.screen());
    drop(student);
}
