//! A one-line box for typing a path: characters, Backspace, Ctrl-U, a paste, and Tab
//! completion from the file system. The training screen's data folder and image file and
//! the inspector's image file all use it.
//!
//! The box itself reads no file: Tab asks for [`PathKey::Complete`], the front end runs
//! [`complete`] (as the training screen's `Effect::Complete`, which a classroom session
//! refuses) and hands the [`Completion`] back to [`PathInput::completed`].

use std::path::{Path, PathBuf};

use super::event::{Key, KeyCode};

/// Characters a path box holds at most.
pub const MAX_CHARS: usize = 400;

/// Directory entries one Tab looks at, at most (a huge folder cannot stall a key).
pub const MAX_ENTRIES: usize = 10_000;

/// Candidates a completion keeps to show (the rest are counted).
pub const MAX_SHOWN: usize = 40;

/// A path being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInput {
    /// What is typed.
    pub text: String,
    /// What the path is for ("data folder", "image file"), shown before it.
    pub what: &'static str,
    /// What Enter does ("use", "classify", "open").
    pub verb: &'static str,
    /// Complete folders only.
    pub dirs_only: bool,
    /// What the last Tab found when it was more than one name.
    pub candidates: Vec<String>,
    /// Candidates left out of [`PathInput::candidates`].
    pub more: usize,
    /// A note from the last Tab ("no match").
    pub note: Option<String>,
}

/// What a key did to the box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKey {
    /// Still typing.
    Editing,
    /// Esc: close the box, nothing chosen.
    Cancelled,
    /// Enter with a path typed (`~/` expanded).
    Submitted(PathBuf),
    /// Tab: complete this text (run [`complete`] and hand the result to
    /// [`PathInput::completed`]).
    Complete {
        /// The text to complete.
        text: String,
        /// Folders only.
        dirs_only: bool,
    },
}

/// What Tab found for a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The text completed as far as every match agrees.
    pub text: String,
    /// The names that match, when more than one does (folders end in `/`), sorted.
    pub candidates: Vec<String>,
    /// Matches left out of `candidates`.
    pub more: usize,
    /// Why nothing was completed, if nothing was.
    pub note: Option<String>,
}

impl PathInput {
    /// A box for `what`, holding `text` to start with.
    pub fn new(what: &'static str, verb: &'static str, text: &str, dirs_only: bool) -> Self {
        PathInput {
            text: text.chars().take(MAX_CHARS).collect(),
            what,
            verb,
            dirs_only,
            candidates: Vec::new(),
            more: 0,
            note: None,
        }
    }

    /// Handle one key (Ctrl-C is not for the box: the caller quits on it first).
    pub fn key(&mut self, key: Key) -> PathKey {
        if key.ctrl {
            match key.code {
                KeyCode::Char('u') => self.text.clear(),
                KeyCode::Char('w') => self.erase_word(),
                _ => return PathKey::Editing,
            }
            self.forget_candidates();
            return PathKey::Editing;
        }
        match key.code {
            KeyCode::Esc => return PathKey::Cancelled,
            KeyCode::Enter => {
                let typed = self.text.trim();
                return if typed.is_empty() {
                    PathKey::Cancelled
                } else {
                    PathKey::Submitted(expand_home(typed))
                };
            }
            KeyCode::Tab => {
                return PathKey::Complete {
                    text: self.text.clone(),
                    dirs_only: self.dirs_only,
                }
            }
            KeyCode::Backspace | KeyCode::Delete => {
                self.text.pop();
            }
            KeyCode::Char(c) if !c.is_control() && self.text.chars().count() < MAX_CHARS => {
                self.text.push(c);
            }
            _ => return PathKey::Editing,
        }
        self.forget_candidates();
        PathKey::Editing
    }

    /// Pasted text: what fits, control characters left out.
    pub fn paste(&mut self, pasted: &str) {
        let room = MAX_CHARS.saturating_sub(self.text.chars().count());
        self.text
            .extend(pasted.chars().filter(|c| !c.is_control()).take(room));
        self.forget_candidates();
    }

    /// Take what Tab found.
    pub fn completed(&mut self, c: Completion) {
        self.text = c.text.chars().take(MAX_CHARS).collect();
        self.candidates = c.candidates;
        self.more = c.more;
        self.note = c.note;
    }

    /// The status line while typing, in `width` columns: `data folder: data/sh_  (Tab
    /// complete, Enter use, Esc cancel)`, or the candidates of the last Tab (or its note)
    /// in place of the keys. A long path gives up its start, so its end and the note show.
    pub fn status(&self, width: usize) -> String {
        let tail = if !self.candidates.is_empty() {
            let names: Vec<String> = self
                .candidates
                .iter()
                .map(|c| crate::text::escaped(c).into_owned())
                .collect();
            let more = if self.more > 0 {
                format!(" +{}", self.more)
            } else {
                String::new()
            };
            format!("{}{more}", names.join(" "))
        } else if let Some(note) = &self.note {
            format!("({note})")
        } else {
            format!("(Tab complete, Enter {}, Esc cancel)", self.verb)
        };
        let head = format!("{}: ", self.what);
        let typed = format!("{}_", crate::text::escaped(&self.text));
        // the path gets what the head and the first 30 columns of the tail leave
        let tail_cols = tail.chars().count().min(30);
        let room = width
            .saturating_sub(head.chars().count() + 2 + tail_cols)
            .max(12);
        format!("{head}{}  {tail}", keep_end(&typed, room, "..."))
    }

    fn erase_word(&mut self) {
        let trimmed = self.text.trim_end_matches('/').len();
        let cut = self.text[..trimmed].rfind('/').map_or(0, |i| i + 1);
        self.text.truncate(cut);
    }

    fn forget_candidates(&mut self) {
        self.candidates.clear();
        self.more = 0;
        self.note = None;
    }
}

/// `text` in `room` columns, cut at the start behind `ell` (a path's end says most).
pub fn keep_end(text: &str, room: usize, ell: &str) -> String {
    let n = text.chars().count();
    if n <= room {
        return text.to_string();
    }
    let keep = room.saturating_sub(ell.chars().count());
    let tail: String = text.chars().skip(n - keep).collect();
    format!("{ell}{tail}")
}

/// `~/x` as `$HOME/x` (anything else as typed).
pub fn expand_home(typed: &str) -> PathBuf {
    match (typed.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ if typed == "~" => std::env::var_os("HOME").map_or_else(|| typed.into(), PathBuf::from),
        _ => PathBuf::from(typed),
    }
}

/// Complete `text` from the file system, as a shell's Tab does: the entries of its folder
/// (the part up to the last `/`; `.` when there is none) that start with the rest, hidden
/// ones only when the rest starts with `.`; folders only when `dirs_only`. One match is
/// completed whole (a folder gains a `/`); several are completed as far as they agree and
/// listed. At most [`MAX_ENTRIES`] entries are read.
pub fn complete(text: &str, dirs_only: bool) -> Completion {
    let (dir_part, prefix) = match text.rfind('/') {
        Some(i) => (&text[..=i], &text[i + 1..]),
        None => ("", text),
    };
    let dir = if dir_part.is_empty() {
        PathBuf::from(".")
    } else {
        expand_home(dir_part)
    };
    let unchanged = |note: String| Completion {
        text: text.to_string(),
        candidates: Vec::new(),
        more: 0,
        note: Some(note),
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            return unchanged(format!(
                "cannot read {}: {}",
                crate::text::path(&dir),
                crate::text::escaped(&e.to_string())
            ))
        }
    };
    let mut names: Vec<String> = Vec::new();
    for entry in entries.take(MAX_ENTRIES).flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue; // a name that is not UTF-8 cannot be typed back
        };
        if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
            continue;
        }
        // follow links: a link to a folder completes as a folder
        let is_dir = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
        if dirs_only && !is_dir {
            continue;
        }
        names.push(if is_dir { format!("{name}/") } else { name });
    }
    names.sort();
    match names.len() {
        0 => unchanged(if dirs_only {
            "no folder matches".into()
        } else {
            "nothing matches".into()
        }),
        1 => Completion {
            text: format!("{dir_part}{}", names[0]),
            candidates: Vec::new(),
            more: 0,
            note: None,
        },
        n => {
            let common = common_prefix(&names).to_string();
            let more = n.saturating_sub(MAX_SHOWN);
            names.truncate(MAX_SHOWN);
            Completion {
                text: format!("{dir_part}{common}"),
                candidates: names,
                more,
                note: None,
            }
        }
    }
}

/// The longest start every name shares (whole characters).
fn common_prefix(names: &[String]) -> &str {
    let Some(first) = names.first() else {
        return "";
    };
    let mut end = first.len();
    for n in &names[1..] {
        end = first
            .char_indices()
            .zip(n.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    &first[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> Key {
        Key::char(c)
    }

    #[test]
    fn tab_completes_one_folder_whole_and_several_as_far_as_they_agree() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for d in ["shapes", "shapes-grey", "digits", ".hidden"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        std::fs::write(root.join("digits.txt"), "x").unwrap();
        let base = format!("{}/", root.display());

        let one = complete(&format!("{base}di"), true);
        assert_eq!(one.text, format!("{base}digits/"));
        assert!(one.candidates.is_empty());

        // files count when folders are not asked for
        let two = complete(&format!("{base}di"), false);
        assert_eq!(two.text, format!("{base}digits"));
        assert_eq!(two.candidates, vec!["digits.txt", "digits/"]);

        let sh = complete(&format!("{base}s"), true);
        assert_eq!(sh.text, format!("{base}shapes"));
        assert_eq!(sh.candidates, vec!["shapes-grey/", "shapes/"]);

        // hidden entries only when asked for by a leading dot
        let all = complete(&base, true);
        assert_eq!(all.candidates, vec!["digits/", "shapes-grey/", "shapes/"]);
        assert_eq!(
            complete(&format!("{base}.h"), true).text,
            format!("{base}.hidden/")
        );

        let none = complete(&format!("{base}zzz"), true);
        assert_eq!(none.text, format!("{base}zzz"));
        assert_eq!(none.note.as_deref(), Some("no folder matches"));
        let missing = complete(&format!("{base}nope/x"), true);
        assert!(missing.note.unwrap().starts_with("cannot read"));
    }

    #[test]
    fn the_box_types_erases_and_submits() {
        let mut p = PathInput::new("data folder", "use", "data/", true);
        for c in "shapes".chars() {
            assert_eq!(p.key(key(c)), PathKey::Editing);
        }
        assert_eq!(p.text, "data/shapes");
        p.key(Key::new(KeyCode::Backspace));
        assert_eq!(p.text, "data/shape");
        assert_eq!(
            p.key(Key::new(KeyCode::Tab)),
            PathKey::Complete {
                text: "data/shape".into(),
                dirs_only: true
            }
        );
        p.key(Key::ctrl('w'));
        assert_eq!(p.text, "data/");
        p.paste("a\u{1b}b\nc");
        assert_eq!(p.text, "data/abc");
        assert_eq!(
            p.key(Key::new(KeyCode::Enter)),
            PathKey::Submitted(PathBuf::from("data/abc"))
        );
        p.key(Key::ctrl('u'));
        assert_eq!(p.key(Key::new(KeyCode::Enter)), PathKey::Cancelled);
        assert_eq!(p.key(Key::new(KeyCode::Esc)), PathKey::Cancelled);
        // the box holds at most MAX_CHARS
        p.paste(&"x".repeat(MAX_CHARS + 50));
        assert_eq!(p.text.chars().count(), MAX_CHARS);
    }

    #[test]
    fn the_status_line_shows_the_keys_then_the_candidates() {
        let mut p = PathInput::new("data folder", "use", "d", true);
        assert_eq!(
            p.status(80),
            "data folder: d_  (Tab complete, Enter use, Esc cancel)"
        );
        // a long path gives up its start so the note still shows at 80 columns
        let mut long = PathInput::new(
            "data folder",
            "use",
            &format!("/{}/end", "x".repeat(90)),
            true,
        );
        long.note = Some("no folder here".into());
        let line = long.status(80);
        assert!(line.starts_with("data folder: ...x"), "{line}");
        assert!(line.ends_with("x/end_  (no folder here)"), "{line}");
        assert!(line.chars().count() <= 80, "{line}");
        p.completed(Completion {
            text: "data".into(),
            candidates: vec!["data/".into(), "data2/".into()],
            more: 3,
            note: None,
        });
        assert_eq!(p.status(80), "data folder: data_  data/ data2/ +3");
        p.key(key('/'));
        assert!(p.candidates.is_empty(), "typing forgets the candidates");
    }

    #[test]
    fn common_prefix_keeps_whole_characters() {
        let names = vec!["été/".to_string(), "étang/".to_string()];
        assert_eq!(common_prefix(&names), "ét");
        assert_eq!(common_prefix(&["a".to_string(), "b".to_string()]), "");
    }
}
