//! The app run in a pseudo-terminal, as a person's terminal runs it (80x24 unless a test
//! asks for another size), with its output collected on a thread.
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct App {
    child: Child,
    master: File,
    seen: Arc<Mutex<Vec<u8>>>,
    _state: tempfile::TempDir,
}

impl App {
    /// Start the app (the lesson menu) and wait until it has taken the terminal.
    pub fn start() -> App {
        App::start_with(&[], (80, 24))
    }

    /// Start `cnn-tutor ARGS...` on a `cols` x `rows` terminal and wait until it has taken
    /// the terminal.
    pub fn start_with(args: &[&str], size: (u16, u16)) -> App {
        let mut app = App::spawn(args, size);
        // bracketed paste is switched on once raw mode and the alternate screen are
        assert!(
            app.wait_for(b"\x1b[?2004h", Duration::from_secs(60)),
            "the app did not start: {}",
            app.output()
        );
        app
    }

    /// Start `cnn-tutor ARGS...` on a `cols` x `rows` terminal (not waiting for anything).
    pub fn spawn(args: &[&str], (cols, rows): (u16, u16)) -> App {
        let (mut m, mut s) = (0, 0);
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors we then own.
        let rc = unsafe {
            libc::openpty(
                &mut m,
                &mut s,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors are fresh and owned here alone.
        let (master, slave) = unsafe { (File::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        let state = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"));
        cmd.args(args)
            .env("TERM", "xterm-256color")
            .env("NO_COLOR", "1")
            .env("CNN_TUTOR_STATE_DIR", state.path())
            .env("HOME", state.path())
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid and ioctl are async-signal-safe; the pty becomes the child's
        // controlling terminal (its /dev/tty), not the test runner's.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(cmd); // our copies of the pty's other end
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 1 << 16];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        App {
            child,
            master,
            seen,
            _state: state,
        }
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    pub fn wait_for(&mut self, needle: &[u8], limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self
                .seen
                .lock()
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Whether `needle` has been seen within `limit`, whether or not the app runs.
    pub fn output_within(&self, needle: &[u8], limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            let seen = self.seen.lock().unwrap();
            if seen.windows(needle.len()).any(|w| w == needle) {
                return true;
            }
            drop(seen);
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Write `bytes` from a thread of its own (a blocking writer, as `tmux paste-buffer`),
    /// then `then`.
    pub fn send_in_background(&self, bytes: Vec<u8>, then: &'static [u8]) {
        let mut w = self.master.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(&bytes);
            let _ = w.write_all(then);
        });
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The exit status, if the app ends within `limit` (it is killed otherwise).
    pub fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
