//! The teacher's console over SSH: a server in-process on loopback, a teacher logging in
//! with a key and students with the class code (russh clients), every screen read back
//! through a terminal emulator (vt100). Each console action and each limit it shows.
//!
//! Every wait has a generous guard against hanging forever; no test asserts a time.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cnn_tutor::serve::ServeConfig;
use russh::client;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg};

use crate::common::ssh;
use ssh::{config, connect, eventually, start, Client, Term, CODE};

const TEACHER: &str = "teach";

fn teacher_key() -> PrivateKey {
    PrivateKey::from(Ed25519Keypair::from_seed(&[11; 32]))
}

/// A class with a teacher who logs in by key; students use the code.
fn class_config(state: &Path) -> ServeConfig {
    let mut c = config(state);
    c.teacher = Some(TEACHER.into());
    c.authorized_keys = vec![teacher_key().public_key().clone()];
    c
}

async fn student(addr: SocketAddr, name: &str) -> (client::Handle<Client>, Term) {
    let mut h = connect(addr).await;
    let ok = h.authenticate_password(name, CODE).await.unwrap().success();
    assert!(ok, "{name} logs in with the code");
    let t = Term::open(&h, 100, 30).await;
    (h, t)
}

async fn teacher(addr: SocketAddr, cols: u16, rows: u16) -> (client::Handle<Client>, Term) {
    let mut h = connect(addr).await;
    let key = PrivateKeyWithHashAlg::new(Arc::new(teacher_key()), None);
    let ok = h
        .authenticate_publickey(TEACHER, key)
        .await
        .unwrap()
        .success();
    assert!(ok, "the teacher logs in with the key");
    let t = Term::open(&h, cols, rows).await;
    (h, t)
}

/// The line of the screen holding `what`.
fn line_of(screen: &str, what: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what:?}:\n{screen}"))
        .to_string()
}

fn steps_of(id: &str) -> usize {
    cnn_tutor::lesson::load(None)
        .unwrap()
        .iter()
        .find(|l| l.id() == id)
        .unwrap()
        .frames()
        .unwrap()
        .len()
}

/// The acceptance check: a student opens the convolution lesson and steps; the teacher's
/// class view shows both names and that student's lesson and step, at 80x24 and 120x40.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_class_view_shows_both_students_and_where_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(class_config(dir.path()));
    let (_ht, mut t) = teacher(server.addr(), 80, 24).await;
    t.until_text("cnn-tutor class").await;
    let (_ha, mut ada) = student(server.addr(), "ada").await;
    let (_hk, mut kim) = student(server.addr(), "kim").await;
    ada.until_text("press f to follow").await;
    kim.until_text("press f to follow").await;
    // the convolution lesson is the first: open it and step twice
    ada.keys(b"\r").await;
    ada.until_text("step 1/").await;
    ada.keys(b"\x1b[C\x1b[C").await;
    ada.until_text("step 3/").await;
    let n = steps_of("convolution");
    let want = format!("Convolution 3/{n}");
    let screen = t
        .until("both names and ada's step", |t| {
            let s = t.screen();
            s.contains(&want) && s.contains("kim")
        })
        .await;
    assert!(line_of(&screen, "ada").contains(&want), "{screen}");
    assert!(line_of(&screen, "kim").contains("menu"), "{screen}");
    assert!(screen.contains("2 students"), "{screen}");
    // the teacher is not a row of their own
    assert!(
        !screen.lines().skip(4).any(|l| l.contains(TEACHER)),
        "{screen}"
    );

    // at 120x40 too
    t.vt.set_size(40, 120);
    t.channel.window_change(120, 40, 0, 0).await.unwrap();
    let wide = t
        .until("the wide view", |t| {
            t.vt.screen()
                .rows(0, 120)
                .nth(39)
                .is_some_and(|r| !r.trim().is_empty())
        })
        .await;
    assert!(line_of(&wide, "ada").contains(&want), "{wide}");
}

/// Tab goes to the teacher's own lessons, Ctrl-T back; "bring everyone here" moves a
/// student to the teacher's lesson and step; locked following shows on the students'
/// screens and `f` does not leave it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bring_here_and_locked_following() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(class_config(dir.path()));
    let (_ht, mut t) = teacher(server.addr(), 100, 30).await;
    t.until_text("cnn-tutor class").await;
    let (_hk, mut kim) = student(server.addr(), "kim").await;
    kim.until_text("press f to follow").await;
    t.until_text("kim").await;

    // the teacher opens ReLU at step 3 in their own lessons
    t.keys(b"\t").await;
    t.until_text("Ctrl-T class view").await;
    t.keys(b"j\r").await;
    t.until_text("2. ReLU").await;
    t.keys(b"\x1b[C\x1b[C").await;
    t.until_text("step 3/").await;
    t.keys(b"\x14").await; // Ctrl-T
    t.until_text("teacher teach at ReLU 3/").await;
    t.keys(b"b").await;
    t.until_text("brought 1 student(s)").await;
    // nobody is training: stopping every training says so, it does not count sessions
    t.keys(b"x").await;
    t.keys(b"y").await;
    t.until_text("no training is running or queued").await;
    let screen = kim.until_text("step 3/").await;
    assert!(screen.contains("2. ReLU"), "{screen}");
    assert!(
        screen.contains("the teacher brought the class here"),
        "{screen}"
    );

    // lock: the student follows, says so, and f does not leave
    t.keys(b"l").await;
    kim.until_text("following the teacher (locked for a demo)")
        .await;
    kim.keys(b"f").await;
    kim.until_text("the teacher has locked following").await;
    // the student's own step snaps back to the teacher's
    kim.keys(b"\x1b[D").await;
    kim.until_text("step 3/").await;
    // the teacher moves on: the student follows
    t.keys(b"\t\x1b[C").await;
    t.until_text("step 4/").await;
    kim.until_text("step 4/").await;
    // unlocked: f leaves again
    t.keys(b"\x14l").await;
    t.until_text("following unlocked").await;
    kim.until_gone("locked for a demo").await;
    kim.keys(b"f").await;
    kim.until_text("you have the controls again").await;
}

/// A message shows on every student's screen until each dismisses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_reaches_both_screens_until_dismissed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(class_config(dir.path()));
    let (_ht, mut t) = teacher(server.addr(), 100, 30).await;
    let (_ha, mut ada) = student(server.addr(), "ada").await;
    let (_hk, mut kim) = student(server.addr(), "kim").await;
    t.until("both students", |t| {
        t.screen().contains("ada") && t.screen().contains("kim")
    })
    .await;
    // typed letters are the message (q does not quit the console while typing); a paste
    // is text, a control character in it dropped
    t.keys(b"mquiz in 5 minutes\x1b[200~ \x07now\x1b[201~\r")
        .await;
    t.until_text("message sent").await;
    let want = "message from the teacher: quiz in 5 minutes now (Enter dismisses)";
    ada.until_text(want).await;
    kim.until_text(want).await;
    ada.keys(b"\r").await;
    ada.until_gone("message from the teacher").await;
    // kim still has it, and the teacher's view says it is up
    assert!(kim.screen().contains(want));
    t.until_text("M take down").await;
    t.keys(b"a").await;
    t.until_text("message up: quiz in 5 minutes").await;
    // taken down: gone from kim's screen too
    t.keys(b"M").await;
    kim.until_gone("message from the teacher").await;
}

/// A message longer than the screen is wide wraps onto more lines instead of being cut,
/// also under the locked-following line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_message_wraps_on_the_students_screen() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(class_config(dir.path()));
    let (_ht, mut t) = teacher(server.addr(), 100, 30).await;
    let (_ha, mut ada) = student(server.addr(), "ada").await;
    t.until_text("ada").await;
    t.keys(b"l").await;
    ada.until_text("following the teacher (locked for a demo)")
        .await;
    let long = "open lesson 3 and try a 2x2 pool with stride 1, then tell me what changed in the feature map and why it got smaller";
    let mut keys = b"m".to_vec();
    keys.extend_from_slice(long.as_bytes());
    keys.push(b'\r');
    t.keys(&keys).await;
    t.until_text("message sent").await;
    // the message's end is on the student's 100-column screen, under the lock line
    let screen = ada.until_text("why it got smaller (Enter dismisses)").await;
    assert!(screen.contains("following the teacher (locked"), "{screen}");
    assert!(
        screen.contains("message from the teacher: open lesson 3"),
        "{screen}"
    );
}

/// Ending one student's session: they get their terminal back with the teacher's line;
/// the other carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_session_restores_the_students_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(class_config(dir.path()));
    let (_ht, mut t) = teacher(server.addr(), 100, 30).await;
    let (_ha, mut ada) = student(server.addr(), "ada").await;
    let (_hk, mut kim) = student(server.addr(), "kim").await;
    ada.until_text("press f to follow").await;
    t.until("both students", |t| {
        t.screen().contains("ada") && t.screen().contains("kim")
    })
    .await;
    assert_eq!(server.sessions(), 3);
    // ada is first by name, so selected
    t.keys(b"e").await;
    t.until_text("end ada's session").await;
    t.keys(b"see you tomorrow\r").await;
    let raw = ada.until_closed().await;
    let after = &raw[raw.rfind("\x1b[?1049l").expect("left the alternate screen")..];
    assert!(after.contains("\x1b[?25h"), "cursor shown again: {after:?}");
    assert!(after.contains("see you tomorrow"), "{after:?}");
    assert!(!ada.vt.screen().alternate_screen());
    eventually("ada's place is free", || server.sessions() == 2).await;
    t.until_text("1 student ").await;
    kim.keys(b"\r").await;
    kim.until_text("step 1/").await;
}

/// Menu → train lesson → training settings, 1000 epochs, start.
async fn start_long_training(t: &mut Term) {
    t.until_text("press f to follow").await;
    let train = cnn_tutor::lesson::load(None)
        .unwrap()
        .iter()
        .position(|l| l.capabilities().training)
        .unwrap();
    for _ in 0..train {
        t.keys(b"j").await;
    }
    t.keys(b"\r").await;
    t.keys(b"\r").await;
    t.until_text("Epochs").await;
    t.keys(b"1000\r").await;
    t.keys(b"\r").await;
}

/// "Stop all trainings" cancels the running one and the one in line; the class view
/// showed them training and queued, and shows them cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_all_trainings_cancels_running_and_queued() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shapes");
    cnn_tutor::data::generate(&data, 4, 7).unwrap();
    let mut c = class_config(dir.path());
    c.max_trainings = 1;
    c.data_dir = data;
    let server = start(c);
    let queue = server.queue();
    let (_ht, mut t) = teacher(server.addr(), 120, 30).await;
    let (_ha, mut ada) = student(server.addr(), "ada").await;
    let (_hk, mut kim) = student(server.addr(), "kim").await;
    start_long_training(&mut ada).await;
    eventually("ada trains", || queue.running() == 1).await;
    start_long_training(&mut kim).await;
    kim.until_text("you are number 1 in line").await;
    let screen = t.until_text("queued 1").await;
    assert!(line_of(&screen, "kim").contains("queued 1"), "{screen}");
    assert!(
        line_of(&screen, "trainings 1/1").contains("(1 queued)"),
        "{screen}"
    );
    t.keys(b"x").await;
    t.until_text("y stops").await;
    t.keys(b"y").await;
    eventually("every training stopped", || {
        queue.running() == 0 && queue.waiting() == 0
    })
    .await;
    ada.until_text("the teacher stopped every training").await;
    let screen = t
        .until("both cancelled", |t| {
            t.screen().matches("cancelled").count() >= 2
        })
        .await;
    assert!(line_of(&screen, "ada").contains("cancelled"), "{screen}");
    assert!(line_of(&screen, "kim").contains("cancelled"), "{screen}");
}

/// The mirror shows what the student sees, live, and the teacher's keys do not reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_shows_a_students_screen_live_and_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(class_config(dir.path()));
    let (_ht, mut t) = teacher(server.addr(), 120, 40).await;
    let (_ha, mut ada) = student(server.addr(), "ada").await;
    ada.until_text("press f to follow").await;
    t.until_text("ada").await;
    t.keys(b"v").await;
    let screen = t.until_text("looking at ada's screen").await;
    let screen = if screen.contains("1. Convolution") {
        screen
    } else {
        t.until_text("1. Convolution").await
    };
    assert!(
        screen.contains("f follow teacher"),
        "ada's hint line: {screen}"
    );
    // live: ada opens the lesson and steps, the mirror follows
    ada.keys(b"\r\x1b[C").await;
    ada.until_text("step 2/").await;
    t.until_text("step 2/").await;
    // the teacher's keys act on the console, not on ada's app
    t.keys(b"\x1b[C\x1b[C").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ada.until_text("step 2/").await;
    assert!(!ada.screen().contains("step 4/"));
    t.keys(b"\x1b").await;
    t.until_text("cnn-tutor class").await;
}

fn report_files(state: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let dir = state.join("reports");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                // the report's files, not the gradebook written beside them
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("class-"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// `r` writes the report (CSV and Markdown) listing both students with their columns;
/// stopping the server writes it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_lists_both_students_on_r_and_on_stop() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(class_config(dir.path()));
    let (_ht, mut t) = teacher(server.addr(), 120, 30).await;
    let (_ha, mut ada) = student(server.addr(), "ada").await;
    let (_hk, mut kim) = student(server.addr(), "kim").await;
    // ada finishes the convolution lesson (its last step)
    ada.until_text("press f to follow").await;
    ada.keys(b"\rG").await;
    let n = steps_of("convolution");
    ada.until_text(&format!("step {n}/{n}")).await;
    kim.until_text("press f to follow").await;
    t.until("both students", |t| {
        t.screen().contains(&format!("Convolution {n}/{n}")) && t.screen().contains("kim")
    })
    .await;
    t.keys(b"r").await;
    t.until_text("report written:").await;
    let csv = report_files(dir.path(), "csv");
    assert_eq!(csv.len(), 1, "{csv:?}");
    let text = std::fs::read_to_string(&csv[0]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and both students: {text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(
        header,
        [
            "name",
            "address",
            "connected_at",
            "minutes_connected",
            "lessons_finished",
            "finished_ids",
            "turn_right",
            "turn_asked",
            "best_accuracy_percent"
        ]
    );
    let ada_row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(ada_row[0], "ada");
    assert!(ada_row[1].starts_with("127.0.0.1:"), "{text}");
    assert!(ada_row[2].ends_with('Z'), "{text}");
    assert!(ada_row[3].parse::<f64>().unwrap() < 5.0, "{text}");
    assert_eq!(&ada_row[4..], ["1", "convolution", "-", "-", "-"], "{text}");
    let kim_row: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(kim_row[0], "kim");
    assert_eq!(&kim_row[4..], ["0", "", "-", "-", "-"], "{text}");
    let md = std::fs::read_to_string(csv[0].with_extension("md")).unwrap();
    assert!(md.contains("| ada |") && md.contains("| kim |"), "{md}");
    assert!(md.contains("1 (convolution)"), "{md}");

    // a student who left is still in the report written when the server stops
    drop(kim);
    std::fs::remove_dir_all(dir.path().join("reports")).unwrap();
    let (csv, md) = tokio::task::block_in_place(|| server.stop()).expect("report on stop");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.lines().any(|l| l.starts_with("ada,")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("kim,")), "{text}");
    assert!(std::fs::read_to_string(md).unwrap().contains("| kim |"));
    // the students were told goodbye
    ada.until_closed().await;
    assert!(ada.raw_text().contains("The class is over"));
}

/// The header shows every limit and how close the class is to it: sessions, trainings,
/// connections waiting to log in (and the oldest one's wait against the grace time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_each_limit_and_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = class_config(dir.path());
    c.max_sessions = 5;
    c.max_trainings = 2;
    c.max_unauthenticated = 7;
    c.login_grace = Duration::from_secs(20);
    c.idle_timeout = Duration::from_secs(900);
    let server = start(c);
    let (_ht, mut t) = teacher(server.addr(), 120, 30).await;
    let screen = t.until_text("students 0/5").await;
    let limits = line_of(&screen, "students 0/5");
    assert!(limits.contains("trainings 0/2 (0 queued)"), "{limits}");
    assert!(limits.contains("logging in 0/7"), "{limits}");
    assert!(limits.contains("login grace 20s"), "{limits}");
    assert!(screen.contains("idle timeout 15m"), "{screen}");
    // a student, and two connections that do not log in
    let (_ha, _ada) = student(server.addr(), "ada").await;
    let _w1 = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let _w2 = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let screen = t
        .until("the counts", |t| {
            t.screen().contains("students 1/5") && t.screen().contains("logging in 2/7")
        })
        .await;
    assert!(
        line_of(&screen, "logging in 2/7").contains("oldest waits"),
        "{screen}"
    );
}
