//! What the server needs from the machine before it listens, and the small rules about
//! what clients send: the open-file limit, the host key, the authorized keys, the data
//! folder, the state folder, display names, the class code, colour by TERM.

use std::path::Path;

use russh::keys::ssh_key::{private::Ed25519Keypair, LineEnding};
use russh::keys::{PrivateKey, PublicKey};

use crate::{Error, Result};

/// Raise this process's soft limit of open files to its hard limit (each connection holds
/// one); returns the limit now in force, `None` where it cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed in
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            // SAFETY: as above
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                lim = raised;
            }
        }
        #[allow(clippy::useless_conversion)] // rlim_t is u64 on most, not all, targets
        Some(u64::from(lim.rlim_cur))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The host key at `path`, made (Ed25519, file mode 0600, written atomically) when missing.
pub fn load_or_create_host_key(path: &Path) -> Result<PrivateKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            return PrivateKey::from_openssh(text.as_bytes()).map_err(|e| {
                Error::Other(format!(
                    "host key {} cannot be read ({e}); move it away to make a new one",
                    path.display()
                ))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| Error::Other(format!("cannot encode the host key: {e}")))?;
    crate::fsutil::write_atomic(path, text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(key)
}

/// The keys of an authorized_keys file (options are ignored; comments and blank lines
/// skipped). A line that does not parse is an error naming it.
pub fn read_authorized_keys(path: &Path) -> Result<Vec<PublicKey>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut keys = Vec::new();
    for (i, entry) in russh::keys::ssh_key::AuthorizedKeys::new(&text).enumerate() {
        match entry {
            Ok(entry) => keys.push(entry.public_key().clone()),
            Err(e) => {
                return Err(Error::Usage(format!(
                    "{}: key {} cannot be read: {e}",
                    path.display(),
                    i + 1
                )))
            }
        }
    }
    if keys.is_empty() {
        return Err(Error::Usage(format!("{} holds no keys", path.display())));
    }
    Ok(keys)
}

/// Make the shared training images before serving when the folder is the default one and
/// missing (so concurrent first trainings never race to make it); check it otherwise.
pub fn prepare_data(dir: &Path) -> Result<()> {
    if dir.exists() || !crate::data::is_default_data_dir(dir) {
        crate::data::ensure_dataset_with(dir, false, 0, 0, &mut |_| {})?;
        return Ok(());
    }
    eprintln!("making the training images in {} (once) ...", dir.display());
    let name = dir
        .file_name()
        .map_or_else(|| "shapes".into(), |n| n.to_string_lossy().into_owned());
    let making = dir.with_file_name(format!(".{name}.making"));
    let _ = std::fs::remove_dir_all(&making);
    crate::data::generate(
        &making,
        crate::data::DEFAULT_PER_CLASS,
        crate::data::DEFAULT_GENERATE_SEED,
    )?;
    std::fs::rename(&making, dir).map_err(|e| {
        Error::Data(format!(
            "cannot move the new images into {}: {e}",
            dir.display()
        ))
    })
}

/// Why files cannot be made in the state folder (made when missing), or `None` when they
/// can: checked at start so the teacher hears it before a student's save fails.
pub fn state_dir_unwritable(dir: &Path) -> Option<String> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Some(e.to_string());
    }
    match tempfile::NamedTempFile::new_in(dir) {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    }
}

/// A display name safe to show, log and use in a file name: letters, digits, `-`, `_` and
/// `.` (not leading), at most 32 characters; `student` when nothing is left.
pub fn display_name(user: &str) -> String {
    let name: String = user
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(32)
        .collect();
    let name = name.trim_start_matches('.').to_string();
    if name.is_empty() {
        "student".into()
    } else {
        name
    }
}

/// Compare a typed code with the class code in constant time (for equal lengths).
pub(super) fn code_matches(typed: &str, code: &str) -> bool {
    use subtle::ConstantTimeEq;
    typed.len() == code.len() && bool::from(typed.as_bytes().ct_eq(code.as_bytes()))
}

/// Does the client's terminal type take colour? `dumb`, missing and unknown types do not.
pub fn term_has_color(term: &str) -> bool {
    const COLOR_TERMS: [&str; 18] = [
        "xterm",
        "screen",
        "tmux",
        "rxvt",
        "linux",
        "alacritty",
        "kitty",
        "foot",
        "wezterm",
        "st",
        "konsole",
        "gnome",
        "putty",
        "ansi",
        "cygwin",
        "vte",
        "iterm",
        "contour",
    ];
    let t = term.to_ascii_lowercase();
    t.contains("color") || COLOR_TERMS.iter().any(|p| t.starts_with(p))
}
