//! Load test of `cnn-tutor serve` on loopback: N students at once log in and step through
//! the first seven lessons; prints the server's CPU time and peak memory (Linux /proc).
//!
//! ```text
//! cargo build --release && cargo run --release --example serve_load -- \
//!     [--bin target/release/cnn-tutor] [--sessions 30] [--steps 6] [--hold SECONDS]
//! ```
//!
//! The server runs as its own process (the real `cnn-tutor serve` binary), so its numbers
//! leave out the clients.
//!
//! With `--flood IDLE` it plays the hostile class of issue 17 instead: the server runs
//! under `ulimit -n FILES` (default 256); IDLE TCP connections that send nothing and KEX
//! that finish key exchange and never log in are opened, then one student logs in and
//! pastes MB megabytes; it prints how long the student took to reach the menu, how many
//! of the flood were closed by when, and the server's memory before and after the paste:
//!
//! ```text
//! cargo run --release --example serve_load -- --flood 400 [--kex 40] [--files 256] \
//!     [--paste 50] [--grace 30s] [--bin target/release/cnn-tutor]
//! ```

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::client;
use russh::ChannelMsg;

const CODE: &str = "load-test";
const GUARD: Duration = Duration::from_secs(120);

struct Client;

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// The number after `step 1/` on the screen (the lesson's step count).
fn steps_on(screen: &str) -> Option<usize> {
    let at = screen.find("step 1/")? + "step 1/".len();
    let digits: String = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

struct Student {
    channel: russh::Channel<client::Msg>,
    vt: vt100::Parser,
    keys: usize,
}

impl Student {
    async fn until(&mut self, what: &str, done: impl Fn(&str) -> bool) -> Result<String, String> {
        let wait = async {
            loop {
                let screen = self.vt.screen().contents();
                if done(&screen) {
                    return Ok(screen);
                }
                match self.channel.wait().await {
                    Some(ChannelMsg::Data { data }) => self.vt.process(&data),
                    Some(ChannelMsg::Close) | None => return Err(format!("closed before {what}")),
                    Some(_) => {}
                }
            }
        };
        tokio::time::timeout(GUARD, wait)
            .await
            .unwrap_or_else(|_| Err(format!("timed out waiting for {what}")))
    }

    async fn press(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.keys += 1;
        self.channel.data(bytes).await.map_err(|e| e.to_string())
    }
}

async fn student(
    addr: SocketAddr,
    n: usize,
    steps: usize,
    hold: Duration,
) -> Result<usize, String> {
    let config = Arc::new(client::Config::default());
    let mut h = client::connect(config, addr, Client)
        .await
        .map_err(|e| e.to_string())?;
    let auth = h
        .authenticate_password(format!("student{n}"), CODE)
        .await
        .map_err(|e| e.to_string())?;
    if !auth.success() {
        return Err("login refused".into());
    }
    let channel = h.channel_open_session().await.map_err(|e| e.to_string())?;
    channel
        .request_pty(false, "xterm-256color", 100, 30, 0, 0, &[])
        .await
        .map_err(|e| e.to_string())?;
    channel
        .set_env(false, "LANG", "C.UTF-8")
        .await
        .map_err(|e| e.to_string())?;
    channel
        .request_shell(true)
        .await
        .map_err(|e| e.to_string())?;
    let mut s = Student {
        channel,
        vt: vt100::Parser::new(30, 100, 0),
        keys: 0,
    };
    s.until("the menu", |sc| sc.contains("1. Convolution"))
        .await?;
    for lesson in 0..7 {
        if lesson > 0 {
            s.press(b"j").await?;
        }
        s.press(b"\r").await?;
        let screen = s.until("a lesson", |sc| steps_on(sc).is_some()).await?;
        let total = steps_on(&screen).unwrap_or(1);
        for k in 1..total.min(steps + 1) {
            s.press(b"\x1b[C").await?;
            let want = format!("step {}/{total}", k + 1);
            s.until(&want, |sc| sc.contains(&want)).await?;
        }
        s.press(b"\x1b").await?;
        s.until("the menu again", |sc| sc.contains("Lessons"))
            .await?;
    }
    // stay connected, idle on the menu (the server keeps ticking every session)
    tokio::time::sleep(hold).await;
    s.press(b"q").await?;
    let _ = s.until("goodbye", |_| false).await;
    Ok(s.keys)
}

/// (CPU seconds, peak RSS in KiB) of a process, from /proc.
fn usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name)
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    // USER_HZ is 100 on Linux
    Some((ticks as f64 / 100.0, hwm))
}

/// (VmRSS, VmHWM) of a process in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn flood(bin: &str, idle: usize) {
    let kex: usize = arg("--kex", "40").parse().expect("--kex N");
    let files: u32 = arg("--files", "256").parse().expect("--files N");
    let paste: usize = arg("--paste", "50").parse().expect("--paste MB");
    let grace = arg("--grace", "30s");
    let tmp = tempfile::tempdir().expect("temporary folder");
    let data = tmp.path().join("shapes");
    std::fs::create_dir(&data).expect("data folder");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\" \"$@\""))
        .arg(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--login-grace",
            &grace,
            "--data",
        ])
        .arg(&data)
        .env("CNN_TUTOR_STATE_DIR", tmp.path())
        .env("CNN_TUTOR_CODE", CODE)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (build it first)"));
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr: SocketAddr = loop {
        let line = lines.next().expect("server output").expect("server output");
        if let Some(a) = line.strip_prefix("cnn-tutor classroom listening on ") {
            break a.trim().parse().expect("address");
        }
    };
    let log = std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .filter(|l| l.contains("to make room") || l.contains("did not log in"))
            .collect::<Vec<_>>()
    });
    let pid = child.id();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::AsyncReadExt;
        let closed = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut made = 0;
        for _ in 0..idle {
            let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
                continue;
            };
            made += 1;
            let closed = Arc::clone(&closed);
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                closed.fetch_add(1, Ordering::SeqCst);
            });
        }
        let mut kexed = Vec::new();
        for _ in 0..kex {
            let c = client::connect(Arc::new(client::Config::default()), addr, Client);
            if let Ok(Ok(h)) = tokio::time::timeout(GUARD, c).await {
                kexed.push(h);
            }
        }
        let opened = start.elapsed();
        println!(
            "flood: {made} idle TCP + {} after key exchange opened in {:.1} s (server under ulimit -n {files})",
            kexed.len(),
            opened.as_secs_f64()
        );
        let t0 = Instant::now();
        let config = Arc::new(client::Config::default());
        let mut h = client::connect(config, addr, Client).await.expect("student connects");
        assert!(h.authenticate_password("ada", CODE).await.expect("auth").success());
        let channel = h.channel_open_session().await.expect("channel");
        channel.request_pty(false, "xterm", 80, 24, 0, 0, &[]).await.expect("pty");
        channel.request_shell(true).await.expect("shell");
        let mut s = Student { channel, vt: vt100::Parser::new(24, 80, 0), keys: 0 };
        s.until("the menu", |sc| sc.contains("1. Convolution")).await.expect("the menu");
        println!("student reached the menu {:.2} s after the flood was open", t0.elapsed().as_secs_f64());
        let total = made + kexed.len();
        let gone = || closed.load(Ordering::SeqCst) + kexed.iter().filter(|h| h.is_closed()).count();
        let mut ninety = None;
        while start.elapsed() < Duration::from_secs(75) {
            if ninety.is_none() && gone() * 10 >= total * 9 {
                ninety = Some(start.elapsed());
            }
            if gone() == total {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "closed: {} of {total} ({:.0}%) by {:.1} s after the flood began; 90% by {}",
            gone(),
            100.0 * gone() as f64 / total.max(1) as f64,
            start.elapsed().as_secs_f64(),
            ninety.map_or("never".into(), |t| format!("{:.1} s", t.as_secs_f64()))
        );
        if paste > 0 {
            let (rss0, hwm0) = memory(pid);
            let mut writer = s.channel.make_writer();
            let bytes = b"jk".repeat(paste << 19);
            let mut send = tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                writer.write_all(&bytes).await.and(writer.flush().await)
            });
            let t = Instant::now();
            // read while sending: a client that does not read stalls its own connection
            loop {
                tokio::select! {
                    _ = &mut send => break,
                    msg = s.channel.wait() => match msg {
                        Some(ChannelMsg::Data { data }) => s.vt.process(&data),
                        Some(ChannelMsg::Close) | None => break,
                        Some(_) => {}
                    },
                }
            }
            let took = t.elapsed();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let (rss1, hwm1) = memory(pid);
            println!(
                "paste of {paste} MB in {:.1} s: server VmRSS {:.1} -> {:.1} MiB, VmHWM {:.1} -> {:.1} MiB",
                took.as_secs_f64(),
                rss0 as f64 / 1024.0,
                rss1 as f64 / 1024.0,
                hwm0 as f64 / 1024.0,
                hwm1 as f64 / 1024.0
            );
        }
        s.press(b"q").await.expect("q");
    });
    let alive = matches!(child.try_wait(), Ok(None));
    let _ = child.kill();
    let _ = child.wait();
    let closings = log.join().unwrap_or_default();
    println!(
        "server still running at the end: {alive}; drop log lines: {}",
        closings.len()
    );
    for l in closings {
        println!("  {l}");
    }
}

fn main() {
    let bin = arg("--bin", "target/release/cnn-tutor");
    if let Ok(idle) = arg("--flood", "").parse::<usize>() {
        flood(&bin, idle);
        return;
    }
    let sessions: usize = arg("--sessions", "30").parse().expect("--sessions N");
    let steps: usize = arg("--steps", "6").parse().expect("--steps N");
    let hold = Duration::from_secs(arg("--hold", "0").parse().expect("--hold SECONDS"));
    let tmp = tempfile::tempdir().expect("temporary folder");
    let data = tmp.path().join("shapes");
    cnn_tutor::data::generate(&data, 4, 7).expect("tiny data set");

    let mut child = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--max-sessions"])
        .arg((sessions + 5).to_string())
        .arg("--data")
        .arg(&data)
        .env("CNN_TUTOR_STATE_DIR", tmp.path())
        .env("CNN_TUTOR_CODE", CODE)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (build it first)"));
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr: SocketAddr = loop {
        let line = lines.next().expect("server output").expect("server output");
        if let Some(a) = line.strip_prefix("cnn-tutor classroom listening on ") {
            break a.trim().parse().expect("address");
        }
    };
    // keep reading the log so the server never blocks on a full pipe
    let log = std::thread::spawn(move || lines.map_while(Result::ok).count());
    let (cpu0, _) = usage(child.id()).unwrap_or((0.0, 0));

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let start = Instant::now();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..sessions)
            .map(|n| tokio::spawn(student(addr, n, steps, hold)))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap_or_else(|e| Err(e.to_string())));
        }
        out
    });
    let wall = start.elapsed();
    let (cpu1, hwm) = usage(child.id()).unwrap_or((f64::NAN, 0));
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let keys: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    for e in results.iter().filter_map(|r| r.as_ref().err()).take(5) {
        println!("failed: {e}");
    }
    let _ = child.kill();
    let _ = child.wait();
    let log_lines = log.join().unwrap_or(0);
    println!(
        "{ok}/{sessions} sessions completed, {keys} keys, each answered before the next; wall {:.1} s",
        wall.as_secs_f64()
    );
    println!(
        "server: {:.2} s CPU ({:.1} ms per key), peak RSS {:.1} MiB, {log_lines} log lines",
        cpu1 - cpu0,
        1000.0 * (cpu1 - cpu0) / keys.max(1) as f64,
        hwm as f64 / 1024.0
    );
    if ok < sessions {
        std::process::exit(1);
    }
}
