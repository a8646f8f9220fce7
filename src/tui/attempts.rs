//! Each "your turn" question's tries in this run (issue 26: where the class struggles):
//! what the lesson screen records when an answer is checked, what a classroom session
//! publishes to the class, and the class's figures per question.
//!
//! Everything here is bounded: a session keeps at most [`MAX_QUESTIONS`] questions and
//! [`MAX_WRONG_KEPT`] wrong answers each, every answer escaped, trimmed and cut to
//! [`MAX_ANSWER`] characters.

use std::collections::BTreeMap;

/// Most questions one session keeps tries of (later ones are not counted).
pub const MAX_QUESTIONS: usize = 1000;
/// Most wrong answers kept per question and session.
pub const MAX_WRONG_KEPT: usize = 5;
/// Longest answer kept (characters).
pub const MAX_ANSWER: usize = 24;
/// Wrong tries on one question that count as "wrong three times" (and stuck).
pub const WRONG_TIMES: u32 = 3;

/// Which question: the lesson's id, the step that asks it (0-based) and which of that
/// step's questions (1-based).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuestionKey {
    /// The lesson's id.
    pub lesson: String,
    /// The step that asks it (0-based).
    pub step: usize,
    /// Which of the step's questions (1 is the first).
    pub n: usize,
}

/// One student's tries at one question.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attempts {
    /// Answers checked (right or wrong).
    pub tries: u32,
    /// Wrong ones among them.
    pub wrong: u32,
    /// Answered right at some try.
    pub right: bool,
    /// The first try was right.
    pub right_first: bool,
    /// The wrong answers as typed (escaped, trimmed, cut), the first few.
    pub wrong_answers: Vec<String>,
}

impl Attempts {
    /// Count one checked answer (`wrong`: what was typed, when it was wrong).
    pub fn count(&mut self, wrong: Option<&str>) {
        if self.tries == 0 {
            self.right_first = wrong.is_none();
        }
        self.tries = self.tries.saturating_add(1);
        match wrong {
            None => self.right = true,
            Some(typed) => {
                self.wrong = self.wrong.saturating_add(1);
                if self.wrong_answers.len() < MAX_WRONG_KEPT {
                    self.wrong_answers.push(clean_answer(typed));
                }
            }
        }
    }

    /// Two sessions of one student (a reconnection): tries added, the first session's
    /// first try kept.
    pub fn merge(&self, later: &Attempts) -> Attempts {
        let mut all = self.clone();
        if all.tries == 0 {
            all.right_first = later.right_first;
        }
        all.tries = all.tries.saturating_add(later.tries);
        all.wrong = all.wrong.saturating_add(later.wrong);
        all.right |= later.right;
        let room = MAX_WRONG_KEPT.saturating_sub(all.wrong_answers.len());
        all.wrong_answers
            .extend(later.wrong_answers.iter().take(room).cloned());
        all
    }
}

/// An answer as it is kept: escaped, trimmed, at most [`MAX_ANSWER`] characters.
pub fn clean_answer(typed: &str) -> String {
    crate::text::escaped(typed.trim())
        .chars()
        .take(MAX_ANSWER)
        .collect()
}

/// Count a checked answer into `all` (a new question only while fewer than
/// [`MAX_QUESTIONS`] are kept).
pub fn record(all: &mut BTreeMap<QuestionKey, Attempts>, key: QuestionKey, wrong: Option<&str>) {
    if let Some(a) = all.get_mut(&key) {
        a.count(wrong);
    } else if all.len() < MAX_QUESTIONS {
        let mut a = Attempts::default();
        a.count(wrong);
        all.insert(key, a);
    }
}

/// The class's figures for one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionFigures {
    /// Which question.
    pub key: QuestionKey,
    /// Students who tried it.
    pub tried: usize,
    /// Students right at their first try.
    pub right_first: usize,
    /// Students wrong [`WRONG_TIMES`] times or more.
    pub wrong3: usize,
    /// The most common wrong answer and how many students gave it (ties: the first in
    /// text order).
    pub common_wrong: Option<(String, usize)>,
}

/// Per question, the figures over every student's tries (in question order).
pub fn figures<'a>(
    students: impl IntoIterator<Item = &'a BTreeMap<QuestionKey, Attempts>>,
) -> Vec<QuestionFigures> {
    let mut by_q: BTreeMap<&QuestionKey, (QuestionFigures, BTreeMap<&str, usize>)> =
        BTreeMap::new();
    for s in students {
        for (key, a) in s {
            if a.tries == 0 {
                continue;
            }
            let (f, wrongs) = by_q.entry(key).or_insert_with(|| {
                let f = QuestionFigures {
                    key: key.clone(),
                    tried: 0,
                    right_first: 0,
                    wrong3: 0,
                    common_wrong: None,
                };
                (f, BTreeMap::new())
            });
            f.tried += 1;
            f.right_first += usize::from(a.right_first);
            f.wrong3 += usize::from(a.wrong >= WRONG_TIMES);
            // a student who typed one wrong answer twice counts once for it
            let mut own: Vec<&str> = a.wrong_answers.iter().map(String::as_str).collect();
            own.sort_unstable();
            own.dedup();
            for w in own {
                *wrongs.entry(w).or_default() += 1;
            }
        }
    }
    by_q.into_values()
        .map(|(mut f, wrongs)| {
            f.common_wrong = wrongs
                .into_iter()
                .fold(None, |best: Option<(&str, usize)>, (w, n)| match best {
                    Some((_, b)) if b >= n => best,
                    _ => Some((w, n)),
                })
                .map(|(w, n)| (w.to_string(), n));
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(step: usize, n: usize) -> QuestionKey {
        QuestionKey {
            lesson: "convolution".into(),
            step,
            n,
        }
    }

    fn student(tries: &[(QuestionKey, &[Option<&str>])]) -> BTreeMap<QuestionKey, Attempts> {
        let mut all = BTreeMap::new();
        for (k, answers) in tries {
            for a in *answers {
                record(&mut all, k.clone(), *a);
            }
        }
        all
    }

    #[test]
    fn figures_per_question_from_a_class_of_tries() {
        let q1 = key(2, 1);
        let q2 = key(2, 2);
        let ada = student(&[(q1.clone(), &[None]), (q2.clone(), &[Some("3"), None])]);
        let bo = student(&[(q1.clone(), &[Some("154"), Some(" 154 "), Some("156")])]);
        let kim = student(&[(q1.clone(), &[Some("156"), None])]);
        let lee = student(&[(q1.clone(), &[Some("156"), Some("7"), Some("8"), None])]);
        let f = figures([&ada, &bo, &kim, &lee]);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].key, q1);
        assert_eq!((f[0].tried, f[0].right_first, f[0].wrong3), (4, 1, 2));
        // 156 was given by three students (bo, kim, lee); bo's 154 twice counts once
        assert_eq!(f[0].common_wrong, Some(("156".to_string(), 3)));
        assert_eq!(f[1].key, q2);
        assert_eq!((f[1].tried, f[1].right_first, f[1].wrong3), (1, 0, 0));
        assert_eq!(f[1].common_wrong, Some(("3".to_string(), 1)));
    }

    #[test]
    fn answers_are_escaped_trimmed_and_bounded() {
        let mut all = BTreeMap::new();
        let long = format!("  \x1b[2J{}  ", "9".repeat(100));
        for _ in 0..20 {
            record(&mut all, key(0, 1), Some(&long));
        }
        let a = &all[&key(0, 1)];
        assert_eq!(
            (a.tries, a.wrong, a.right, a.right_first),
            (20, 20, false, false)
        );
        assert_eq!(a.wrong_answers.len(), MAX_WRONG_KEPT);
        assert!(
            a.wrong_answers[0].starts_with("\\e[2J9"),
            "{:?}",
            a.wrong_answers
        );
        assert_eq!(a.wrong_answers[0].chars().count(), MAX_ANSWER);
        for i in 0..MAX_QUESTIONS + 50 {
            record(&mut all, key(i, 2), None);
        }
        assert_eq!(all.len(), MAX_QUESTIONS);
    }

    #[test]
    fn a_reconnection_adds_tries_and_keeps_the_first_try() {
        let mut a = Attempts::default();
        a.count(Some("1"));
        let mut b = Attempts::default();
        b.count(None);
        let m = a.merge(&b);
        assert_eq!(
            (m.tries, m.wrong, m.right, m.right_first),
            (2, 1, true, false)
        );
        let m = Attempts::default().merge(&b);
        assert!(m.right_first);
    }
}
