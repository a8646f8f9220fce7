//! The class roster and the gradebook (issue 26, items 8 and 9): only the roster's names
//! log in (a personal code where it gives one), a second login of a name replaces the first
//! (and the server's log says so), the console lists who is absent, and the gradebook
//! written with the report carries the roster's identifying columns and what each student
//! did, read back with the CSV rules Canvas and Moodle import (RFC 4180).
//!
//! Servers run in-process on loopback (russh clients), except where the log is read: there
//! the real binary runs as a child process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cnn_tutor::serve::gradebook::GradebookFormat;
use cnn_tutor::serve::roster::Roster;
use cnn_tutor::serve::ServeConfig;
use russh::client;

use crate::common::ssh;
use ssh::{config, connect, eventually, start, Client, Term, CODE};

const ROSTER: &str = "Student,login,ID,SIS User ID,SIS Login ID,Section,email,code\r\n\
\"Lovelace, Ada\",ada,101,S-001,ada.lovelace,Period 1,ada@school.edu,\r\n\
Bob Byte,bob,102,S-002,bob.byte,Period 1,bob@school.edu,b0b-secret\r\n\
\"Carol \"\"CJ\"\" Jones\",carol,103,S-003,carol.jones,Period 2,carol@school.edu,\r\n";

fn roster() -> Arc<Roster> {
    Arc::new(Roster::parse(ROSTER.as_bytes(), "class.csv").expect("the roster reads"))
}

fn roster_config(state: &Path, format: GradebookFormat) -> ServeConfig {
    let mut c = config(state);
    c.roster = Some(roster());
    c.gradebook = format;
    c
}

/// Log in as `user` with `code`: the handle, and whether the login was accepted.
async fn login(addr: SocketAddr, user: &str, code: &str) -> (client::Handle<Client>, bool) {
    let mut h = connect(addr).await;
    let ok = h.authenticate_password(user, code).await.unwrap().success();
    (h, ok)
}

async fn student(addr: SocketAddr, user: &str, code: &str) -> (client::Handle<Client>, Term) {
    let (h, ok) = login(addr, user, code).await;
    assert!(ok, "{user} logs in");
    let mut t = Term::open(&h, 100, 30).await;
    t.until_text("Convolution").await;
    (h, t)
}

/// A name not on the roster is told so and gets no place; a personal code is required
/// for its name (the class code is not enough), and the class code serves the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_not_on_the_roster_is_refused_and_personal_codes_are_required() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(roster_config(dir.path(), GradebookFormat::Plain));
    let (h, ok) = login(server.addr(), "mallory", CODE).await;
    assert!(
        ok,
        "the class code is right: the refusal comes with a reason"
    );
    let mut t = Term::open(&h, 80, 24).await;
    let said = t.until_closed().await;
    assert!(
        said.contains("mallory is not on this class's roster"),
        "{said}"
    );
    assert_eq!(server.sessions(), 0, "no place was taken");
    // names compare as typed: `Ada` is not `ada`
    let (h, _) = login(server.addr(), "Ada", CODE).await;
    let mut t = Term::open(&h, 80, 24).await;
    assert!(t
        .until_closed()
        .await
        .contains("not on this class's roster"));
    // bob has a personal code: the class code does not let him in, his code does
    assert!(!login(server.addr(), "bob", CODE).await.1);
    assert!(!login(server.addr(), "ada", "b0b-secret").await.1);
    let (_hb, _bob) = student(server.addr(), "bob", "b0b-secret").await;
    let (_ha, _ada) = student(server.addr(), "ada", CODE).await;
    eventually("both in the class", || server.sessions() == 2).await;
}

/// With a roster the console lists who is absent (the roster's names not connected), at
/// 80x24, and the list shrinks as they come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lists_who_is_absent() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = roster_config(dir.path(), GradebookFormat::Plain);
    c.teacher = Some("teach".into());
    let server = start(c);
    let (_ht, mut teacher) = {
        let (h, ok) = login(server.addr(), "teach", CODE).await;
        assert!(ok, "the teacher is not on the roster and still logs in");
        let t = Term::open(&h, 80, 24).await;
        (h, t)
    };
    teacher.until_text("absent (3): ada, bob, carol").await;
    let (_ha, _ada) = student(server.addr(), "ada", CODE).await;
    let screen = teacher.until_text("absent (2): bob, carol").await;
    assert!(screen.lines().any(|l| l.contains("ada")), "{screen}");
    let (_hc, _carol) = student(server.addr(), "carol", CODE).await;
    teacher.until_text("absent (1): bob").await;
}

/// The server binary with a roster, its log collected (the log is its stderr).
struct ServerProc {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl ServerProc {
    fn start(args: &[&str]) -> ServerProc {
        let dir = tempfile::tempdir().unwrap();
        // `serve` checks the class's image folder at start: two small classes
        let data = dir.path().join("data");
        for (c, class) in ["circle", "square"].iter().enumerate() {
            std::fs::create_dir_all(data.join(class)).unwrap();
            for i in 0..5u8 {
                image::RgbImage::from_pixel(16, 16, image::Rgb([i * 40, c as u8 * 200, 90]))
                    .save(data.join(class).join(format!("{i}.png")))
                    .unwrap();
            }
        }
        let roster = dir.path().join("class.csv");
        std::fs::write(&roster, ROSTER).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .arg("--roster")
            .arg(&roster)
            .args(args)
            .env("CNN_TUTOR_STATE_DIR", dir.path())
            .env("CNN_TUTOR_CODE", CODE)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let log = Arc::new(Mutex::new(String::new()));
        let addr = loop {
            let mut line = String::new();
            let n = err.read_line(&mut line).expect("server log");
            assert!(n > 0, "the server ended before listening: {:?}", log);
            log.lock().unwrap().push_str(&line);
            if let Some(a) = line.strip_prefix("cnn-tutor classroom listening on ") {
                break a.trim().parse().expect("address");
            }
        };
        let l = Arc::clone(&log);
        std::thread::spawn(move || loop {
            let mut line = String::new();
            match err.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => l.lock().unwrap().push_str(&line),
            }
        });
        ServerProc {
            child,
            addr,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A second login of a roster name ends the first session (its student is told why) and
/// takes the name itself (models save as `ada`, not `ada-2`); the log says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_login_of_a_roster_name_replaces_the_first() {
    let server = ServerProc::start(&[]);
    let said = async {
        while !server.log().contains("roster: 3 student(s) from ") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(ssh::GUARD, said)
        .await
        .unwrap_or_else(|_| panic!("no roster line:\n{}", server.log()));
    assert!(
        server.log().contains("roster: 3 student(s) from ")
            && server.log().contains("(1 with a personal code)"),
        "{}",
        server.log()
    );
    let (_h1, mut first) = student(server.addr, "ada", CODE).await;
    let (_h2, mut second) = student(server.addr, "ada", CODE).await;
    let said = first.until_closed().await;
    assert!(
        said.contains("You logged in again (from 127.0.0.1:"),
        "{said}"
    );
    // the new session is ada's, with no "already connected" renaming
    let screen = second.screen();
    assert!(!screen.contains("ada-2"), "{screen}");
    let wait = async {
        while !server
            .log()
            .contains("replaced by a new login of the same name")
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(ssh::GUARD, wait)
        .await
        .unwrap_or_else(|_| panic!("the log never said so:\n{}", server.log()));
    let log = server.log();
    let again = log
        .lines()
        .find(|l| l.contains("logged in again: replaces session #"))
        .unwrap_or_else(|| panic!("no replacement line:\n{log}"));
    assert!(again.starts_with("ada@127.0.0.1:"), "{again}");
    assert!(again.ends_with("(one session per roster name)"), "{again}");
    // the second session goes on
    second.keys(b"\r").await;
    second.until_text("step 1/").await;
    assert!(!second.closed);
}

/// A roster file the server cannot use stops it at once with one line naming the file,
/// the line and the field, and exit status 2.
#[test]
fn a_bad_roster_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("bad.csv");
    std::fs::write(&roster, "login,email\nada,a@x\n\"a b\",b@x\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
        .args(["serve", "--listen", "127.0.0.1:0", "--roster"])
        .arg(&roster)
        .env("CNN_TUTOR_STATE_DIR", dir.path())
        .env("CNN_TUTOR_CODE", CODE)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("bad.csv: line 3: field login: `a b` is not a login name"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// The gradebook and its detail (plain) file, when there is one.
fn gradebooks(state: &Path) -> (PathBuf, Option<PathBuf>) {
    let files = reports(state, "gradebook-");
    let (detail, main): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|p| p.to_string_lossy().ends_with("-detail.csv"));
    assert_eq!(main.len(), 1, "one gradebook: {main:?}");
    (main[0].clone(), detail.first().cloned())
}

/// Files in the reports folder whose name starts with `prefix`.
fn reports(state: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(state.join("reports"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    files.sort();
    files
}

/// Read a CSV file as RFC 4180 says (what Canvas and Moodle import): quoted fields, `""`
/// inside them, every row as long as the header.
fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with("\r\n"), "rows end in CRLF: {text:?}");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("an RFC 4180 row")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

fn lesson_steps(id: &str) -> usize {
    cnn_tutor::lesson::load(None)
        .unwrap()
        .iter()
        .find(|l| l.id() == id)
        .unwrap()
        .frames()
        .unwrap()
        .len()
}

/// Open the convolution lesson from the menu with "your turn" on and answer its first
/// question right (155).
async fn answer_the_first_question(t: &mut Term) {
    t.keys(b"\r").await;
    t.until_text("step 1/").await;
    t.keys(b"y\x1b[C").await;
    t.until_text("Your turn").await;
    t.keys(b"155\r").await;
    t.until_text("1/1 right").await;
}

/// A short class: ada opens the convolution lesson with "your turn" on, answers the first
/// question right and the second wrong (step 3 reached); bob logs in and does nothing;
/// carol never comes. The Canvas gradebook has Canvas's first columns from the roster, a
/// "Points Possible" row and the points each did; the plain one beside it the numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canvas_gradebook_has_the_roster_ids_and_what_each_student_did() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(roster_config(dir.path(), GradebookFormat::Canvas));
    let (_ha, mut ada) = student(server.addr(), "ada", CODE).await;
    let (_hb, _bob) = student(server.addr(), "bob", "b0b-secret").await;
    answer_the_first_question(&mut ada).await;
    ada.keys(b"\x1b[C").await;
    ada.until_text("step 3/").await;
    ada.keys(b"99\r").await;
    ada.until_text("1/2 right").await;
    eventually("ada's answers reach the class", || {
        server.records().iter().any(|r| {
            r.name == "ada"
                && r.lessons
                    .get("convolution")
                    .is_some_and(|m| m.asked == 2 && m.reached == 3)
        })
    })
    .await;
    let (_, md) = tokio::task::block_in_place(|| server.stop()).expect("the report is written");
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains("Never connected (1 of 3 on the roster): carol."),
        "{md}"
    );

    let (canvas, detail) = gradebooks(dir.path());
    let detail = detail.expect("the detail beside the Canvas file");
    let rows = read_csv(&canvas);
    let lessons = cnn_tutor::lesson::load(None).unwrap();
    assert_eq!(
        rows[0][..5],
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    );
    assert_eq!(
        rows[0].len(),
        5 + lessons.len(),
        "a points column per lesson"
    );
    assert_eq!(rows[0][5], lessons[0].title());
    assert_eq!(rows[1][0].trim(), "Points Possible");
    assert!(rows[1][5..].iter().all(|p| p == "10.0"), "{:?}", rows[1]);
    assert_eq!(
        rows.len(),
        2 + 3,
        "every roster student, carol who never came too"
    );
    let n = lesson_steps("convolution") as f64;
    let want = (10.0 * (3.0 / n + 0.5) / 2.0 * 10.0).round() / 10.0;
    assert_eq!(
        rows[2][..6],
        [
            "Lovelace, Ada".to_string(),
            "101".into(),
            "S-001".into(),
            "ada.lovelace".into(),
            "Period 1".into(),
            format!("{want:.1}"),
        ]
    );
    assert!(rows[2][6..].iter().all(|p| p == "0.0"), "{:?}", rows[2]);
    assert_eq!(rows[3][..4], ["Bob Byte", "102", "S-002", "bob.byte"]);
    assert_eq!(rows[4][0], "Carol \"CJ\" Jones");
    assert!(rows[3][5..].iter().chain(&rows[4][5..]).all(|p| p == "0.0"));
    // no personal code ever reaches a gradebook
    let all =
        std::fs::read_to_string(&canvas).unwrap() + &std::fs::read_to_string(&detail).unwrap();
    assert!(!all.contains("b0b-secret"));

    let detail = read_csv(&detail);
    let col = |name: &str| {
        detail[0]
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}: {:?}", detail[0]))
    };
    let reached = col(&format!("convolution: steps reached (of {n})"));
    let ada_row = &detail[1];
    assert_eq!(ada_row[col("login")], "ada");
    assert_eq!(ada_row[col("SIS Login ID")], "ada.lovelace");
    assert_eq!(
        ada_row[reached..reached + 5],
        ["3", "0", "1", "2", &format!("{want:.1}")]
    );
    let bob = &detail[2];
    assert_eq!(bob[col("login")], "bob");
    assert_eq!(bob[reached..reached + 5], ["0", "0", "0", "0", "0.0"]);
}

/// The Moodle gradebook: its identifier column (`email`) holds the roster's values, in
/// the roster's order, and one column per lesson (a grade item) holds the points.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_moodle_gradebook_maps_users_by_the_rosters_email() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(roster_config(dir.path(), GradebookFormat::Moodle));
    let (_hc, mut carol) = student(server.addr(), "carol", CODE).await;
    // carol finishes the convolution lesson (G: its last step)
    carol.keys(b"\rG").await;
    let n = lesson_steps("convolution");
    carol.until_text(&format!("step {n}/{n}")).await;
    eventually("carol's lesson reaches the class", || {
        server
            .records()
            .iter()
            .any(|r| r.name == "carol" && r.finished.contains("convolution"))
    })
    .await;
    tokio::task::block_in_place(|| server.stop()).expect("the report is written");
    let (moodle, detail) = gradebooks(dir.path());
    assert!(detail.is_some(), "the numbers beside the points");
    let rows = read_csv(&moodle);
    let email = rows[0]
        .iter()
        .position(|h| h == "email")
        .expect("an identifier column Moodle maps users by");
    let roster = roster();
    let emails: Vec<&str> = rows[1..].iter().map(|r| r[email].as_str()).collect();
    let want: Vec<&str> = roster
        .students
        .iter()
        .map(|s| roster.value(s, "email").unwrap())
        .collect();
    assert_eq!(emails, want);
    let lessons = cnn_tutor::lesson::load(None).unwrap();
    let first = rows[0]
        .iter()
        .position(|h| h == lessons[0].title())
        .unwrap_or_else(|| panic!("a grade item per lesson: {:?}", rows[0]));
    assert_eq!(rows[0].len(), first + lessons.len());
    assert_eq!(rows[3][first], "10.0", "carol finished it: {:?}", rows[3]);
    assert_eq!(rows[1][first], "0.0");
    assert!(!rows[0].iter().any(|h| h == "code"));
}

/// In a full class a new login of a roster name still gets in: the session it replaces
/// gives back its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_login_of_a_roster_name_gets_in_when_the_class_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = roster_config(dir.path(), GradebookFormat::Plain);
    c.max_sessions = 1;
    let server = start(c);
    let (_h1, mut first) = student(server.addr(), "ada", CODE).await;
    let (_h2, mut second) = student(server.addr(), "ada", CODE).await;
    assert!(first.until_closed().await.contains("You logged in again"));
    second.keys(b"\r").await;
    second.until_text("step 1/").await;
    assert_eq!(server.sessions(), 1);
    // another name is still told the class is full
    let (h, ok) = login(server.addr(), "carol", CODE).await;
    assert!(ok);
    let mut t = Term::open(&h, 80, 24).await;
    assert!(t.until_closed().await.contains("the class is full"));
}

/// Wi-Fi drops: ada, at step 2 of the convolution lesson with one answer right, loses her
/// connection and logs in again. She is back at that step with her tally, and the report
/// counts each answer once. A new login while the old one is still connected (a roster
/// name holds one session) carries her place over the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_who_reconnects_gets_their_place_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(roster_config(dir.path(), GradebookFormat::Plain));
    let (h, mut ada) = student(server.addr(), "ada", CODE).await;
    answer_the_first_question(&mut ada).await;
    eventually("ada's answer reaches the class", || {
        server
            .records()
            .iter()
            .any(|r| r.quiz.is_some_and(|q| q.asked == 1))
    })
    .await;
    drop(ada);
    drop(h);
    eventually("ada's session ends", || {
        server.class_view(None).students.is_empty()
    })
    .await;

    let (h, mut ada) = student(server.addr(), "ada", CODE).await;
    let screen = ada
        .until_text("welcome back, ada: you carry on at lesson 1, step 2; your turn 1/1")
        .await;
    assert!(screen.contains("step 2/"), "{screen}");
    assert!(screen.contains("1/1 right"), "the tally is back: {screen}");
    ada.keys(b"\x1b[C").await;
    ada.until_text("step 3/").await;
    ada.keys(b"99\r").await;
    ada.until_text("1/2 right").await;
    eventually("the second answer reaches the class", || {
        server.records().iter().any(|r| {
            r.quiz.is_some_and(|q| q.asked == 2)
                && r.lessons
                    .get("convolution")
                    .is_some_and(|m| (m.asked, m.right, m.reached) == (2, 1, 3))
        })
    })
    .await;

    // logged in again from elsewhere while this session is still up: the new one carries on
    let (h2, ok) = login(server.addr(), "ada", CODE).await;
    assert!(ok);
    let mut again = Term::open(&h2, 100, 30).await;
    let screen = again
        .until_text("welcome back, ada: you carry on at lesson 1, step 3; your turn 1/2")
        .await;
    assert!(screen.contains("step 3/"), "{screen}");
    ada.until_closed().await;
    drop(h);
    let records = server.records();
    let ada = records
        .iter()
        .find(|r| r.name == "ada")
        .expect("ada's record");
    assert_eq!(
        ada.quiz.map(|q| (q.right, q.asked)),
        Some((1, 2)),
        "each answer once"
    );
}
