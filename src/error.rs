//! One error type for the whole crate. Every message is one line a person can act on:
//! it names the file, line, tensor or shape involved.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asked for something impossible (`--epochs 0`, an unknown lesson id).
    #[error("{0}")]
    Usage(String),
    /// Images or data folders that cannot be used.
    #[error("{0}")]
    Data(String),
    /// A checkpoint or reference file that is missing, truncated or of the wrong shape.
    #[error("{0}")]
    Checkpoint(String),
    /// A lesson file that does not parse or does not make sense.
    #[error("{0}")]
    Lesson(String),
    /// The requested device is not available (no GPU, no driver).
    #[error("{0}")]
    Device(String),
    /// The terminal cannot show the app (too small, not a terminal).
    #[error("{0}")]
    Terminal(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Anything else, already phrased for a person.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Attach a path to an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The process exit code for this error: 2 for usage and device errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Device(_) => 2,
            _ => 1,
        }
    }
}
