//! Lesson files made to hurt: one far too big to be a lesson, and one whose words hold
//! terminal escape codes. Each gets a clear answer, fast, and no raw escape reaches a
//! terminal (the CLI's output or the TUI's buffer).

use std::fs;
use std::io::Write;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cnn_tutor::lesson::{self, Lesson, MAX_FILE_BYTES};
use cnn_tutor::tui::{render_to_buffer, App, AppEvent, Key, KeyCode, Progress, Theme};
use cnn_tutor::Error;

/// A title that would set the window title, ring the bell and clear the screen.
const EVIL: &str = "Edges \u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";

fn evil_lesson() -> String {
    format!(
        "id = \"evil\"\ntitle = \"{}\"\nsummary = \"sum \\u001b[5m\"\nkind = \"fully-connected\"\n\
         inputs = [1, 2]\nweights = [[1, 0], [0, 1]]\nclasses = [\"a\\u001b[31m\", \"b\"]\n\
         [text]\nintro = \"\"\"\nHello\\u001b]0;x\\u0007 there\n\tand\ttabs.\n\"\"\"\n",
        EVIL.replace('\u{1b}', "\\u001b")
            .replace('\u{7}', "\\u0007")
            .replace('\u{9b}', "\\u009b")
    )
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n')
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

#[test]
fn a_3000_by_3000_image_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let row = format!("[{}]", vec!["1"; 3000].join(","));
    let mut f = fs::File::create(dir.path().join("big.toml")).unwrap();
    write!(
        f,
        "id = \"big\"\ntitle = \"Big\"\nkind = \"convolution\"\nkernel = [[1]]\nimage = ["
    )
    .unwrap();
    for _ in 0..3000 {
        writeln!(f, "{row},").unwrap();
    }
    writeln!(f, "]").unwrap();
    drop(f);
    let size = fs::metadata(dir.path().join("big.toml")).unwrap().len();
    assert!(size > 18_000_000, "{size}");
    let shown = format!("{:.1} MB", size as f64 / 1024.0 / 1024.0);

    let start = Instant::now();
    let msg = match lesson::load_dir(dir.path()) {
        Err(Error::Lesson(msg)) => msg,
        other => panic!("expected a lesson error, got {other:?}"),
    };
    assert!(start.elapsed() < Duration::from_secs(5));
    let want = format!("big.toml: {shown} is too large for a lesson file");
    assert!(msg.contains(&want), "{msg}");
    assert!(
        msg.contains("at most 256 KB; a lesson is a few KB"),
        "{msg}"
    );
}

#[test]
fn a_200_mb_file_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    // sparse: no disk is used, and reading it whole would take minutes
    let f = fs::File::create(dir.path().join("huge.toml")).unwrap();
    f.set_len(200 * 1024 * 1024).unwrap();
    drop(f);
    let start = Instant::now();
    let msg = match lesson::load_dir(dir.path()) {
        Err(Error::Lesson(msg)) => msg,
        other => panic!("expected a lesson error, got {other:?}"),
    };
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(msg.contains("huge.toml: 200.0 MB is too large"), "{msg}");
}

#[test]
fn the_cap_leaves_room_for_every_real_lesson() {
    let most = lesson::builtin()
        .unwrap()
        .iter()
        .map(|l| fs::metadata(l.source()).unwrap().len())
        .max()
        .unwrap();
    // the longest lesson (backprop, with a paragraph per part) is still a small share
    assert!(most * 20 < MAX_FILE_BYTES, "{most}");
    // just over the cap, as text handed to the parser: refused too
    let text = format!("id = \"x\"\n#{}\n", "x".repeat(MAX_FILE_BYTES as usize));
    let err = Lesson::parse("x.toml", &text).unwrap_err().to_string();
    assert!(err.contains("x.toml: 256.0 KB is too large"), "{err}");
}

#[test]
fn escape_codes_in_a_lesson_are_shown_not_obeyed() {
    let l = Lesson::parse("evil.toml", &evil_lesson()).unwrap();
    assert_eq!(l.title(), "Edges \\e]0;pwned\\x07\\e[2J\\u{9b}31m");
    assert_eq!(l.summary(), "sum \\e[5m");
    let frames = l.frames().unwrap();
    assert_eq!(frames[0].text, ["Hello\\e]0;x\\x07 there and tabs."]);
    for f in &frames {
        let all = format!("{f:?}");
        assert!(!all.contains('\u{1b}'), "{all}");
    }
    let plain = lesson::plain::lesson(&l, None).unwrap();
    assert!(!has_control(&plain), "{plain}");
    assert!(
        plain.contains("a\\e[31m"),
        "class names are escaped: {plain}"
    );
}

#[test]
fn escape_codes_reach_neither_the_cli_nor_the_tui() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("01-evil.toml"), evil_lesson()).unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["--lessons", d, "lessons"],
        vec!["--lessons", d, "lesson", "evil", "--plain"],
    ] {
        let o = run(&args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(!has_control(&out), "{args:?}: {out:?}");
        assert!(out.contains("Edges \\e]0;pwned\\x07\\e[2J"), "{out}");
    }

    let lessons = lesson::load_dir(dir.path()).unwrap();
    let mut app = App::new(lessons, Theme::new(true, false), Progress::new());
    let mut screens = vec![render_to_buffer(&app, 100, 30)];
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Enter)));
    for _ in 0..4 {
        screens.push(render_to_buffer(&app, 100, 30));
        cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Right)));
    }
    for buf in &screens {
        for cell in buf.content() {
            assert!(!has_control(cell.symbol()), "{:?}", cell.symbol());
        }
    }
}
