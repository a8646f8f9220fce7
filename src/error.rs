//! One error type for the whole crate. Every message is one line a person can act on:
//! it names the file, line, tensor or shape involved.
//!
//! Where another error caused this one, the variant keeps it as its
//! [`source`](std::error::Error::source) (its text is also part of the message, as it always
//! was); the variants that hold only a `String` are for errors that nothing else caused.

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
    /// Stopped by the user (Ctrl-C): exit code 130, as a shell reports an interrupted
    /// command.
    #[error("{0}")]
    Interrupted(String),
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
    /// An image folder that cannot be read or made; `action` says which ("read data folder").
    #[error("cannot {action} {}: {source}", path.display())]
    DataFolder {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An image that cannot be decoded or encoded; `context` says which and what was done.
    #[error("{context}: {source}")]
    Image {
        context: String,
        #[source]
        source: Box<image::ImageError>,
    },
    /// A TOML file (a lesson) that does not parse; `context` names it.
    #[error("{context}: {source}")]
    Toml {
        context: String,
        #[source]
        source: Box<toml::de::Error>,
    },
    /// JSON that cannot be read or written; `context` names it.
    #[error("{context}: {source}")]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },
    /// A safetensors file or tensor that cannot be parsed or encoded; `context` names it.
    #[error("{context}: {source:?}")]
    Safetensors {
        context: String,
        #[source]
        source: safetensors::SafeTensorError,
    },
    /// An array that cannot take the shape asked for (a bug, not bad input).
    #[error("{context}: {source}")]
    Shape {
        context: String,
        #[source]
        source: ndarray::ShapeError,
    },
    /// A thread, or a pool of them, that cannot be started.
    #[error("cannot start {what}: {source}")]
    Thread {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A CUDA driver call that failed: like [`Error::Device`] (exit code 2), with the
    /// driver's error. `message` is the whole line (the driver's description included).
    #[error("{message}")]
    Driver {
        message: String,
        #[source]
        source: cudarc::driver::DriverError,
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

    /// An array that cannot take its shape, in `context` (e.g. `predict`).
    pub fn shape(context: impl Into<String>, source: ndarray::ShapeError) -> Self {
        Error::Shape {
            context: context.into(),
            source,
        }
    }

    /// A thread (`what`: "the training thread", "2 CPU threads") that cannot start.
    pub fn thread(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Thread {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// An image error, after `context` (which image, and what was being done).
    pub fn image(context: impl Into<String>, source: image::ImageError) -> Self {
        Error::Image {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// A TOML error, after `context` (which file).
    pub fn toml(context: impl Into<String>, source: toml::de::Error) -> Self {
        Error::Toml {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// True for the errors of the device asked for ([`Error::Device`], [`Error::Driver`]).
    pub fn is_device(&self) -> bool {
        matches!(self, Error::Device(_) | Error::Driver { .. })
    }

    /// The process exit code for this error: 2 for usage and device errors, 130 for a
    /// stop by Ctrl-C, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Device(_) | Error::Driver { .. } => 2,
            Error::Interrupted(_) => 130,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    fn io(msg: &str) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, msg)
    }

    #[test]
    fn a_caused_error_keeps_its_cause_and_its_line() {
        let e = Error::DataFolder {
            action: "read data folder",
            path: "data/x".into(),
            source: io("denied"),
        };
        assert_eq!(e.to_string(), "cannot read data folder data/x: denied");
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("denied"));
        assert_eq!(e.exit_code(), 1);

        let e = Error::thread("2 CPU threads", io("no threads"));
        assert_eq!(e.to_string(), "cannot start 2 CPU threads: no threads");
        let cause = e.source().and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(
            cause.map(|c| c.kind()),
            Some(std::io::ErrorKind::PermissionDenied)
        );

        let bad = ndarray::Array2::<f32>::from_shape_vec((2, 2), vec![0.0; 3]).unwrap_err();
        let e = Error::shape("predict", bad.clone());
        assert_eq!(e.to_string(), format!("predict: {bad}"));
        assert!(e.source().is_some());
    }

    #[test]
    fn a_driver_error_is_a_device_error() {
        use cudarc::driver::{sys::CUresult, DriverError};
        let e = Error::Driver {
            message: "CUDA launch failed: out of memory".into(),
            source: DriverError(CUresult::CUDA_ERROR_OUT_OF_MEMORY),
        };
        assert_eq!(e.to_string(), "CUDA launch failed: out of memory");
        assert_eq!(e.exit_code(), 2);
        assert!(e.is_device() && Error::Device("x".into()).is_device());
        assert!(!Error::Data("x".into()).is_device());
        let cause = e.source().and_then(|s| s.downcast_ref::<DriverError>());
        assert_eq!(cause.map(|c| c.0), Some(CUresult::CUDA_ERROR_OUT_OF_MEMORY));
    }
}
