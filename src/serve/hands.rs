//! Raised hands (issue 26, "help without walking over"): a student presses Ctrl-R (in a
//! class with a teacher), adds an optional one-line note and their hand joins the class's
//! queue; Ctrl-R again lowers it. The console lists the queue in order; the teacher answers
//! one student (a line on that student's screen only), lowers a hand, or pushes a hint to
//! everyone at that hand's lesson step. Raised, lowered and answered hands are logged.
//!
//! Bounded: one hand per session (the queue is never longer than the class), a note of at
//! most [`MAX_NOTE`] characters, one line from the teacher kept per student (a new one
//! replaces it).

use std::time::Instant;

use super::class::{lock, Class as Members, Member};
use super::role::{Class, Role};
use super::Shared;
use crate::text::escaped;
use crate::tui::console::{ConsoleEffect, HandRow, Place, MAX_NOTE};
use crate::tui::{AppEvent, Key, KeyCode};

/// The student's key to raise (and lower) a hand.
pub(super) const HAND_KEY: char = 'r';

/// A hand up in the class's queue.
#[derive(Debug, Clone)]
pub(crate) struct Hand {
    id: u64,
    note: String,
    since: Instant,
}

/// A note as it is kept: printable characters only, at most [`MAX_NOTE`], trimmed.
fn clean_note(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NOTE)
        .collect();
    kept.trim().to_string()
}

impl Members {
    /// Raise session `id`'s hand (once: raising it again keeps its place); its place in
    /// the queue (1 is first).
    pub(crate) fn raise_hand(&self, id: u64, note: &str) -> usize {
        let mut hands = lock(&self.hands);
        if let Some(i) = hands.iter().position(|h| h.id == id) {
            return i + 1;
        }
        hands.push(Hand {
            id,
            note: clean_note(note),
            since: Instant::now(),
        });
        hands.len()
    }

    /// Lower session `id`'s hand; false when it was not up.
    pub(crate) fn lower_hand(&self, id: u64) -> bool {
        let mut hands = lock(&self.hands);
        let before = hands.len();
        hands.retain(|h| h.id != id);
        hands.len() != before
    }

    /// Session `id`'s place in the queue and the queue's length, while its hand is up.
    pub(crate) fn hand_place(&self, id: u64) -> Option<(usize, usize)> {
        let hands = lock(&self.hands);
        let i = hands.iter().position(|h| h.id == id)?;
        Some((i + 1, hands.len()))
    }

    /// The queue as the console shows it.
    pub(crate) fn hand_rows(&self) -> Vec<HandRow> {
        lock(&self.hands)
            .iter()
            .map(|h| HandRow {
                id: h.id,
                note: h.note.clone(),
                waiting: h.since.elapsed(),
            })
            .collect()
    }

    /// Show `text` on session `id`'s screen only (until dismissed); false when it is gone.
    pub(crate) fn tell_one(&self, id: u64, text: &str) -> bool {
        let Some(m) = self.member(id) else {
            return false;
        };
        m.set_told(text);
        true
    }
}

impl Member {
    fn set_told(&self, text: &str) {
        let mut told = lock(&self.told);
        let seq = told.as_ref().map_or(0, |(n, _)| n + 1);
        let text: String = text
            .chars()
            .take(crate::tui::console::MAX_MESSAGE)
            .collect();
        *told = Some((seq + 1, text));
    }

    /// The teacher's line to this student only, with its number.
    pub(crate) fn told(&self) -> Option<(u64, String)> {
        lock(&self.told).clone()
    }
}

impl Shared {
    /// The console's effects on hands: answer one, lower one, a hint to a step.
    pub(super) fn hand_apply(&self, effect: &ConsoleEffect) -> Option<String> {
        let class = &self.class;
        let name = |id: u64| {
            class
                .member(id)
                .map_or_else(|| format!("#{id}"), |m| escaped(&m.name).into_owned())
        };
        match effect {
            ConsoleEffect::Answer { id, text } => {
                if !class.tell_one(*id, &format!("the teacher to you: {text}")) {
                    return Some("that student has already left".into());
                }
                class.lower_hand(*id);
                eprintln!(
                    "hand: answered {} (session #{id}): {}",
                    name(*id),
                    escaped(text)
                );
                None
            }
            ConsoleEffect::Lower(id) => {
                if class.lower_hand(*id) {
                    eprintln!(
                        "hand: lowered by the teacher: {} (session #{id})",
                        name(*id)
                    );
                }
                None
            }
            ConsoleEffect::HintStep { at, text } => {
                let ids: Vec<u64> = class
                    .rows()
                    .iter()
                    .filter(|r| matches!(r.place, Place::Lesson { index, step, .. } if (index, step) == *at))
                    .map(|r| r.id)
                    .collect();
                let line = format!("hint for this step: {text}");
                let n = ids.iter().filter(|id| class.tell_one(**id, &line)).count();
                eprintln!(
                    "hand: hint to {n} student(s) at lesson {} step {}: {}",
                    at.0 + 1,
                    at.1 + 1,
                    escaped(text)
                );
                Some(format!("hint sent to {n} student(s) at that step"))
            }
            _ => None,
        }
    }
}

/// A student's side of raising a hand: the note being typed, and which of the teacher's
/// lines to them was dismissed.
#[derive(Debug, Default)]
pub(super) struct HandKeys {
    /// The note being typed (Some while asking for it).
    note: Option<String>,
    /// The number of the teacher's line to this student that was dismissed.
    dismissed: u64,
    /// When this session last wrote a hand line to the log, and how many it left out
    /// since: a student pressing Ctrl-R over and over cannot flood the server's log.
    logged: Option<(std::time::Instant, u32)>,
}

/// A session's hand lines in the log: at most one per this long (the rest are counted
/// in the next).
const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

impl HandKeys {
    /// Write `line` to the log unless this session wrote one less than [`LOG_EVERY`] ago.
    fn log(&mut self, line: &str) {
        let now = std::time::Instant::now();
        match &mut self.logged {
            Some((at, left_out)) if now.duration_since(*at) < LOG_EVERY => *left_out += 1,
            Some((at, left_out)) => {
                let more = match *left_out {
                    0 => String::new(),
                    n => format!(" ({n} earlier hand line(s) of this session left out)"),
                };
                eprintln!("{line}{more}");
                (*at, *left_out) = (now, 0);
            }
            None => {
                eprintln!("{line}");
                self.logged = Some((now, 0));
            }
        }
    }

    /// A key for the hand (or for dismissing the teacher's line): true when it took it.
    pub(super) fn key(&mut self, key: Key, class: &Class) -> bool {
        if class.role != Role::Student {
            return false;
        }
        let members = &class.shared.class;
        let me = &class.member;
        if let Some(note) = &mut self.note {
            match key.code {
                _ if key.is_ctrl_c() => return false,
                KeyCode::Enter => {
                    let note = clean_note(note);
                    self.note = None;
                    let at = members.raise_hand(me.id, &note);
                    self.log(&format!(
                        "hand: raised by {} (session #{}), {at} in the queue{}",
                        escaped(&me.name),
                        me.id,
                        if note.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", escaped(&note))
                        }
                    ));
                }
                KeyCode::Esc => self.note = None,
                KeyCode::Backspace => {
                    note.pop();
                }
                KeyCode::Char(c)
                    if !key.ctrl && !c.is_control() && note.chars().count() < MAX_NOTE =>
                {
                    note.push(c);
                }
                _ => {}
            }
            return true;
        }
        if key == Key::ctrl(HAND_KEY) {
            if members.lower_hand(me.id) {
                self.log(&format!(
                    "hand: lowered by {} (session #{})",
                    escaped(&me.name),
                    me.id
                ));
            } else {
                self.note = Some(String::new());
            }
            return true;
        }
        if key.code == KeyCode::Enter {
            if let Some((seq, _)) = self.told(class) {
                self.dismissed = seq;
                return true;
            }
        }
        false
    }

    /// A paste while the note is typed goes into it; true when it took it.
    pub(super) fn event(&mut self, event: &AppEvent) -> bool {
        let (Some(note), AppEvent::Paste(text)) = (&mut self.note, event) else {
            return false;
        };
        let room = MAX_NOTE.saturating_sub(note.chars().count());
        note.extend(text.chars().filter(|c| !c.is_control()).take(room));
        true
    }

    /// What the lines show that can change without a key (the place in the queue, a
    /// new line from the teacher): a change redraws.
    pub(super) fn look(&self, class: &Class) -> (Option<(usize, usize)>, Option<u64>) {
        (
            class.shared.class.hand_place(class.member.id),
            self.told(class).map(|(seq, _)| seq),
        )
    }

    /// The teacher's line to this student while not dismissed.
    fn told(&self, class: &Class) -> Option<(u64, String)> {
        class.member.told().filter(|(seq, _)| *seq > self.dismissed)
    }

    /// The lines over the student's screen: the note being typed, the hand up and its
    /// place, the teacher's line to them (text unescaped: the overlay escapes it).
    pub(super) fn lines(&self, class: &Class) -> Vec<String> {
        if class.role != Role::Student {
            return Vec::new();
        }
        let mut lines = Vec::new();
        if let Some(note) = &self.note {
            lines.push(format!(
                "raise your hand: a note for the teacher (optional; Enter raises, Esc cancels): {note}_"
            ));
        } else if let Some((at, of)) = class.shared.class.hand_place(class.member.id) {
            lines.push(format!(
                "your hand is up: {at} of {of} in the queue (Ctrl-R lowers it)"
            ));
        }
        if let Some((_, text)) = self.told(class) {
            lines.push(format!("{text} (Enter dismisses)"));
        }
        lines
    }
}
