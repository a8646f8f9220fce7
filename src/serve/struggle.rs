//! Where the class struggles (issue 26): every student's tries per "your turn" question
//! (each session's [`super::class::Record::attempts`]) made into the class's figures, per
//! lesson, for the console's struggle view and the report's per-question section.

use std::collections::BTreeMap;

use super::class::Record;
use super::gradebook::LessonInfo;
use crate::tui::attempts::{figures, QuestionFigures};
use crate::tui::console::struggle::{LessonFigures, Struggle};

/// The figures of `records`, grouped by lesson in menu order (a lesson id the server does
/// not know, from a lesson folder changed since, is left out).
pub(crate) fn struggle(lessons: &[LessonInfo], records: &[Record]) -> Struggle {
    let all = figures(records.iter().map(|r| &r.attempts));
    let mut by_lesson: BTreeMap<usize, LessonFigures> = BTreeMap::new();
    for f in all {
        let Some(index) = lessons.iter().position(|l| l.id == f.key.lesson) else {
            continue;
        };
        by_lesson
            .entry(index)
            .or_insert_with(|| LessonFigures {
                index,
                title: lessons[index].title.clone(),
                questions: Vec::new(),
            })
            .questions
            .push(f);
    }
    Struggle {
        lessons: by_lesson.into_values().collect(),
    }
}

/// A cell of a Markdown table (escaped, `|` escaped).
fn md_cell(s: &str) -> String {
    crate::text::escaped(s).replace('|', "\\|")
}

/// The report's section: per lesson, each question's figures.
pub(crate) fn report_section(lessons: &[LessonInfo], records: &[Record]) -> String {
    let s = struggle(lessons, records);
    if s.lessons.is_empty() {
        return "\nNo \"your turn\" answers.\n".into();
    }
    let mut out = String::from(
        "\n## Your turn, per question\n\n\
         | lesson | question | tried | right first time | wrong 3+ times | most common wrong answer |\n\
         |---|---|---:|---:|---:|---|\n",
    );
    for l in &s.lessons {
        for q in &l.questions {
            out.push_str(&row(&l.title, q));
        }
    }
    out
}

fn row(title: &str, q: &QuestionFigures) -> String {
    let wrong = q
        .common_wrong
        .as_ref()
        .map_or_else(|| "-".to_string(), |(w, n)| format!("{} ({n})", md_cell(w)));
    format!(
        "| {} | step {} q{} | {} | {} | {} | {wrong} |\n",
        md_cell(title),
        q.key.step + 1,
        q.key.n,
        q.tried,
        q.right_first,
        q.wrong3
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::attempts::{record, QuestionKey};
    use std::time::{Duration, SystemTime};

    fn student(name: &str, answers: &[(&str, usize, Option<&str>)]) -> Record {
        let mut attempts = BTreeMap::new();
        for (lesson, step, wrong) in answers {
            let key = QuestionKey {
                lesson: (*lesson).to_string(),
                step: *step,
                n: 1,
            };
            record(&mut attempts, key, *wrong);
        }
        Record {
            name: name.into(),
            addr: String::new(),
            connected_at: SystemTime::UNIX_EPOCH,
            connected: Duration::ZERO,
            finished: Default::default(),
            quiz: None,
            best_accuracy: None,
            lessons: BTreeMap::new(),
            attempts,
        }
    }

    #[test]
    fn the_report_has_each_questions_figures_per_lesson() {
        let lessons = LessonInfo::of(&crate::lesson::load(None).unwrap());
        let (first, second) = (lessons[0].id.clone(), lessons[1].id.clone());
        let records = [
            student(
                "ada",
                &[
                    (&first, 2, Some("15|4")),
                    (&first, 2, None),
                    (&second, 0, None),
                ],
            ),
            student(
                "bo",
                &[
                    (&first, 2, Some("15|4")),
                    (&first, 2, Some("9")),
                    (&first, 2, Some("\x1b[2J")),
                ],
            ),
            student("kim", &[("gone-lesson", 1, None)]),
        ];
        let s = struggle(&lessons, &records);
        assert_eq!(s.lessons.len(), 2, "the unknown lesson is left out");
        assert_eq!((s.lessons[0].index, s.lessons[1].index), (0, 1));
        let md = report_section(&lessons, &records);
        let want = format!(
            "| {} | step 3 q1 | 2 | 0 | 1 | 15\\|4 (2) |",
            md_cell(&lessons[0].title)
        );
        assert!(md.contains(&want), "{md}");
        assert!(md.contains("| step 1 q1 | 1 | 1 | 0 | - |"), "{md}");
        assert!(!md.contains('\x1b'));
        assert_eq!(
            report_section(&lessons, &[]),
            "\nNo \"your turn\" answers.\n"
        );
    }
}
