//! `cnn-tutor serve` end to end: a server started in-process on loopback, russh's client
//! logging in, the screen read back through a terminal emulator (vt100).
//!
//! Every wait has a generous guard against hanging forever; no test asserts a time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cnn_tutor::serve;
use russh::client;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg};
use russh::ChannelMsg;

use crate::common::ssh;
use ssh::{
    config, connect, eventually, first_lesson_title, start, train_lesson_index, Client, Term, CODE,
    GUARD,
};

async fn login(addr: SocketAddr, user: &str, code: &str) -> (client::Handle<Client>, bool) {
    let mut h = connect(addr).await;
    let ok = h
        .authenticate_password(user, code)
        .await
        .expect("auth exchange")
        .success();
    (h, ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class_code_login_gets_the_lesson_menu_and_q_quits() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()));
    assert!(server.fingerprint().starts_with("SHA256:"));
    let (h, ok) = login(server.addr(), "ada", CODE).await;
    assert!(ok, "the class code logs in");
    let mut t = Term::open(&h, 100, 30).await;
    t.until_text(&first_lesson_title()).await;
    assert_eq!(server.sessions(), 1);
    // the alternate screen was entered and the cursor hidden
    let raw = t.raw_text();
    assert!(raw.contains("\x1b[?1049h") && raw.contains("\x1b[?25l"));
    t.keys(b"q").await;
    let raw = t.until_closed().await;
    assert!(raw.contains("\x1b[?1049l"), "the screen is restored");
    assert!(raw.contains("Goodbye"));
    eventually("the slot is free", || server.sessions() == 0).await;
}

/// The student's terminal is put in bracketed-paste mode, and a paste arrives as one paste:
/// pasted text never acts as keys (a pasted `q` does not quit), and the mode is left with
/// the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bracketed_paste_is_text_not_keys() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()));
    let (h, ok) = login(server.addr(), "ada", CODE).await;
    assert!(ok);
    let mut t = Term::open(&h, 100, 30).await;
    let menu = t.until_text(&first_lesson_title()).await;
    assert!(
        t.raw_text().contains("\x1b[?2004h"),
        "bracketed paste is on"
    );
    // split across two sends, as a large paste may be
    t.keys(b"\x1b[200~qqq\x1b[2").await;
    t.keys(b"01~").await;
    // a key after the paste is a key: the menu moves (and nothing quit)
    t.keys(b"j").await;
    let moved = t
        .until("the menu to move", |t| t.screen() != menu || t.closed)
        .await;
    assert!(!t.closed, "a pasted q quit the session:\n{moved}");
    assert_eq!(server.sessions(), 1);
    t.keys(b"q").await;
    let raw = t.until_closed().await;
    assert!(raw.contains("Goodbye"));
    assert!(raw.contains("\x1b[?2004l"), "bracketed paste is off again");
}

/// A bug that panics one student's app ends only that session: the student gets their
/// terminal back with a line saying so, the place is freed, and the class carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_session_restores_the_students_terminal_and_spares_the_class() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.panic_key = Some('!');
    let server = start(c);
    let (h1, _) = login(server.addr(), "ada", CODE).await;
    let (h2, _) = login(server.addr(), "grace", CODE).await;
    let mut t1 = Term::open(&h1, 80, 24).await;
    let mut t2 = Term::open(&h2, 80, 24).await;
    let title = first_lesson_title();
    t1.until_text(&title).await;
    t2.until_text(&title).await;
    t1.keys(b"!").await;
    let raw = t1.until_closed().await;
    let after = &raw[raw.rfind("\x1b[?1049l").expect("left the alternate screen")..];
    assert!(after.contains("\x1b[?25h"), "cursor shown again: {after:?}");
    assert!(after.contains("internal error"), "{after:?}");
    assert!(!t1.vt.screen().alternate_screen());
    eventually("the place is free", || server.sessions() == 1).await;
    // the other student carries on
    t2.keys(b"\r").await;
    t2.until_text("step 1/").await;
    let (h3, ok) = login(server.addr(), "ada", CODE).await;
    assert!(ok);
    let mut t3 = Term::open(&h3, 80, 24).await;
    t3.until_text(&title).await;
}

/// A class told to log in with one user name: each student's saved models still get a
/// file of their own (student, student-2 ...), and a name is free again after its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn students_sharing_a_login_name_save_under_names_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()));
    let title = first_lesson_title();
    let (h1, _) = login(server.addr(), "student", CODE).await;
    let mut t1 = Term::open(&h1, 100, 30).await;
    let first = t1.until_text(&title).await;
    assert!(!first.contains("already connected"), "{first}");
    let (h2, _) = login(server.addr(), "student", CODE).await;
    let mut t2 = Term::open(&h2, 100, 30).await;
    t2.until_text("student is already connected: your models save as student-2")
        .await;
    t1.keys(b"q").await;
    t1.until_closed().await;
    eventually("the first session ends", || server.sessions() == 1).await;
    let (h3, _) = login(server.addr(), "student", CODE).await;
    let mut t3 = Term::open(&h3, 100, 30).await;
    let screen = t3.until_text(&title).await;
    assert!(!screen.contains("already connected"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_code_is_refused_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()));
    let (_h, ok) = login(server.addr(), "mallory", "owl-43").await;
    assert!(!ok, "a wrong code must not log in");
    let (_h, ok) = login(server.addr(), "mallory", "").await;
    assert!(!ok, "an empty code must not log in");
    assert_eq!(server.sessions(), 0);
    // a mistyped code may be typed again on the same connection
    let (mut h, ok) = login(server.addr(), "ada", "owl-24").await;
    assert!(!ok);
    let again = h.authenticate_password("ada", CODE).await.unwrap();
    assert!(again.success(), "the right code after a typo logs in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_typos_do_not_lock_out_a_class_but_many_failures_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.auth_delay = Duration::from_millis(10);
    let server = start(c);
    // a class behind one address (a school NAT): some students mistype the code
    for name in ["ada", "grace", "kim", "lin", "sam"] {
        let (_h, ok) = login(server.addr(), name, "owl-24").await;
        assert!(!ok);
    }
    let (_h, ok) = login(server.addr(), "ada", CODE).await;
    assert!(ok, "five typos must not lock out the class");
    // guessing: after MAX_FAILURES from the address, even the right code is turned away
    for _ in 5..serve::MAX_FAILURES {
        let (_h, ok) = login(server.addr(), "mallory", "guess").await;
        assert!(!ok);
    }
    let (_h, ok) = login(server.addr(), "grace", CODE).await;
    assert!(!ok, "a throttled address must not log in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorized_key_logs_in_and_other_keys_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let good = PrivateKey::from(Ed25519Keypair::from_seed(&[7; 32]));
    let bad = PrivateKey::from(Ed25519Keypair::from_seed(&[8; 32]));
    // the keys come from an authorized_keys file, as `--authorized-keys` reads it
    let file = dir.path().join("authorized_keys");
    std::fs::write(
        &file,
        format!("# the class\n{}\n", good.public_key().to_openssh().unwrap()),
    )
    .unwrap();
    let mut c = config(dir.path());
    c.code = None;
    c.authorized_keys = serve::read_authorized_keys(&file).unwrap();
    let server = start(c);

    let mut h = connect(server.addr()).await;
    let refused = h
        .authenticate_publickey("eve", PrivateKeyWithHashAlg::new(Arc::new(bad), None))
        .await
        .unwrap();
    assert!(!refused.success());
    let mut h2 = connect(server.addr()).await;
    let denied = h2.authenticate_password("eve", CODE).await.unwrap();
    assert!(
        !denied.success(),
        "no code is configured, so no password works"
    );

    let mut h = connect(server.addr()).await;
    let ok = h
        .authenticate_publickey("grace", PrivateKeyWithHashAlg::new(Arc::new(good), None))
        .await
        .unwrap();
    assert!(ok.success());
    let mut t = Term::open(&h, 80, 24).await;
    t.until_text(&first_lesson_title()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()));
    let (h, ok) = login(server.addr(), "ada", CODE).await;
    assert!(ok);
    let mut channel = h.channel_open_session().await.unwrap();
    channel.exec(true, "echo X; id").await.unwrap();
    let mut out = Vec::new();
    let mut failed = false;
    let mut status = None;
    let read = async {
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => out.extend_from_slice(&data),
                ChannelMsg::Failure => failed = true,
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
    };
    tokio::time::timeout(GUARD, read)
        .await
        .expect("closed in time");
    let out = String::from_utf8_lossy(&out);
    assert!(failed, "the exec request is refused");
    assert_eq!(status, Some(1));
    assert!(!out.contains("uid="), "id ran: {out}");
    assert!(!out.lines().any(|l| l.trim() == "X"), "echo ran: {out}");
    assert!(out.contains("runs no commands"), "{out}");
    assert_eq!(server.sessions(), 0);

    // nor a subsystem (sftp)
    let mut channel = h.channel_open_session().await.unwrap_or_else(|_| {
        panic!("a second channel after the first closed");
    });
    channel.request_subsystem(true, "sftp").await.unwrap();
    let mut refused = false;
    let read = async {
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Failure => refused = true,
                ChannelMsg::Close => break,
                _ => {}
            }
        }
    };
    tokio::time::timeout(GUARD, read)
        .await
        .expect("closed in time");
    assert!(refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pty_gets_a_message_and_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()));
    let (h, _) = login(server.addr(), "ada", CODE).await;
    let channel = h.channel_open_session().await.unwrap();
    channel.request_shell(true).await.unwrap();
    let mut t = Term {
        channel,
        vt: vt100::Parser::new(24, 80, 0),
        raw: Vec::new(),
        closed: false,
    };
    let raw = t.until_closed().await;
    assert!(raw.contains("ssh -t"), "{raw}");
    assert_eq!(server.sessions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_change_redraws_at_the_new_size() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()));
    let (h, _) = login(server.addr(), "ada", CODE).await;
    let mut t = Term::open(&h, 80, 24).await;
    t.until_text(&first_lesson_title()).await;
    let rows_at = |t: &Term, rows: u16, cols: u16| -> Vec<String> {
        t.vt.screen()
            .rows(0, cols)
            .take(usize::from(rows))
            .collect()
    };
    let before = rows_at(&t, 24, 80);
    let last_before = before[23].trim().to_string();
    assert!(!last_before.is_empty(), "the bottom line has the key hints");

    t.vt.set_size(40, 120);
    t.channel.window_change(120, 40, 0, 0).await.unwrap();
    let moved = |t: &Term| {
        let rows: Vec<String> = t.vt.screen().rows(0, 120).take(40).collect();
        rows[39].trim() == last_before && rows[23].trim() != last_before
    };
    t.until("the bottom line to move to row 40", moved).await;
    assert!(moved(&t), "screen after resize:\n{}", t.screen());

    // absurd sizes neither crash the session nor stop it drawing afterwards
    for (w, h) in [(1, 1), (0, 0), (100_000, 100_000), (2, 3)] {
        t.channel.window_change(w, h, 0, 0).await.unwrap();
    }
    t.vt.set_size(24, 80);
    t.channel.window_change(80, 24, 0, 0).await.unwrap();
    t.until_text(&first_lesson_title()).await;
    let back = |t: &Term| {
        let rows: Vec<String> = t.vt.screen().rows(0, 80).take(24).collect();
        rows[23].trim() == last_before
    };
    t.until("the 80x24 screen again", back).await;
    assert_eq!(server.sessions(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_class_turns_students_away_politely_and_frees_places() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.max_sessions = 1;
    let server = start(c);
    let title = first_lesson_title();

    let (h1, _) = login(server.addr(), "first", CODE).await;
    let mut t1 = Term::open(&h1, 80, 24).await;
    t1.until_text(&title).await;

    let (h2, ok) = login(server.addr(), "second", CODE).await;
    assert!(ok);
    let mut t2 = Term::open(&h2, 80, 24).await;
    let raw = t2.until_closed().await;
    assert!(raw.contains("class is full"), "{raw}");
    assert_eq!(server.sessions(), 1);

    // the first student drops the connection (no quit): the place is freed
    drop(t1);
    h1.disconnect(russh::Disconnect::ByApplication, "", "")
        .await
        .unwrap();
    drop(h1);
    eventually("the first place is freed", || server.sessions() == 0).await;

    let (h3, _) = login(server.addr(), "third", CODE).await;
    let mut t3 = Term::open(&h3, 80, 24).await;
    t3.until_text(&title).await;
    assert_eq!(server.sessions(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_are_ended_with_a_goodbye() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.idle_timeout = Duration::from_millis(300);
    let server = start(c);
    let (h, _) = login(server.addr(), "ada", CODE).await;
    let mut t = Term::open(&h, 80, 24).await;
    let raw = t.until_closed().await;
    assert!(raw.contains("goodbye"), "{raw}");
    eventually("the slot is free", || server.sessions() == 0).await;
}

/// Menu → train lesson → training settings, 1000 epochs, start.
async fn start_long_training(t: &mut Term) {
    t.until_text(&first_lesson_title()).await;
    for _ in 0..train_lesson_index() {
        t.keys(b"j").await;
    }
    t.keys(b"\r").await; // open the lesson
    t.keys(b"\r").await; // its settings step
    t.until_text("Epochs").await;
    t.keys(b"1000\r").await; // epochs
    t.keys(b"\r").await; // start
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainings_beyond_the_limit_queue_in_order_and_leave_on_esc() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shapes");
    cnn_tutor::data::generate(&data, 4, 7).unwrap();
    let mut c = config(dir.path());
    c.max_trainings = 1;
    c.data_dir = data;
    let server = start(c);
    let queue = server.queue();

    let (h1, _) = login(server.addr(), "one", CODE).await;
    let mut t1 = Term::open(&h1, 100, 30).await;
    start_long_training(&mut t1).await;
    eventually("the first training runs", || queue.running() == 1).await;

    let (h2, _) = login(server.addr(), "two", CODE).await;
    let mut t2 = Term::open(&h2, 100, 30).await;
    start_long_training(&mut t2).await;
    t2.until_text("you are number 1 in line").await;

    let (h3, _) = login(server.addr(), "three", CODE).await;
    let mut t3 = Term::open(&h3, 100, 30).await;
    start_long_training(&mut t3).await;
    t3.until_text("you are number 2 in line").await;
    assert_eq!((queue.running(), queue.waiting()), (1, 2));

    // the first cancels: the second (first in line) trains, the third moves up
    t1.keys(b"\x1b").await;
    t2.until("the second to start", |t| !t.screen().contains("in line"))
        .await;
    t3.until_text("you are number 1 in line").await;
    assert_eq!((queue.running(), queue.waiting()), (1, 1));

    // the third leaves the line with Esc; the second disconnects mid-training
    t3.keys(b"\x1b").await;
    eventually("the third left the line", || queue.waiting() == 0).await;
    drop(t2);
    h2.disconnect(russh::Disconnect::ByApplication, "", "")
        .await
        .unwrap();
    drop(h2);
    eventually("the disconnected run gave its place back", || {
        queue.running() == 0
    })
    .await;
    eventually("both places freed", || server.sessions() == 2).await;
}

/// With no keys configured, the teacher is the first session of the teacher's name: a
/// second login as that name with the class code is a student, not a second console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_login_as_the_teacher_by_code_is_a_student() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.teacher = Some("teach".into());
    let server = start(c);
    let (ht, _) = login(server.addr(), "teach", CODE).await;
    let mut teacher = Term::open(&ht, 100, 30).await;
    teacher.until_text("cnn-tutor class").await;
    let (hp, ok) = login(server.addr(), "teach", CODE).await;
    assert!(ok, "the code logs in");
    let mut prankster = Term::open(&hp, 100, 30).await;
    let screen = prankster
        .until_text("teach is already connected: your models save as teach-2")
        .await;
    assert!(!screen.contains("cnn-tutor class"), "{screen}");
    // Tab on the menu is not the class view for a student
    prankster.keys(b"\t").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    prankster.until_text(&first_lesson_title()).await;
    assert!(!prankster.screen().contains("cnn-tutor class"));
    // the teacher's view lists the second session as a student
    teacher.until_text("teach-2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn students_follow_the_teacher_with_f_and_take_control_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.teacher = Some("teach".into());
    let server = start(c);
    let title = first_lesson_title();

    let (ht, _) = login(server.addr(), "teach", CODE).await;
    let mut teacher = Term::open(&ht, 100, 30).await;
    // the teacher lands on the class view; Tab goes to their own lessons
    teacher.until_text("cnn-tutor class").await;
    teacher.keys(b"\t").await;
    teacher.until_text(&title).await;
    let (hs, _) = login(server.addr(), "kim", CODE).await;
    let mut student = Term::open(&hs, 100, 30).await;
    let menu = student
        .until_text("press f to follow the teacher (teach)")
        .await;
    assert!(menu.contains("f follow teacher"), "{menu}");
    student.keys(b"f").await;
    student.until_text("following the teacher").await;

    // the teacher opens the second lesson and steps twice: the student's screen follows
    teacher.keys(b"j").await;
    teacher.keys(b"\r").await;
    teacher.until_text("2. ReLU").await;
    teacher.keys(b"\x1b[C").await;
    teacher.keys(b"\x1b[C").await;
    teacher.until_text("step 3/").await;
    let screen = student.until_text("step 3/").await;
    assert!(screen.contains("2. ReLU"), "{screen}");
    // the key hints say what f does now
    assert!(screen.contains("f stop following"), "{screen}");
    assert!(!screen.contains("f filters"), "{screen}");

    // f again: the student has the controls; the teacher moving on no longer moves them
    student.keys(b"f").await;
    student.until_text("you have the controls again").await;
    teacher.keys(b"\x1b[C").await;
    teacher.until_text("step 4/").await;
    student.keys(b"\x1b[D").await;
    let screen = student.until_text("step 2/").await;
    assert!(screen.contains("2. ReLU"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_students_at_once_each_step_their_own_lesson() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()));
    let addr = server.addr();
    let title = first_lesson_title();
    let students: Vec<_> = (0..8)
        .map(|n| {
            let title = title.clone();
            tokio::spawn(async move {
                let (h, ok) = login(addr, &format!("s{n}"), CODE).await;
                assert!(ok);
                let mut t = Term::open(&h, 90, 28).await;
                t.until_text(&title).await;
                t.keys(b"\r").await;
                // each student goes as far as their number: the screens are their own
                for k in 0..=n {
                    t.keys(b"\x1b[C").await;
                    t.until_text(&format!("step {}/", k + 2)).await;
                }
                (h, t)
            })
        })
        .collect();
    let mut open = Vec::new();
    for s in students {
        open.push(s.await.expect("student task"));
    }
    assert_eq!(server.sessions(), 8);
    for (n, (_h, t)) in open.iter().enumerate() {
        assert!(t.screen().contains(&format!("step {}/", n + 2)));
    }
}

/// One client with the class code fills every place: later students are told the class is
/// full, the teacher (by key) still gets the console, and `E` `a` on one of the flood's
/// sessions ends every session from that address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_class_never_turns_the_teacher_away() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&[9; 32]));
    let mut c = config(dir.path());
    c.max_sessions = 4;
    c.teacher = Some("teach".into());
    c.authorized_keys = vec![key.public_key().clone()];
    let server = start(c);
    let title = first_lesson_title();

    let mut flood = Vec::new();
    for i in 0..4 {
        let (h, ok) = login(server.addr(), "prank", CODE).await;
        assert!(ok, "session {i} logs in");
        let mut t = Term::open(&h, 80, 24).await;
        t.until_text(&title).await;
        flood.push((h, t));
    }
    assert_eq!(server.sessions(), 4);
    let (h, _) = login(server.addr(), "kim", CODE).await;
    let mut late = Term::open(&h, 80, 24).await;
    assert!(late.until_closed().await.contains("class is full"));
    // a student naming themselves the teacher with the code is still refused
    let (h, _) = login(server.addr(), "teach", CODE).await;
    let mut fake = Term::open(&h, 80, 24).await;
    assert!(fake.until_closed().await.contains("class is full"));

    let mut ht = connect(server.addr()).await;
    let ok = ht
        .authenticate_publickey("teach", PrivateKeyWithHashAlg::new(Arc::new(key), None))
        .await
        .unwrap();
    assert!(ok.success());
    let mut teacher = Term::open(&ht, 80, 24).await;
    teacher.until_text("cnn-tutor class").await;
    assert_eq!(server.sessions(), 5);
    teacher.until_text("prank-4").await;
    teacher.keys(b"E").await;
    teacher.until_text("a: from 127.0.0.1 (4)").await;
    teacher.keys(b"a").await;
    for (_, t) in &mut flood {
        assert!(t
            .until_closed()
            .await
            .contains("The teacher ended your session"));
    }
    eventually("only the teacher is left", || server.sessions() == 1).await;
    let (h, _) = login(server.addr(), "kim", CODE).await;
    let mut kim = Term::open(&h, 80, 24).await;
    kim.until_text(&title).await;
}

/// Following the teacher through a lesson is taking part: a follower who types nothing
/// stays past the idle timeout while the teacher steps; a student who neither types nor
/// follows is ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_who_types_nothing_is_not_idle() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.teacher = Some("teach".into());
    c.idle_timeout = Duration::from_millis(1500);
    let server = start(c);
    let (ht, _) = login(server.addr(), "teach", CODE).await;
    let mut teacher = Term::open(&ht, 100, 30).await;
    teacher.until_text("cnn-tutor class").await;
    teacher.keys(b"\t").await;
    teacher.until_text(&first_lesson_title()).await;
    teacher.keys(b"\r").await;
    teacher.until_text("step 1/").await;
    let (hs, _) = login(server.addr(), "kim", CODE).await;
    let mut follower = Term::open(&hs, 100, 30).await;
    follower.until_text("press f to follow the teacher").await;
    follower.keys(b"f").await;
    follower.until_text("following the teacher").await;
    let (hq, _) = login(server.addr(), "quiet", CODE).await;
    let mut quiet = Term::open(&hq, 100, 30).await;
    quiet.until_text(&first_lesson_title()).await;
    // the teacher steps for longer than the idle timeout
    for step in 2..=6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        teacher.keys(b"\x1b[C").await;
        follower.until_text(&format!("step {step}/")).await;
    }
    assert!(quiet.until_closed().await.contains("goodbye"));
    // the follower is still there: the next step reaches them
    teacher.keys(b"\x1b[C").await;
    follower.until_text("step 7/").await;
    assert!(!follower.closed, "the follower is still in the class");
}

/// Names are compared as typed: `teach!` shows as `teach` but does not lead; with keys, a
/// student logging in as the teacher's name while the teacher is away saves as `teach-2`,
/// and the teacher, back by key, is `teach` again with the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_teachers_name_is_kept_for_the_teacher() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.teacher = Some("teach".into());
    let server = start(c);
    let (h, _) = login(server.addr(), "teach!", CODE).await;
    let mut fake = Term::open(&h, 100, 30).await;
    let screen = fake
        .until_text("teach is the teacher's name: your models save as teach-2")
        .await;
    assert!(!screen.contains("cnn-tutor class"), "{screen}");
    drop(server);

    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&[11; 32]));
    let mut c = config(dir.path());
    c.teacher = Some("teach".into());
    c.authorized_keys = vec![key.public_key().clone()];
    let server = start(c);
    let (h, _) = login(server.addr(), "teach", CODE).await;
    let mut student = Term::open(&h, 100, 30).await;
    student
        .until_text("teach is the teacher's name: your models save as teach-2")
        .await;
    let mut ht = connect(server.addr()).await;
    let ok = ht
        .authenticate_publickey("teach", PrivateKeyWithHashAlg::new(Arc::new(key), None))
        .await
        .unwrap();
    assert!(ok.success());
    let mut teacher = Term::open(&ht, 100, 30).await;
    let screen = teacher.until_text("cnn-tutor class").await;
    assert!(screen.contains("teacher teach"), "{screen}");
    teacher.until_text("teach-2").await;
    // a Cyrillic `е` reads as the teacher's name: its own name, marked on the console
    let (h3, _) = login(server.addr(), "t\u{0435}ach", CODE).await;
    let mut look_alike = Term::open(&h3, 100, 30).await;
    look_alike.until_text("press f to follow the teacher").await;
    teacher.until_text("~t\u{0435}ach").await;
}

/// A student raises a hand (Ctrl-R) with a note: it appears in the teacher's queue (`h`);
/// the teacher answers it and only that student sees the answer, their hand lowered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raised_hand_reaches_the_teachers_queue_and_only_its_student_sees_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.teacher = Some("teach".into());
    let server = start(c);
    let (ht, _) = login(server.addr(), "teach", CODE).await;
    let mut teacher = Term::open(&ht, 80, 24).await;
    teacher.until_text("cnn-tutor class").await;
    let (ha, _) = login(server.addr(), "ada", CODE).await;
    let mut ada = Term::open(&ha, 80, 24).await;
    let (hk, _) = login(server.addr(), "kim", CODE).await;
    let mut kim = Term::open(&hk, 80, 24).await;
    ada.until_text(&first_lesson_title()).await;
    kim.until_text(&first_lesson_title()).await;

    // Ctrl-R asks for a note; typed letters are the note (q does not quit)
    ada.keys(b"\x12").await;
    ada.until_text("raise your hand: a note for the teacher")
        .await;
    ada.keys(b"why 155 q?\r").await;
    ada.until_text("your hand is up: 1 of 1 in the queue").await;

    teacher.keys(b"h").await;
    let queue = teacher
        .until("ada's hand in the queue", |t| {
            t.screen().contains("raised hands") && t.screen().contains("why 155 q?")
        })
        .await;
    let row = queue.lines().find(|l| l.contains("ada")).unwrap();
    assert!(row.contains(" 1 ") && row.contains("why 155 q?"), "{queue}");
    assert!(queue.contains("1 in the queue"), "{queue}");

    // the teacher answers: ada sees it, kim does not, and the hand is down
    teacher.keys(b"\r").await;
    teacher.until_text("answer ada (only they see it)").await;
    teacher.keys(b"look at row 2\r").await;
    teacher.until_text("answered ada").await;
    ada.until_text("the teacher to you: look at row 2").await;
    ada.until_gone("your hand is up").await;
    teacher.until_text("0 in the queue").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!kim.screen().contains("look at row 2"), "{}", kim.screen());
    // Enter dismisses it
    ada.keys(b"\r").await;
    ada.until_gone("the teacher to you").await;
}
