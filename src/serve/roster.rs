//! The class roster (`serve --roster FILE.csv`): who may log in, the columns the school's
//! system knows each student by (copied into the gradebook), and a personal code per
//! student when the roster gives one.
//!
//! The file is CSV (RFC 4180: a header row, commas, fields with commas, quotes or line
//! breaks in double quotes, `""` for a quote inside them; UTF-8, a leading byte-order mark
//! is allowed). The column headed `login` (any case) is the SSH login name, which must be
//! a plain name (letters, digits, `-`, `_`, `.`, at most 32, not starting with `.`) and
//! appear once; an optional column `code` is the student's personal code (empty: the class
//! code); every other column (`SIS Login ID`, `email`, `Section` ...) identifies the
//! student to the school's system and goes into the gradebook as it is.

use std::collections::HashMap;
use std::path::Path;

use crate::text::escaped;
use crate::{Error, Result};

/// The largest roster read (a class of thousands is far below it).
const MAX_BYTES: u64 = 4 << 20;
/// The header of the login column.
pub const LOGIN: &str = "login";
/// The header of the personal code column.
pub const CODE: &str = "code";

/// One student on the roster.
#[derive(Clone)]
pub struct Student {
    /// The SSH login name.
    pub login: String,
    /// The identifying columns' values, in [`Roster::columns`] order.
    pub ids: Vec<String>,
    /// The personal code, when the roster gives one.
    code: Option<String>,
    /// The file's line the row starts on.
    pub line: u64,
}

impl std::fmt::Debug for Student {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the personal code stays out of logs and panics
        f.debug_struct("Student")
            .field("login", &self.login)
            .field("ids", &self.ids)
            .field("code", &self.code.as_ref().map(|_| "<hidden>"))
            .field("line", &self.line)
            .finish()
    }
}

impl Student {
    /// The student's personal code, when the roster gives one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

/// The roster: the identifying columns and the students, in file order.
#[derive(Debug, Clone)]
pub struct Roster {
    /// The file, as named in messages.
    pub file: String,
    /// The identifying columns' headers (every column but `login` and `code`), in order.
    pub columns: Vec<String>,
    /// The students, in file order.
    pub students: Vec<Student>,
    by_login: HashMap<String, usize>,
}

impl Roster {
    /// Read a roster file; any problem is one line naming the file, the line and the field.
    pub fn read(path: &Path) -> Result<Roster> {
        let file = crate::text::path(path);
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.len() > MAX_BYTES {
            return Err(Error::Usage(format!(
                "{file}: the roster is {} bytes, more than the {MAX_BYTES} read",
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Roster::parse(&bytes, &file)
    }

    /// Read a roster from its bytes (`file` names it in messages).
    pub fn parse(bytes: &[u8], file: &str) -> Result<Roster> {
        let bad = |line: u64, what: String| Error::Usage(format!("{file}: line {line}: {what}"));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(bytes);
        let header = reader.headers().map_err(|e| csv_error(file, &e))?.clone();
        let names: Vec<String> = header
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let (login_at, code_at) = header_columns(&names).map_err(|what| bad(1, what))?;
        let columns: Vec<String> = (0..names.len())
            .filter(|i| *i != login_at && Some(*i) != code_at)
            .map(|i| names[i].clone())
            .collect();
        let mut students = Vec::new();
        let mut by_login: HashMap<String, usize> = HashMap::new();
        for row in reader.records() {
            let row = row.map_err(|e| csv_error(file, &e))?;
            let line = row.position().map_or(0, csv::Position::line);
            if row.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let login = row.get(login_at).unwrap_or("").trim().to_string();
            if let Some(why) = login_problem(&login) {
                return Err(bad(line, format!("field {LOGIN}: {why}")));
            }
            if let Some(&earlier) = by_login.get(&login) {
                let first: &Student = &students[earlier];
                return Err(bad(
                    line,
                    format!(
                        "field {LOGIN}: {login} is already on line {} (one row per student)",
                        first.line
                    ),
                ));
            }
            let code = code_at
                .and_then(|i| row.get(i))
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            let ids = (0..names.len())
                .filter(|i| *i != login_at && Some(*i) != code_at)
                .map(|i| row.get(i).unwrap_or("").trim().to_string())
                .collect();
            by_login.insert(login.clone(), students.len());
            students.push(Student {
                login,
                ids,
                code,
                line,
            });
        }
        if students.is_empty() {
            return Err(Error::Usage(format!(
                "{file}: no students (a header row with a `{LOGIN}` column, then one row per student)"
            )));
        }
        Ok(Roster {
            file: file.to_string(),
            columns,
            students,
            by_login,
        })
    }

    /// The student who logs in as `login` (compared exactly as typed).
    pub fn get(&self, login: &str) -> Option<&Student> {
        self.by_login.get(login).map(|&i| &self.students[i])
    }

    /// Some student has a personal code.
    pub fn has_codes(&self) -> bool {
        self.students.iter().any(|s| s.code.is_some())
    }

    /// The first student without a personal code, if any.
    pub fn first_without_code(&self) -> Option<&Student> {
        self.students.iter().find(|s| s.code.is_none())
    }

    /// The roster's logins that `connected` does not have, in file order.
    pub fn absent<'a>(&'a self, connected: &[&str]) -> Vec<&'a str> {
        self.students
            .iter()
            .map(|s| s.login.as_str())
            .filter(|l| !connected.contains(l))
            .collect()
    }

    /// The value of the identifying column headed `header` (any case) for `student`.
    pub fn value<'a>(&self, student: &'a Student, header: &str) -> Option<&'a str> {
        let i = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(header))?;
        student.ids.get(i).map(String::as_str)
    }
}

/// Where the login and code columns are; or what is wrong with the header.
fn header_columns(names: &[String]) -> std::result::Result<(usize, Option<usize>), String> {
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(format!("column {} has no name in the header row", i + 1));
        }
        if names[..i].iter().any(|m| m.eq_ignore_ascii_case(n)) {
            return Err(format!("field {}: the column appears twice", escaped(n)));
        }
    }
    let find = |h: &str| names.iter().position(|n| n.eq_ignore_ascii_case(h));
    let Some(login) = find(LOGIN) else {
        let have: Vec<String> = names.iter().map(|n| escaped(n).into_owned()).collect();
        return Err(format!(
            "no `{LOGIN}` column (the login name students type); the header has: {}",
            have.join(", ")
        ));
    };
    Ok((login, find(CODE)))
}

/// Why `login` cannot be a roster login, if it cannot.
fn login_problem(login: &str) -> Option<String> {
    if login.is_empty() {
        return Some("empty (every student needs the name they log in with)".into());
    }
    if super::display_name(login) != login {
        return Some(format!(
            "`{}` is not a login name (letters, digits, - _ . only, at most 32, not starting with .)",
            escaped(login)
        ));
    }
    None
}

/// A CSV reading error as one line with the file and line.
fn csv_error(file: &str, e: &csv::Error) -> Error {
    let line = e.position().map_or(1, csv::Position::line);
    let what = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} field(s), the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "field {}: not UTF-8 text (save the roster as \"CSV UTF-8\")",
            err.field() + 1
        ),
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => escaped(&e.to_string()).into_owned(),
    };
    Error::Usage(format!("{file}: line {line}: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Roster> {
        Roster::parse(text.as_bytes(), "class.csv")
    }

    #[test]
    fn a_roster_keeps_its_columns_quotes_and_codes() {
        let r = parse(
            "\u{feff}Student,Login,SIS User ID,email,Code,Section\r\n\
             \"Lovelace, Ada\",ada,S001,ada@school.edu,k3y,\"A \"\"north\"\"\"\r\n\
             Grace Hopper,grace,S002,grace@school.edu,,B\r\n\
             \r\n",
        )
        .unwrap();
        assert_eq!(r.columns, ["Student", "SIS User ID", "email", "Section"]);
        assert_eq!(r.students.len(), 2);
        let ada = r.get("ada").unwrap();
        assert_eq!(
            ada.ids,
            ["Lovelace, Ada", "S001", "ada@school.edu", "A \"north\""]
        );
        assert_eq!(ada.code(), Some("k3y"));
        assert_eq!(r.get("grace").unwrap().code(), None);
        assert_eq!(r.value(ada, "EMAIL"), Some("ada@school.edu"));
        assert!(r.get("Ada").is_none(), "names compare as typed");
        assert!(r.has_codes());
        assert_eq!(r.first_without_code().unwrap().login, "grace");
        assert_eq!(r.absent(&["grace"]), ["ada"]);
        assert!(
            !format!("{ada:?}").contains("k3y"),
            "codes stay out of Debug"
        );
    }

    #[test]
    fn bad_rosters_name_the_file_line_and_field() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            err("name,email\nada,a@x\n"),
            "class.csv: line 1: no `login` column (the login name students type); the header has: name, email"
        );
        assert_eq!(
            err("login,email\nada,a@x\nbob\n"),
            "class.csv: line 3: 1 field(s), the header has 2"
        );
        assert_eq!(
            err("login,email\nada,a@x\n,b@x\n"),
            "class.csv: line 3: field login: empty (every student needs the name they log in with)"
        );
        assert_eq!(
            err("login,email\nada,a@x\n\"b o\",b@x\n"),
            "class.csv: line 3: field login: `b o` is not a login name (letters, digits, - _ . only, at most 32, not starting with .)"
        );
        assert_eq!(
            err("login\nada\nbob\nada\n"),
            "class.csv: line 4: field login: ada is already on line 2 (one row per student)"
        );
        assert_eq!(
            err("login,Email,email\nada,a,b\n"),
            "class.csv: line 1: field email: the column appears twice"
        );
        assert_eq!(
            err("login,\nada,x\n"),
            "class.csv: line 1: column 2 has no name in the header row"
        );
        assert_eq!(
            err("login,email\n"),
            "class.csv: no students (a header row with a `login` column, then one row per student)"
        );
        let e = Roster::parse(b"login,email\nada,\xff\xfe\n", "class.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "class.csv: line 2: field 2: not UTF-8 text (save the roster as \"CSV UTF-8\")"
        );
        // a quoted field spanning lines: the next row's line is counted right
        assert_eq!(
            err("login,note\nada,\"two\nlines\"\n\"\",x\n"),
            "class.csv: line 4: field login: empty (every student needs the name they log in with)"
        );
        // control characters are escaped in messages
        assert!(!err("login\n\"a\x1b[2J\"\n").contains('\x1b'));
    }

    #[test]
    fn a_missing_roster_file_is_one_line() {
        let err = Roster::read(Path::new("/nonexistent/roster.csv")).unwrap_err();
        assert!(
            err.to_string().starts_with("/nonexistent/roster.csv"),
            "{err}"
        );
    }
}
