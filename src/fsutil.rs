//! Small file helpers shared by every writer in the crate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Error, Result};

/// What every temporary file of ours has in its name, between the target's name and a
/// random part: `.NAME.cnn-tutor-XXXXXX.tmp`. Only files named so are ever cleaned up.
const TEMP_TAG: &str = ".cnn-tutor-";
/// The temporary files' suffix.
const TEMP_SUFFIX: &str = ".tmp";
/// A temporary file of ours older than this, and not locked by a writer, was left by a
/// writer that died (kill -9, power cut): the next save of the same file removes it.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// Write `bytes` to `path` atomically: write a temporary file in the same folder
/// (`.NAME.cnn-tutor-XXXXXX.tmp`, locked while it is written), flush it to disk, rename it
/// over `path`, then flush the folder, so after a crash `path` holds the old or the new
/// bytes, never a mix. Missing parent folders are created (a parent that is a file is an
/// error naming it). The file gets the mode of the file it replaces, or for a new file
/// 0666 less the umask (as other programs' files, PyTorch's included). Temporary files a
/// killed writer left beside `path` (older than [`STALE_TEMP_AGE`], unlocked) are removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_of(path);
    create_folder(dir, path)?;
    let name = file_name(path)?;
    remove_stale_temps(dir, &name);
    let prefix = format!(".{name}{TEMP_TAG}");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // the kernel applies the umask to this, as for any other new file
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    // a cleaner in another process leaves a locked temporary file alone
    let _ = tmp.as_file().try_lock();
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(|e| Error::io(path, e))?;
    }
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_folder(dir)
}

/// The folder `path` is in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::Other(format!(
                "cannot write {}: it names a folder, not a file",
                crate::text::path(path)
            ))
        })
}

/// Create `dir` (and its parents) for writing `target`; when a part of it exists and is
/// not a folder, say which.
pub fn create_folder(dir: &Path, target: &Path) -> Result<()> {
    match std::fs::create_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) => {
            let not_folder = dir
                .ancestors()
                .find(|a| !a.as_os_str().is_empty() && a.exists() && !a.is_dir());
            match not_folder {
                Some(file) => Err(Error::Other(format!(
                    "cannot write {}: {} is a file, not a folder",
                    crate::text::path(target),
                    crate::text::path(file)
                ))),
                None => Err(Error::io(dir, e)),
            }
        }
    }
}

/// Remove temporary files of ours for `name` in `dir` that a killed writer left: named
/// `.NAME.cnn-tutor-*.tmp`, older than [`STALE_TEMP_AGE`] and not locked. Best effort.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}{TEMP_TAG}");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        if !n.starts_with(&prefix) || !n.ends_with(TEMP_SUFFIX) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= STALE_TEMP_AGE);
        if !old || !meta.is_file() {
            continue;
        }
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Flush a folder's entries (the rename) to disk.
fn sync_folder(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let d = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
        d.sync_all().map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// An advisory lock held on `.NAME.cnn-tutor.lock` beside a file being produced (a
/// training's `--out`), released when dropped. The lock file itself stays (removing it
/// would let two writers lock two different files).
#[derive(Debug)]
pub struct OutputLock {
    _file: std::fs::File,
    /// The lock file.
    pub path: PathBuf,
}

/// Take the lock for writing `target`, or fail at once with a message naming `target`
/// when another process (another training) holds it.
pub fn lock_output(target: &Path) -> Result<OutputLock> {
    let dir = parent_of(target);
    create_folder(dir, target)?;
    let name = file_name(target)?;
    let path = dir.join(format!(".{name}.cnn-tutor.lock"));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(OutputLock { _file: file, path }),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Other(format!(
            "{} is being written by another training (it holds {}); wait for it to finish or choose another --out",
            crate::text::path(target),
            crate::text::path(&path)
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// A small text file read whole, refused (without reading it all) when it holds more than
/// `max` bytes; the error is one line.
pub fn read_capped(path: &Path, max: u64) -> std::result::Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("larger than {max} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.bin");
        write_atomic(&path, b"first").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        write_atomic(&path, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
        // no temporary files are left behind
        assert_eq!(names(path.parent().unwrap()), ["out.bin"]);
    }

    #[test]
    fn unwritable_target_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        // a folder where the file should go
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        assert!(write_atomic(&path, b"x").is_err());
    }

    #[test]
    fn a_parent_that_is_a_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("models"), "a file").unwrap();
        let target = dir.path().join("models/deep/net.safetensors");
        let e = write_atomic(&target, b"x").unwrap_err().to_string();
        assert!(
            e.contains("models is a file, not a folder") && e.contains("net.safetensors"),
            "{e}"
        );
        assert!(!e.contains("os error"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn new_files_get_the_umask_mode_and_old_ones_keep_theirs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.safetensors");
        write_atomic(&path, b"x").unwrap();
        // what a plain new file gets here, whatever this process's umask is
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), mode(&plain));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"y").unwrap();
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn stale_temporary_files_of_ours_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.safetensors");
        let stale = dir.path().join(".net.safetensors.cnn-tutor-AbC123.tmp");
        let fresh = dir.path().join(".net.safetensors.cnn-tutor-XyZ789.tmp");
        let other = dir.path().join(".net.safetensors.someone-else.tmp");
        let other_file = dir.path().join(".other.cnn-tutor-AbC123.tmp");
        for p in [&stale, &fresh, &other, &other_file] {
            std::fs::write(p, b"half").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        for p in [&stale, &other, &other_file] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        write_atomic(&path, b"x").unwrap();
        assert_eq!(
            names(dir.path()),
            [
                ".net.safetensors.cnn-tutor-XyZ789.tmp",
                ".net.safetensors.someone-else.tmp",
                ".other.cnn-tutor-AbC123.tmp",
                "net.safetensors"
            ]
        );
    }

    #[test]
    fn a_second_lock_on_one_output_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("models/net.safetensors");
        let first = lock_output(&out).unwrap();
        let e = lock_output(&out).unwrap_err().to_string();
        assert!(e.contains("being written by another training"), "{e}");
        assert!(e.contains("net.safetensors"), "{e}");
        drop(first);
        lock_output(&out).unwrap();
    }
}
