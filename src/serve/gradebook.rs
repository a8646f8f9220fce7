//! The gradebook written with the class report: one row per student (every roster student,
//! absent ones included; without a roster, everyone who connected), the identifying
//! columns first, then the lessons. `--gradebook` picks whose conventions the header
//! follows:
//!
//! - `plain`: the roster's identifying columns and `login`, then per lesson (by id) the
//!   steps reached (of the lesson's steps), finished (0/1), "your turn" right and asked,
//!   and the points.
//! - `canvas`: `Student, ID, SIS User ID, SIS Login ID, Section` (filled from the roster's
//!   columns of those names; `Student` also from `name`, `SIS Login ID` else the login),
//!   a `Points Possible` row, then one column of points per lesson (by title), as Canvas's
//!   gradebook import reads them (new columns become assignments).
//! - `moodle`: the roster's identifying columns (with `username`, the login, first when
//!   the roster has no `email`, `username` or `idnumber` column to map users by), then one
//!   column of points per lesson (a grade item each).
//!
//! A lesson is worth [`POINTS`]: half for the steps reached (all of them when finished),
//! half for the "your turn" answers right (the steps again when none was asked). Canvas
//! and Moodle files carry only the points; the plain file, written beside them as
//! `-detail.csv`, keeps the numbers they come from. Every field is RFC 4180 CSV (the `csv`
//! crate), escaped of control characters.

use std::collections::BTreeMap;

use super::class::Record;
use super::roster::Roster;
use crate::text::escaped;

/// Points a lesson is worth.
pub const POINTS: f64 = 10.0;

/// Whose import conventions the gradebook follows (`serve --gradebook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GradebookFormat {
    /// Every number, one column each (any spreadsheet).
    #[default]
    Plain,
    /// Canvas's gradebook import.
    Canvas,
    /// Moodle's "Import grades from CSV".
    Moodle,
}

/// A lesson as the gradebook names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonInfo {
    /// Its id (the plain file's headers).
    pub id: String,
    /// Its title (Canvas's assignment and Moodle's grade item).
    pub title: String,
    /// How many steps it has.
    pub steps: usize,
}

impl LessonInfo {
    /// The class's lessons, in menu order.
    pub fn of(lessons: &[crate::lesson::Lesson]) -> Vec<LessonInfo> {
        lessons
            .iter()
            .map(|l| LessonInfo {
                id: l.id().to_string(),
                title: l.title().to_string(),
                steps: l.frames().map_or(0, |f| f.len()),
            })
            .collect()
    }
}

/// What one student did in one lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LessonMarks {
    /// The furthest step opened (1-based; 0: never opened).
    pub reached: usize,
    /// "Your turn" answers right.
    pub right: u32,
    /// "Your turn" questions answered.
    pub asked: u32,
}

impl LessonMarks {
    /// Both sessions' marks (a student who reconnected): the furthest step, answers added.
    pub fn merge(self, other: LessonMarks) -> LessonMarks {
        LessonMarks {
            reached: self.reached.max(other.reached),
            right: self.right + other.right,
            asked: self.asked + other.asked,
        }
    }
}

/// A lesson's points (one decimal): half for the steps reached, half for the answers.
pub fn points(marks: LessonMarks, steps: usize, finished: bool) -> f64 {
    let progress = if finished {
        1.0
    } else {
        (marks.reached as f64 / steps.max(1) as f64).min(1.0)
    };
    let answers = if marks.asked > 0 {
        f64::from(marks.right) / f64::from(marks.asked)
    } else {
        progress
    };
    (POINTS * (progress + answers) / 2.0 * 10.0).round() / 10.0
}

/// One student's row source: their roster entry (if any) and their record (if they came).
struct Row<'a> {
    login: &'a str,
    ids: Option<&'a [String]>,
    record: Option<&'a Record>,
}

fn rows<'a>(roster: Option<&'a Roster>, records: &'a [Record]) -> Vec<Row<'a>> {
    let by_name: BTreeMap<&str, &Record> = records.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut out: Vec<Row> = Vec::new();
    if let Some(roster) = roster {
        out.extend(roster.students.iter().map(|s| Row {
            login: &s.login,
            ids: Some(&s.ids),
            record: by_name.get(s.login.as_str()).copied(),
        }));
    }
    // anyone not on the roster (or everyone, without one) is kept, by their name
    out.extend(
        records
            .iter()
            .filter(|r| roster.is_none_or(|ro| ro.get(&r.name).is_none()))
            .map(|r| Row {
                login: &r.name,
                ids: None,
                record: Some(r),
            }),
    );
    out
}

/// What a row has for lesson `l`: marks, finished, points.
fn lesson_of(row: &Row, l: &LessonInfo) -> (LessonMarks, bool, f64) {
    let marks = row
        .record
        .and_then(|r| r.lessons.get(&l.id))
        .copied()
        .unwrap_or_default();
    let finished = row.record.is_some_and(|r| r.finished.contains(&l.id));
    (marks, finished, points(marks, l.steps, finished))
}

/// Titles as column names: a title two lessons share gets its id added.
fn titles(lessons: &[LessonInfo]) -> Vec<String> {
    lessons
        .iter()
        .map(|l| {
            if lessons.iter().filter(|m| m.title == l.title).count() > 1 {
                format!("{} [{}]", l.title, l.id)
            } else {
                l.title.clone()
            }
        })
        .collect()
}

fn fmt_points(p: f64) -> String {
    format!("{p:.1}")
}

/// The gradebook as CSV text in `format`'s conventions.
pub fn gradebook_csv(
    format: GradebookFormat,
    roster: Option<&Roster>,
    lessons: &[LessonInfo],
    records: &[Record],
) -> String {
    let table = match format {
        GradebookFormat::Plain => plain(roster, lessons, records),
        GradebookFormat::Canvas => canvas(roster, lessons, records),
        GradebookFormat::Moodle => moodle(roster, lessons, records),
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in table {
        let row: Vec<String> = row.iter().map(|f| escaped(f).into_owned()).collect();
        // writing to memory cannot fail
        let _ = w.write_record(&row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

fn plain(roster: Option<&Roster>, lessons: &[LessonInfo], records: &[Record]) -> Vec<Vec<String>> {
    let id_cols = roster.map_or(&[][..], |r| r.columns.as_slice());
    let mut head: Vec<String> = id_cols.to_vec();
    head.push("login".into());
    for l in lessons {
        head.push(format!("{}: steps reached (of {})", l.id, l.steps));
        head.push(format!("{}: finished", l.id));
        head.push(format!("{}: your turn right", l.id));
        head.push(format!("{}: your turn asked", l.id));
        head.push(format!("{}: points (of {POINTS})", l.id));
    }
    let mut table = vec![head];
    for row in rows(roster, records) {
        let mut line: Vec<String> = match row.ids {
            Some(ids) => ids.to_vec(),
            None => vec![String::new(); id_cols.len()],
        };
        line.push(row.login.to_string());
        for l in lessons {
            let (m, finished, p) = lesson_of(&row, l);
            line.push(m.reached.to_string());
            line.push(u8::from(finished).to_string());
            line.push(m.right.to_string());
            line.push(m.asked.to_string());
            line.push(fmt_points(p));
        }
        table.push(line);
    }
    table
}

/// Canvas's first columns, in its order.
pub const CANVAS_COLUMNS: [&str; 5] = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"];

fn canvas(roster: Option<&Roster>, lessons: &[LessonInfo], records: &[Record]) -> Vec<Vec<String>> {
    let mut head: Vec<String> = CANVAS_COLUMNS.iter().map(|c| c.to_string()).collect();
    head.extend(titles(lessons));
    let mut possible = vec!["    Points Possible".to_string()];
    possible.extend(std::iter::repeat_n(String::new(), CANVAS_COLUMNS.len() - 1));
    possible.extend(lessons.iter().map(|_| fmt_points(POINTS)));
    let mut table = vec![head, possible];
    for row in rows(roster, records) {
        let student = roster.and_then(|r| r.get(row.login));
        let value = |header: &str| -> Option<String> {
            let (r, s) = (roster?, student?);
            r.value(s, header)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let mut line = vec![
            value("Student")
                .or_else(|| value("name"))
                .unwrap_or_else(|| row.login.to_string()),
            value("ID").unwrap_or_default(),
            value("SIS User ID").unwrap_or_default(),
            value("SIS Login ID").unwrap_or_else(|| row.login.to_string()),
            value("Section").unwrap_or_default(),
        ];
        line.extend(lessons.iter().map(|l| fmt_points(lesson_of(&row, l).2)));
        table.push(line);
    }
    table
}

/// Columns Moodle can map users by (its user fields), any case.
pub const MOODLE_IDENTIFIERS: [&str; 3] = ["email", "username", "idnumber"];

fn moodle(roster: Option<&Roster>, lessons: &[LessonInfo], records: &[Record]) -> Vec<Vec<String>> {
    let id_cols = roster.map_or(&[][..], |r| r.columns.as_slice());
    let has_identifier = id_cols
        .iter()
        .any(|c| MOODLE_IDENTIFIERS.iter().any(|m| c.eq_ignore_ascii_case(m)));
    let mut head: Vec<String> = Vec::new();
    if !has_identifier {
        head.push("username".into());
    }
    head.extend(id_cols.iter().cloned());
    head.extend(titles(lessons));
    let mut table = vec![head];
    for row in rows(roster, records) {
        let mut line = Vec::new();
        if !has_identifier {
            line.push(row.login.to_string());
        }
        match row.ids {
            Some(ids) => line.extend(ids.iter().cloned()),
            None => line.extend(std::iter::repeat_n(String::new(), id_cols.len())),
        }
        line.extend(lessons.iter().map(|l| fmt_points(lesson_of(&row, l).2)));
        table.push(line);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_half_steps_half_answers() {
        let m = |reached, right, asked| LessonMarks {
            reached,
            right,
            asked,
        };
        assert_eq!(points(m(0, 0, 0), 8, false), 0.0);
        assert_eq!(points(m(4, 0, 0), 8, false), 5.0);
        assert_eq!(points(m(8, 0, 0), 8, true), 10.0);
        assert_eq!(points(m(8, 1, 2), 8, true), 7.5);
        assert_eq!(points(m(2, 2, 3), 6, false), 5.0);
        assert_eq!(points(m(1, 0, 0), 3, false), 3.3);
    }

    fn record(name: &str, lesson: &str, marks: LessonMarks, finished: bool) -> Record {
        Record {
            name: name.into(),
            addr: String::new(),
            connected_at: std::time::SystemTime::UNIX_EPOCH,
            connected: std::time::Duration::ZERO,
            finished: if finished {
                [lesson.to_string()].into()
            } else {
                Default::default()
            },
            quiz: None,
            best_accuracy: None,
            lessons: [(lesson.to_string(), marks)].into(),
            attempts: Default::default(),
        }
    }

    fn lessons() -> Vec<LessonInfo> {
        vec![
            LessonInfo {
                id: "conv".into(),
                title: "Convolution, by hand".into(),
                steps: 4,
            },
            LessonInfo {
                id: "relu".into(),
                title: "ReLU".into(),
                steps: 2,
            },
        ]
    }

    fn read(text: &str) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn each_format_has_its_columns_and_every_roster_student() {
        let roster = Roster::parse(
            b"Student,login,SIS User ID,SIS Login ID,Section,email\n\
              \"Lovelace, Ada\",ada,S1,ada.l,A,ada@x.edu\n\
              Bob,bob,S2,bob.b,B,bob@x.edu\n",
            "r.csv",
        )
        .unwrap();
        let marks = LessonMarks {
            reached: 4,
            right: 1,
            asked: 2,
        };
        let records = [record("ada", "conv", marks, true)];
        let (l, r) = (lessons(), Some(&roster));
        let canvas = read(&gradebook_csv(GradebookFormat::Canvas, r, &l, &records));
        assert_eq!(
            canvas[0],
            [CANVAS_COLUMNS.as_slice(), &["Convolution, by hand", "ReLU"]].concat()
        );
        assert_eq!(canvas[1][0].trim(), "Points Possible");
        assert_eq!(canvas[1][5..], ["10.0", "10.0"]);
        assert_eq!(
            canvas[2],
            ["Lovelace, Ada", "", "S1", "ada.l", "A", "7.5", "0.0"]
        );
        assert_eq!(canvas[3], ["Bob", "", "S2", "bob.b", "B", "0.0", "0.0"]);
        let moodle = read(&gradebook_csv(GradebookFormat::Moodle, r, &l, &records));
        assert_eq!(moodle[0][4], "email");
        assert_eq!(moodle[1][4], "ada@x.edu");
        assert_eq!(moodle[1][5..], ["7.5", "0.0"]);
        let plain = read(&gradebook_csv(GradebookFormat::Plain, r, &l, &records));
        assert_eq!(plain[0][5], "login");
        assert_eq!(plain[0][6], "conv: steps reached (of 4)");
        assert_eq!(plain[1][5..11], ["ada", "4", "1", "1", "2", "7.5"]);
        assert_eq!(plain.len(), 3);
    }

    #[test]
    fn without_a_roster_the_login_name_identifies() {
        let marks = LessonMarks {
            reached: 1,
            right: 0,
            asked: 0,
        };
        let records = [record("kim", "relu", marks, false)];
        let canvas = read(&gradebook_csv(
            GradebookFormat::Canvas,
            None,
            &lessons(),
            &records,
        ));
        assert_eq!(canvas[2], ["kim", "", "", "kim", "", "0.0", "5.0"]);
        let moodle = read(&gradebook_csv(
            GradebookFormat::Moodle,
            None,
            &lessons(),
            &records,
        ));
        assert_eq!(moodle[0], ["username", "Convolution, by hand", "ReLU"]);
        assert_eq!(moodle[1], ["kim", "0.0", "5.0"]);
    }
}
