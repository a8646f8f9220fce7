//! `cnn-tutor serve`: read the class code and keys, make the training images once, start
//! the SSH server and print what the teacher needs (address, fingerprint, how to connect).

use std::net::ToSocketAddrs;

use super::ServeArgs;
use crate::serve::{self, ServeConfig};
use crate::{Error, Result};

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
    if args.idle_timeout.is_zero() {
        return Err(Error::Usage("--idle-timeout must be longer than 0".into()));
    }
    config.idle_timeout = args.idle_timeout;
    if args.login_grace.is_zero() {
        return Err(Error::Usage("--login-grace must be longer than 0".into()));
    }
    config.login_grace = args.login_grace;
    if args.max_unauthenticated == 0 {
        return Err(Error::Usage(
            "--max-unauthenticated must be at least 1".into(),
        ));
    }
    config.max_unauthenticated = args.max_unauthenticated;
    config.lessons_dir = global.lessons.clone();
    config.teacher = args.teacher.as_deref().map(serve::display_name);
    config.data_dir = args.data.clone();
    serve::prepare_data(&config.data_dir)?;
    // data (issue 15): the class trains on this folder: say now what would go wrong
    let report = crate::data::check::check_folder_sampled(&config.data_dir, Some(2000))?;
    for (_, w) in crate::data::check::warnings(&report) {
        eprintln!("data: {w}");
    }
    if let Some(why) = report.fatal() {
        return Err(Error::Data(why));
    }

    let open = config.is_open();
    let how = match (&config.code, config.authorized_keys.len()) {
        (Some(_), 0) => "the class code as password".to_string(),
        (None, n) if n > 0 => format!("{n} authorized key(s)"),
        (Some(_), n) => format!("the class code or {n} authorized key(s)"),
        (None, _) => "anyone (no code, no keys: loopback only)".to_string(),
    };
    let (sessions, trainings) = (config.max_sessions, config.max_trainings);
    let waiting = config.max_unauthenticated;
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
        eprintln!(
            "teacher: {}; students press f on the menu to follow",
            serve::display_name(t)
        );
    }
    if open {
        eprintln!("warning: no class code and no keys: anyone who can reach {addr} gets in");
    }
    eprintln!(
        "students connect with: ssh -p {} yourname@{}",
        addr.port(),
        if addr.ip().is_unspecified() {
            "THIS-HOST".to_string()
        } else {
            addr.ip().to_string()
        }
    );
    server.wait()
}

/// The class code: from `--code-file` (first line), else `CNN_TUTOR_CODE`; never from the
/// command line, where other users could read it.
fn read_code(args: &ServeArgs) -> Result<Option<String>> {
    if let Some(path) = &args.code_file {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let code = text.lines().next().unwrap_or("").trim().to_string();
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
