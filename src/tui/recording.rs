//! `--record FILE.cast`: what a front end (the local terminal, the teacher's SSH session)
//! keeps to record itself. The frames go to the recording from the terminal's writer
//! ([`super::terminal::Output`], the session's channel); this adds the chapters: an `"m"`
//! marker whenever the app comes to a lesson step it was not showing, labelled with the
//! lesson's id, the step and its heading (`convolution step 3/12: Window 2 of 16`), and the
//! `"r"` resize events.

use super::terminal::SharedRecorder;
use super::App;

/// A recording and the step it last marked.
#[derive(Debug, Clone)]
pub struct Recording {
    recorder: SharedRecorder,
    marked: Option<(usize, usize)>,
}

impl Recording {
    pub fn new(recorder: SharedRecorder) -> Self {
        Recording {
            recorder,
            marked: None,
        }
    }

    /// The recording the terminal's writer writes to.
    pub fn recorder(&self) -> SharedRecorder {
        std::sync::Arc::clone(&self.recorder)
    }

    fn with<T>(&self, f: impl FnOnce(&mut crate::cast::Recorder) -> T) -> T {
        f(&mut self
            .recorder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Call after drawing a frame: a marker when the app shows a lesson step other than
    /// the one marked last (a step visited again is marked again). The marker follows its
    /// step's frame, so a player seeking to its time shows the step.
    pub fn mark(&mut self, app: &App) {
        let at = app.position();
        if at == self.marked {
            return;
        }
        self.marked = at;
        if let Some(label) = app.step_label() {
            self.with(|r| r.marker(&label));
        }
    }

    /// The terminal is now `cols` x `rows`.
    pub fn resize(&self, cols: u16, rows: u16) {
        self.with(|r| r.resize(cols, rows));
    }

    /// Why the recording stopped, once.
    pub fn take_error(&self) -> Option<String> {
        self.with(crate::cast::Recorder::take_error)
    }
}
