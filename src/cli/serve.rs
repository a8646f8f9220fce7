//! `cnn-tutor serve`: read the class code and keys, make the training images once, start
//! the SSH server and print what the teacher needs (address, fingerprint, how to connect).

use std::net::ToSocketAddrs;

use super::ServeArgs;
use crate::serve::{self, ServeConfig};
use crate::{Error, Result};

/// The times of `serve` (idle timeout, stuck, login grace): each longer than 0.
fn durations(args: &ServeArgs, config: &mut ServeConfig) -> Result<()> {
    for (flag, d) in [
        ("--idle-timeout", args.idle_timeout),
        ("--stuck-after", args.stuck_after),
        ("--login-grace", args.login_grace),
    ] {
        if d.is_zero() {
            return Err(Error::Usage(format!("{flag} must be longer than 0")));
        }
    }
    config.idle_timeout = args.idle_timeout;
    config.stuck_after = args.stuck_after;
    config.login_grace = args.login_grace;
    Ok(())
}

/// Run the classroom server until killed.
pub fn run(args: &ServeArgs, global: &super::GlobalOpts) -> Result<()> {
    let listen = args
        .listen
        .to_socket_addrs()
        .map_err(|e| Error::Usage(format!("--listen {}: {e}", args.listen)))?
        .next()
        .ok_or_else(|| Error::Usage(format!("--listen {}: no address", args.listen)))?;
    let state_dir = crate::tui::state_dir().ok_or_else(|| {
        Error::Usage("no state folder known: set CNN_TUTOR_STATE_DIR to a folder".into())
    })?;
    let mut config = ServeConfig::new(listen, state_dir);
    config.code = read_code(args)?;
    if let Some(path) = &args.authorized_keys {
        config.authorized_keys = serve::read_authorized_keys(path)?;
    }
    config.max_sessions = args.max_sessions;
    if let Some(n) = args.max_trainings {
        if n == 0 {
            return Err(Error::Usage("--max-trainings must be at least 1".into()));
        }
        config.max_trainings = n;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    config.threads_per_training = (cores / config.max_trainings).max(1);
    durations(args, &mut config)?;
    if args.max_unauthenticated == 0 {
        return Err(Error::Usage(
            "--max-unauthenticated must be at least 1".into(),
        ));
    }
    config.max_unauthenticated = args.max_unauthenticated;
    config.lessons_dir = global.lessons.clone();
    config.teacher = args.teacher.as_deref().map(serve::display_name);
    config.data_dir = args.data.clone();
    config.cache_mb = args.cache_mb;
    config.gradebook = args.gradebook;
    if let Some(path) = &args.record {
        crate::cast::check_appendable(path)?;
        config.record = Some(path.clone());
    }
    if let Some(path) = &args.roster {
        config.roster = Some(std::sync::Arc::new(serve::roster::Roster::read(path)?));
    }
    let state_dir = config.state_dir.clone();
    if let Some(why) = serve::state_dir_unwritable(&state_dir) {
        eprintln!(
            "warning: the state folder {} cannot be written ({why}): students' saved models and the class report will fail (the report is then printed here at the end); set CNN_TUTOR_STATE_DIR to a folder you can write",
            crate::text::path(&state_dir)
        );
    }
    // the lab file before the images are made: a typo in it is then the only line printed
    let lab = read_lab(args)?;
    let classes = check_data(&config.data_dir)?;
    config.lab = check_lab(args, lab, classes)?;

    let open = config.is_open();
    let no_keys = config.authorized_keys.is_empty();
    let how = match (&config.code, config.authorized_keys.len()) {
        (Some(_), 0) => "the class code as password".to_string(),
        (None, n) if n > 0 => format!("{n} authorized key(s)"),
        (Some(_), n) => format!("the class code or {n} authorized key(s)"),
        (None, _) => "anyone (no code, no keys: loopback only)".to_string(),
    };
    let (sessions, trainings) = (config.max_sessions, config.max_trainings);
    let waiting = config.max_unauthenticated;
    let roster = config.roster.clone();
    // every connection holds a file descriptor: take all the system allows
    let files = serve::raise_open_file_limit();
    let server = serve::start(config)?;
    let addr = server.addr();
    eprintln!("cnn-tutor classroom listening on {addr}");
    eprintln!("host key fingerprint: {}", server.fingerprint());
    eprintln!("login: {how}; up to {sessions} students, {trainings} training(s) at once");
    if let Some(files) = files {
        // the students, those waiting to log in, and a margin for the listener, the log,
        // lesson and image files and saved models
        let needed = (sessions + waiting + 64) as u64;
        if files < needed {
            eprintln!(
                "warning: this process may open only {files} files; {sessions} students and \
                 {waiting} waiting to log in need about {needed} (raise `ulimit -n`, or lower \
                 --max-unauthenticated); when they run out, the oldest waiting connections are closed"
            );
        }
    }
    if let Some(t) = &args.teacher {
        let t = serve::display_name(t);
        eprintln!("teacher: {t}; students press f on the menu to follow");
        if no_keys {
            eprintln!(
                "warning: no --authorized-keys: the first to log in as {t} with the class code \
                 leads the class (a second {t} is a student); give --authorized-keys so only \
                 the teacher's key can"
            );
        }
    }
    if let Some(r) = &roster {
        say_roster(r, sessions);
    }
    if open {
        eprintln!("warning: no class code and no keys: anyone who can reach {addr} gets in");
    }
    let connect_line = format!(
        "students connect with: ssh -p {} yourname@{}",
        addr.port(),
        if addr.ip().is_unspecified() {
            "THIS-HOST".to_string()
        } else {
            addr.ip().to_string()
        }
    );
    if args.console {
        eprintln!("{connect_line}");
        // the teacher reads the lines above before the console takes the screen
        std::thread::sleep(std::time::Duration::from_millis(1500));
        return console::run(server, &state_dir, global.ascii);
    }
    eprintln!("{connect_line}");
    server.wait()
}

/// `--lab FILE` read; a lab that cannot be used is a usage error, like a bad roster
/// (exit 2).
fn read_lab(args: &ServeArgs) -> Result<Option<crate::train::lab::ClassLab>> {
    let Some(path) = &args.lab else {
        return Ok(None);
    };
    crate::lesson::lab_file::read_lab(path)
        .map(Some)
        .map_err(|e| Error::Usage(e.to_string()))
}

/// The lab read by [`read_lab`] checked against the class's `classes`, and said.
fn check_lab(
    args: &ServeArgs,
    lab: Option<crate::train::lab::ClassLab>,
    classes: usize,
) -> Result<Option<std::sync::Arc<crate::train::lab::ClassLab>>> {
    let (Some(path), Some(lab)) = (&args.lab, lab) else {
        return Ok(None);
    };
    crate::lesson::lab_file::check_lab_plans(&lab, path, classes)
        .map_err(|e| Error::Usage(e.to_string()))?;
    say_lab(&lab, path);
    Ok(Some(std::sync::Arc::new(lab)))
}

/// The lab's line at start: what every student's training starts from, what is locked.
fn say_lab(lab: &crate::train::lab::ClassLab, path: &std::path::Path) {
    let set: Vec<String> = lab
        .setup
        .describe()
        .into_iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let locked: Vec<&str> = lab.locked.iter().map(|s| s.key()).collect();
    eprintln!(
        "lab: {} from {}: {}; locked: {}",
        crate::text::escaped(&lab.title),
        crate::text::path(path),
        if set.is_empty() {
            "the defaults".to_string()
        } else {
            set.join(", ")
        },
        if locked.is_empty() {
            "nothing".to_string()
        } else {
            locked.join(", ")
        },
    );
}

/// Make the class's images when they are the default and missing, and say now what would
/// go wrong training on them (issue 15); the number of classes.
fn check_data(dir: &std::path::Path) -> Result<usize> {
    serve::prepare_data(dir)?;
    let report = crate::data::check::check_folder_sampled(dir, Some(2000))?;
    for (_, w) in crate::data::check::warnings(&report) {
        eprintln!("data: {w}");
    }
    match report.fatal() {
        Some(why) => Err(Error::Data(why)),
        None => Ok(report.classes.len()),
    }
}

/// The roster's line at start.
fn say_roster(r: &serve::roster::Roster, max_sessions: usize) {
    let codes = r.students.iter().filter(|s| s.code().is_some()).count();
    eprintln!(
        "roster: {} student(s) from {} ({codes} with a personal code); other names are refused",
        r.students.len(),
        r.file
    );
    if r.students.len() > max_sessions {
        eprintln!(
            "warning: the roster has {} students but --max-sessions is {max_sessions}: the last to come will be told the class is full",
            r.students.len()
        );
    }
}

/// `serve --console`: the class view on the server's own terminal.
mod console {
    use std::io::IsTerminal;
    use std::path::Path;
    use std::sync::atomic::Ordering;
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::{Duration, Instant};

    use crate::serve::Server;
    use crate::tui::console::{self, Console, ConsoleEffect};
    use crate::tui::{AppEvent, TerminalGuard, Theme, TICK_MS};
    use crate::{Error, Result};

    /// Where the server's log goes while the console has the terminal.
    pub const LOG_FILE: &str = "serve.log";

    /// Show the console until q, Ctrl-C or SIGTERM; then stop the server (goodbyes and
    /// the class report). The terminal is restored however it ends (the guard's panic
    /// hook included), and the log goes back to the terminal's stderr.
    pub fn run(server: Server, state_dir: &Path, ascii: bool) -> Result<()> {
        if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
            return Err(Error::Terminal(
                "serve --console needs an interactive terminal".into(),
            ));
        }
        let log = state_dir.join(LOG_FILE);
        eprintln!(
            "the class view takes this terminal; the log goes to {}",
            crate::text::path(&log)
        );
        let redirect = StderrTo::file(&log)?;
        let theme = Theme::detect(ascii);
        let stop = server.stop_requested();
        let result = {
            let mut guard = TerminalGuard::enter(theme.color)?;
            let shown = show(&server, &mut guard, &theme, &stop);
            let restored = guard.restore();
            shown.and(restored)
        };
        drop(redirect);
        let report = server.stop();
        result.and(report.map(|_| ()))
    }

    fn show(
        server: &Server,
        guard: &mut TerminalGuard,
        theme: &Theme,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<()> {
        let term_err = |e: std::io::Error| Error::Terminal(format!("terminal error: {e}"));
        let input = crate::tui::spawn_stdin_reader().map_err(term_err)?;
        let mut console = Console::new();
        let tick = Duration::from_millis(TICK_MS);
        let mut last_draw = Instant::now() - tick;
        let mut size = crossterm::terminal::size().map_err(term_err)?;
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let now = crossterm::terminal::size().map_err(term_err)?;
            if now != size {
                size = now;
                guard.terminal().autoresize().map_err(term_err)?;
            }
            if last_draw.elapsed() >= tick {
                console.rows_shown = usize::from(size.1.saturating_sub(7)).max(1);
                console.update(server.console_view(&console));
                guard
                    .terminal()
                    .draw(|f| {
                        let area = f.area();
                        console::render(&console, theme, area, f.buffer_mut());
                    })
                    .map_err(term_err)?;
                last_draw = Instant::now();
            }
            let event = match input.recv_timeout(tick) {
                Ok(ev) => ev,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            };
            if matches!(event, AppEvent::Key(_) | AppEvent::Paste(_)) {
                last_draw = Instant::now() - tick;
            }
            for effect in console.handle(&event) {
                match effect {
                    ConsoleEffect::Quit => return Ok(()),
                    ConsoleEffect::ToLessons | ConsoleEffect::Mirror(_) => {}
                    other => {
                        if let Some(n) = server.console_apply(&other) {
                            console.notice = Some(n);
                        }
                    }
                }
            }
        }
    }

    /// Standard error sent to a file until dropped (the log would tear the console).
    struct StderrTo {
        #[cfg(unix)]
        saved: libc::c_int,
    }

    impl StderrTo {
        fn file(path: &Path) -> Result<StderrTo> {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            #[cfg(unix)]
            {
                use std::os::fd::AsRawFd;
                // SAFETY: dup and dup2 on descriptors this process owns; the file stays
                // open through the duplicate on fd 2 after `file` drops
                let saved = unsafe { libc::dup(2) };
                if saved < 0 || unsafe { libc::dup2(file.as_raw_fd(), 2) } < 0 {
                    return Err(Error::Other("cannot send the log to its file".into()));
                }
                Ok(StderrTo { saved })
            }
            #[cfg(not(unix))]
            {
                drop(file);
                Ok(StderrTo {})
            }
        }
    }

    impl Drop for StderrTo {
        fn drop(&mut self) {
            #[cfg(unix)]
            // SAFETY: puts back the descriptor saved in `file`
            unsafe {
                libc::dup2(self.saved, 2);
                libc::close(self.saved);
            }
        }
    }
}

/// The class code: from `--code-file` (first line), else `CNN_TUTOR_CODE`; never from the
/// command line, where other users could read it.
fn read_code(args: &ServeArgs) -> Result<Option<String>> {
    if let Some(path) = &args.code_file {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let code = text.lines().next().unwrap_or("").trim().to_string();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path) {
                if meta.permissions().mode() & 0o044 != 0 {
                    eprintln!(
                        "warning: {} is readable by other users of this machine, who could log in with the class code (chmod 600 {})",
                        crate::text::path(path),
                        crate::text::path(path)
                    );
                }
            }
        }
        if code.is_empty() {
            return Err(Error::Usage(format!(
                "{}: the class code file is empty",
                path.display()
            )));
        }
        return Ok(Some(code));
    }
    Ok(std::env::var("CNN_TUTOR_CODE")
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty()))
}
