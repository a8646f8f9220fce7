//! `cnn-tutor serve` against hostile clients, over loopback: connections that never log
//! in, floods of them under a low open-file limit, a client that pastes megabytes, one that
//! stops reading, and control characters in what clients send. Servers run in-process
//! (with tiny grace times through `ServeConfig`) or, where the test needs the process's own
//! file limit, memory or log, as the real binary.
//!
//! Every wait has a generous guard against hanging forever; no test asserts a tight time.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cnn_tutor::serve;
use russh::client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::ssh;
use ssh::{config, connect_with, eventually, first_lesson_title, start, Client, Term, CODE, GUARD};

async fn login(addr: SocketAddr, user: &str) -> client::Handle<Client> {
    let mut h = connect_with(addr, client::Config::default()).await;
    let ok = h
        .authenticate_password(user, CODE)
        .await
        .expect("auth exchange")
        .success();
    assert!(ok, "the class code logs in");
    h
}

/// A raw TCP connection that sends nothing; the flag turns true once the server closes it.
async fn idle_tcp(
    addr: SocketAddr,
    closed: Arc<AtomicUsize>,
) -> Option<tokio::task::JoinHandle<()>> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    Some(tokio::spawn(async move {
        let mut buf = [0u8; 256];
        // the server's SSH banner comes first; then the close (EOF or reset)
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
        closed.fetch_add(1, Ordering::SeqCst);
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_do_not_log_in_within_the_grace_time_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.login_grace = Duration::from_secs(3);
    let server = start(c);
    let addr = server.addr();
    let title = first_lesson_title();

    // a student in the app stays, whatever the grace time
    let hs = login(addr, "ada").await;
    let mut student = Term::open_as(&hs, "xterm", 80, 24, None).await;
    student.until_text(&title).await;

    let closed = Arc::new(AtomicUsize::new(0));
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(idle_tcp(addr, Arc::clone(&closed)).await.expect("connects"));
    }
    // finished key exchange, never logged in (its keepalive replies must not keep it)
    let kexed: Vec<_> =
        futures_join((0..3).map(|_| connect_with(addr, client::Config::default()))).await;
    // logged in, never asked for the app
    let lingering = login(addr, "eve").await;
    eventually("all ten were accepted", || {
        server.connections() == 1 + 5 + 3 + 1
    })
    .await;

    eventually("the idle sockets are closed", || {
        closed.load(Ordering::SeqCst) == 5
    })
    .await;
    eventually("the key-exchanged connections are closed", || {
        kexed.iter().all(|h| h.is_closed())
    })
    .await;
    eventually("the logged-in connection without the app is closed", || {
        lingering.is_closed()
    })
    .await;
    eventually("only the student is left", || server.connections() == 1).await;
    assert_eq!(server.sessions(), 1);
    // and the student's app still answers
    student.channel.data(&b"\r"[..]).await.unwrap();
    student.until_text("step 1/").await;
}

/// `join_all` without the futures crate: the futures run one after another (each is quick).
async fn futures_join<T>(
    futs: impl Iterator<Item = impl std::future::Future<Output = T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for f in futs {
        out.push(f.await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_a_new_connection_closes_the_oldest_waiting_one_and_students_get_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.max_unauthenticated = 4;
    c.login_grace = Duration::from_secs(120);
    let server = start(c);
    let addr = server.addr();

    let closed = Arc::new(AtomicUsize::new(0));
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(idle_tcp(addr, Arc::clone(&closed)).await.expect("connects"));
    }
    eventually("all 20 were accepted and 16 closed", || {
        closed.load(Ordering::SeqCst) == 16 && server.connections() == 4
    })
    .await;
    assert_eq!(server.unauthenticated(), 4);
    // an arriving student still gets in: their connection makes room too
    let h = login(addr, "ada").await;
    let mut t = Term::open_as(&h, "xterm", 80, 24, None).await;
    t.until_text(&first_lesson_title()).await;
    eventually("one more waiting socket made room", || {
        closed.load(Ordering::SeqCst) == 17
    })
    .await;
    assert_eq!(server.unauthenticated(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_paste_is_dropped_beyond_what_anyone_types_and_the_session_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()));
    let h = login(server.addr(), "ada").await;
    let mut t = Term::open_as(&h, "xterm", 80, 24, None).await;
    t.until_text(&first_lesson_title()).await;
    // 4 MB of menu moves, with an unterminated OSC string in the middle
    let mut paste = b"jk".repeat(1 << 20);
    paste.extend_from_slice(b"\x1b]0;");
    paste.extend(std::iter::repeat_n(b'x', 1 << 20));
    paste.extend_from_slice(b"\x07");
    paste.extend(b"jk".repeat(1 << 19));
    t.paste(paste).await;
    // the keys allowed are few: the app is done with them at once, and a later key works
    tokio::time::sleep(Duration::from_millis(1500)).await;
    t.channel.data(&b"q"[..]).await.unwrap();
    let raw = t.until_closed().await;
    assert!(raw.contains("Goodbye"), "q still quits after the paste");
    eventually("the place is free", || server.sessions() == 0).await;
}

/// A loopback proxy whose server-to-client direction can be stopped: the client then
/// reads nothing, as a client that stopped reading.
async fn pausing_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let paused = Arc::new(AtomicBool::new(false));
    let p = Arc::clone(&paused);
    tokio::spawn(async move {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let server = TcpStream::connect(upstream).await.unwrap();
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = cr.read(&mut buf).await {
                if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if p.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    (addr, paused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_and_its_place_freed() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.max_sessions = 1;
    c.output_timeout = Duration::from_secs(1);
    let server = start(c);
    let (proxy, paused) = pausing_proxy(server.addr()).await;
    // a small window, so the server runs out of it soon after the client stops reading
    let small = client::Config {
        window_size: 16 * 1024,
        ..Default::default()
    };
    let mut h = connect_with(proxy, small).await;
    assert!(h
        .authenticate_password("stuck", CODE)
        .await
        .unwrap()
        .success());
    let mut t = Term::open_as(&h, "xterm", 80, 24, None).await;
    t.until_text(&first_lesson_title()).await;
    t.channel.data(&b"\r"[..]).await.unwrap();
    t.until_text("step 1/").await;

    paused.store(true, Ordering::SeqCst);
    // keep the app drawing (steps forward and back) until the server gives up on it
    let start = Instant::now();
    let mut right = true;
    while server.sessions() == 1 && start.elapsed() < GUARD {
        let key: &[u8] = if right { b"\x1b[C" } else { b"\x1b[D" };
        right = !right;
        let _ = tokio::time::timeout(Duration::from_millis(200), t.channel.data(key)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eventually("the stalled session ended", || server.sessions() == 0).await;
    eventually("its connection is closed", || server.connections() == 0).await;

    // the place is free for the next student
    let h2 = login(server.addr(), "next").await;
    let mut t2 = Term::open_as(&h2, "xterm", 80, 24, None).await;
    t2.until_text(&first_lesson_title()).await;
    assert_eq!(server.sessions(), 1);
}

/// The real server as a child process (optionally under `ulimit -n`), its log collected.
struct ServerProc {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
    _dir: tempfile::TempDir,
}

impl ServerProc {
    fn start(files: Option<u32>, args: &[&str]) -> ServerProc {
        let dir = tempfile::tempdir().unwrap();
        // a small folder of two classes: `serve` checks the class's folder at start
        let data = dir.path().join("data");
        for (c, class) in ["circle", "square"].iter().enumerate() {
            std::fs::create_dir_all(data.join(class)).unwrap();
            for i in 0..5u8 {
                image::RgbImage::from_pixel(16, 16, image::Rgb([i * 40, c as u8 * 200, 90]))
                    .save(data.join(class).join(format!("{i}.png")))
                    .unwrap();
            }
        }
        let bin = env!("CARGO_BIN_EXE_cnn-tutor");
        let mut cmd = Command::new("sh");
        let limit = files.map_or(String::new(), |n| format!("ulimit -n {n} && "));
        cmd.arg("-c")
            .arg(format!("{limit}exec \"$0\" \"$@\""))
            .arg(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .args(args)
            .env("CNN_TUTOR_STATE_DIR", dir.path())
            .env("CNN_TUTOR_CODE", CODE)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the server starts");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let addr = loop {
            let mut line = Vec::new();
            let n = err.read_until(b'\n', &mut line).expect("server log");
            assert!(n > 0, "the server ended before listening: {:?}", log);
            let text = String::from_utf8_lossy(&line).into_owned();
            log.lock().unwrap().push(line);
            if let Some(a) = text.strip_prefix("cnn-tutor classroom listening on ") {
                break a.trim().parse().expect("address");
            }
        };
        let l = Arc::clone(&log);
        std::thread::spawn(move || loop {
            let mut line = Vec::new();
            match err.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => l.lock().unwrap().push(line),
            }
        });
        ServerProc {
            child,
            addr,
            log,
            _dir: dir,
        }
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// (VmRSS, VmHWM) in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} in /proc status"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Wait (guarded) until a log line holds `text`.
    async fn until_logged(&self, text: &str) {
        let start = Instant::now();
        while !self.log_text().iter().any(|l| l.contains(text)) {
            assert!(
                start.elapsed() < GUARD,
                "{text:?} never logged: {:?}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The flood of the issue: under `ulimit -n 256`, `idle` TCP connections that send
/// nothing and 40 that finish key exchange; the server stays up, a student reaches the
/// menu during the flood, and nearly all of the flood is closed soon after.
async fn flood(extra: &[&str], idle: usize) {
    // the test's own side holds some 500 sockets
    serve::raise_open_file_limit();
    let mut server = ServerProc::start(Some(256), &[&["--login-grace", "2s"], extra].concat());
    let addr = server.addr;
    let closed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..idle {
        if let Some(t) = idle_tcp(addr, Arc::clone(&closed)).await {
            tasks.push(t);
        }
    }
    let kexed: Vec<_> = {
        let mut v = Vec::new();
        for _ in 0..40 {
            let c = client::connect(Arc::new(client::Config::default()), addr, Client);
            if let Ok(Ok(h)) = tokio::time::timeout(GUARD, c).await {
                v.push(h);
            }
        }
        v
    };
    assert!(
        server.running(),
        "the flood stopped the server: {:?}",
        server.log_text()
    );
    // a student gets in while the flood is still held open (and more keeps arriving)
    let more = {
        let closed = Arc::clone(&closed);
        tokio::spawn(async move {
            let mut v = Vec::new();
            for _ in 0..50 {
                v.push(idle_tcp(addr, Arc::clone(&closed)).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            v
        })
    };
    let h = login(addr, "ada").await;
    let mut t = Term::open_as(&h, "xterm", 80, 24, None).await;
    t.until_text(&first_lesson_title()).await;
    let more: Vec<_> = more.await.unwrap().into_iter().flatten().collect();
    let total = tasks.len() + more.len() + kexed.len();
    assert!(
        tasks.len() == idle && kexed.len() >= 35,
        "the flood's connections were made: {} idle, {} after key exchange",
        tasks.len(),
        kexed.len()
    );
    let start = Instant::now();
    let gone = || closed.load(Ordering::SeqCst) + kexed.iter().filter(|h| h.is_closed()).count();
    while gone() * 10 < total * 9 && start.elapsed() < Duration::from_secs(75) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        gone() * 10 >= total * 9,
        "only {} of {total} flood connections were closed within 75 s",
        gone()
    );
    assert!(server.running(), "{:?}", server.log_text());
    // the student is still served
    t.channel.data(&b"\r"[..]).await.unwrap();
    t.until_text("step 1/").await;
    let log = server.log_text();
    let closings = log
        .iter()
        .filter(|l| l.contains("to make room") || l.contains("did not log in"))
        .count();
    assert!(
        closings <= 2,
        "drops are logged once a minute, not per connection: {log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_under_256_open_files_does_not_stop_the_server() {
    flood(&[], 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_open_files_backs_off_instead_of_stopping_the_server() {
    // a cap above the file limit: accept() fails with EMFILE, and must not end `serve`
    flood(&["--max-unauthenticated", "1000"], 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_paste_grows_the_server_by_little() {
    let server = ServerProc::start(None, &[]);
    let h = login(server.addr, "ada").await;
    let mut t = Term::open_as(&h, "xterm", 80, 24, None).await;
    t.until_text(&first_lesson_title()).await;
    let (rss0, hwm0) = server.memory();
    t.paste(b"jk".repeat(25 << 20)).await; // 50 MiB
                                           // the server has taken it all in (its window is open again): measure, then check
                                           // the session still answers (after the key budget refills)
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (rss1, hwm1) = server.memory();
    let grown = hwm1.saturating_sub(hwm0.max(rss0));
    eprintln!("server memory: VmRSS {rss0} -> {rss1} KiB, VmHWM {hwm0} -> {hwm1} KiB");
    assert!(
        grown < 150 * 1024,
        "pasting 50 MB grew the server's peak by {grown} KiB"
    );
    t.channel.data(&b"q"[..]).await.unwrap();
    t.until_closed().await;
    // the dropped keys are counted in the session's last log line
    server.until_logged("sent faster than anyone types").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_clients_send_reaches_the_log_escaped() {
    let server = ServerProc::start(None, &[]);
    let forged = "mallory@10.0.0.1:1 logged in";
    let h = login(server.addr, &format!("eve\n{forged}\x1b[2J")).await;
    let term = format!("xterm\n{forged}\x1b]0;pwned\x07\r");
    let mut t = Term::open_as(&h, &term, 80, 24, None).await;
    t.until_text(&first_lesson_title()).await;
    t.channel.data(&b"q"[..]).await.unwrap();
    t.until_closed().await;
    // wrong codes and refused names are logged too
    let mut bad = connect_with(server.addr, client::Config::default()).await;
    let _ = bad
        .authenticate_password(format!("x\n{forged}"), "wrong")
        .await;
    server.until_logged("wrong class code").await;
    server.until_logged("session ended").await;
    let raw = server.log.lock().unwrap().concat();
    let log = server.log_text();
    assert!(
        !raw.iter().any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
        "a control character reached the log: {log:?}"
    );
    assert!(
        !log.iter().any(|l| l.starts_with("mallory")),
        "a line was forged: {log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("TERM=xterm\\nmallory")),
        "TERM is logged, escaped: {log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("wrong class code")),
        "{log:?}"
    );
}

/// A state folder where the report cannot be written (here its `reports` is a file): the
/// stopping server prints the report (Markdown) rather than lose the class's records, and
/// a class code file other users can read is warned about at start.
#[test]
fn the_report_is_printed_when_it_cannot_be_saved() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for class in ["circle", "square"] {
        std::fs::create_dir_all(data.join(class)).unwrap();
        for i in 0..3u8 {
            image::RgbImage::from_pixel(16, 16, image::Rgb([i * 60, 10, 90]))
                .save(data.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("reports"), "not a folder").unwrap();
    let code = dir.path().join("code");
    std::fs::write(&code, "owl-42\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&code, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--code-file")
        .arg(&code)
        .env("CNN_TUTOR_STATE_DIR", &state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "ended early: {log}");
        log.push_str(&line);
        if line.starts_with("cnn-tutor classroom listening on ") {
            break;
        }
    }
    assert!(log.contains("is readable by other users"), "{log}");
    // SIGTERM at once: the server listens for it from its start, so the class stops as on
    // Ctrl-C (goodbyes, the report) however early it comes
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(rest.contains("the class report was not written"), "{rest}");
    assert!(stdout.contains("# Class report"), "{stdout}");
    // and the gradebook, as CSV
    assert!(stdout.contains("## Gradebook (CSV)\n\nlogin,"), "{stdout}");
}
