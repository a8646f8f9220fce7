//! Which lessons a learner has visited and finished, kept between runs in a small JSON file in
//! the state folder (`CNN_TUTOR_STATE_DIR`, else the XDG state dir, else the data dir).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Result;

/// Name of the progress file inside the state folder.
pub const FILE_NAME: &str = "progress.json";

/// How far the learner got in one lesson.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonProgress {
    /// The lesson was opened.
    #[serde(default)]
    pub visited: bool,
    /// The lesson's last step was reached.
    #[serde(default)]
    pub finished: bool,
    /// "Your turn": how the learner's answers went, over every run (files from before it
    /// have none: all 0).
    #[serde(default)]
    pub quiz: QuizTally,
}

/// How a learner's answers went ("your turn"): questions asked (answered at least once),
/// answered right (at any try), right at the first try.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizTally {
    /// Questions the learner answered at least once.
    #[serde(default)]
    pub asked: u32,
    /// Of those, answered right (at any try).
    #[serde(default)]
    pub right: u32,
    /// Of those, right at the first try.
    #[serde(default)]
    pub first_try: u32,
}

impl QuizTally {
    /// Add another tally to this one.
    pub fn add(&mut self, other: QuizTally) {
        self.asked = self.asked.saturating_add(other.asked);
        self.right = self.right.saturating_add(other.right);
        self.first_try = self.first_try.saturating_add(other.first_try);
    }
}

/// Progress over all lessons, by lesson id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Format version of the file.
    #[serde(default = "version_one")]
    pub version: u32,
    /// Per lesson id.
    #[serde(default)]
    pub lessons: BTreeMap<String, LessonProgress>,
}

fn version_one() -> u32 {
    1
}

impl Progress {
    /// No lesson visited yet.
    pub fn new() -> Self {
        Progress {
            version: 1,
            lessons: BTreeMap::new(),
        }
    }

    /// The progress of one lesson (all false when never opened).
    pub fn get(&self, id: &str) -> LessonProgress {
        self.lessons.get(id).copied().unwrap_or_default()
    }

    /// Mark a lesson visited; true when this changed anything.
    pub fn visit(&mut self, id: &str) -> bool {
        let entry = self.lessons.entry(id.to_string()).or_default();
        let changed = !entry.visited;
        entry.visited = true;
        changed
    }

    /// Mark a lesson finished (and visited); true when this changed anything.
    pub fn finish(&mut self, id: &str) -> bool {
        let entry = self.lessons.entry(id.to_string()).or_default();
        let changed = !entry.finished || !entry.visited;
        entry.visited = true;
        entry.finished = true;
        changed
    }

    /// Add "your turn" answers to a lesson's tally (and mark it visited); true when this
    /// changed anything.
    pub fn record_quiz(&mut self, id: &str, tally: QuizTally) -> bool {
        let entry = self.lessons.entry(id.to_string()).or_default();
        let before = *entry;
        entry.visited = true;
        entry.quiz.add(tally);
        *entry != before
    }

    /// Read the progress file. A missing file is empty progress; an unreadable or broken file
    /// is also empty progress, with a note saying why (never an error).
    pub fn load(path: &Path) -> (Progress, Option<String>) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Progress::new(), None),
            Err(e) => {
                return (
                    Progress::new(),
                    Some(format!(
                        "progress file {} could not be read ({e}); starting afresh",
                        path.display()
                    )),
                )
            }
        };
        match serde_json::from_str::<Progress>(&text) {
            Ok(p) => (p, None),
            Err(e) => (
                Progress::new(),
                Some(format!(
                    "progress file {} is damaged ({e}); starting afresh",
                    path.display()
                )),
            ),
        }
    }

    /// Write the progress file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| crate::Error::Other(format!("cannot encode progress: {e}")))?;
        text.push('\n');
        crate::fsutil::write_atomic(path, text.as_bytes())
    }
}

/// Where the progress file lives: `$CNN_TUTOR_STATE_DIR/progress.json`, else
/// `<XDG state dir>/cnn-tutor/progress.json`, else `<data dir>/cnn-tutor/progress.json`.
/// `None` when no folder is known (progress is then kept only while the app runs).
pub fn default_path() -> Option<PathBuf> {
    state_dir().map(|d| d.join(FILE_NAME))
}

/// The state folder: `$CNN_TUTOR_STATE_DIR`, else `<XDG state dir>/cnn-tutor`, else
/// `<data dir>/cnn-tutor`; `None` when no folder is known.
pub fn state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CNN_TUTOR_STATE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .map(|d| d.join("cnn-tutor"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_report_changes() {
        let mut p = Progress::new();
        assert!(p.visit("relu"));
        assert!(!p.visit("relu"));
        assert!(p.finish("relu"));
        assert!(!p.finish("relu"));
        assert_eq!(
            p.get("relu"),
            LessonProgress {
                visited: true,
                finished: true,
                quiz: QuizTally::default(),
            }
        );
        assert_eq!(p.get("pooling"), LessonProgress::default());
    }

    #[test]
    fn quiz_tallies_add_up_and_old_files_load() {
        let mut p = Progress::new();
        let one = QuizTally {
            asked: 1,
            right: 1,
            first_try: 0,
        };
        assert!(p.record_quiz("convolution", one));
        assert!(p.record_quiz("convolution", one));
        assert!(!p.record_quiz("convolution", QuizTally::default()));
        assert_eq!(
            p.get("convolution").quiz,
            QuizTally {
                asked: 2,
                right: 2,
                first_try: 0
            }
        );
        let json = serde_json::to_string(&p).expect("encodes");
        assert!(
            json.contains(r#""quiz":{"asked":2,"right":2,"first_try":0}"#),
            "{json}"
        );
        let old: Progress =
            serde_json::from_str(r#"{"version": 1, "lessons": {"relu": {"visited": true}}}"#)
                .expect("an old file loads");
        assert_eq!(old.get("relu").quiz, QuizTally::default());
        let part: Progress =
            serde_json::from_str(r#"{"lessons": {"relu": {"quiz": {"asked": 3}}}}"#)
                .expect("a partial tally loads");
        assert_eq!(part.get("relu").quiz.asked, 3);
    }
}
