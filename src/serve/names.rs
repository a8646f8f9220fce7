//! Names that look alike: two logins that differ as typed but read the same on a screen
//! (Cyrillic `tеach` and Latin `teach`, `sam1` and `saml`). Names are compared as typed
//! everywhere else; here they are compared by their Unicode confusable skeleton (UTS #39,
//! the `unicode-security` crate) so the console can mark them.

use std::collections::BTreeMap;

use crate::tui::console::StudentRow;

/// The skeleton two look-alike names share.
fn skeleton(name: &str) -> String {
    unicode_security::skeleton(name).collect()
}

/// For each row, the first other name it looks like: another student's, or the teacher's
/// (`teacher`), which a student can then not pass for. Rows whose names are unlike every
/// other keep `None`.
pub(crate) fn mark_look_alikes(rows: &mut [StudentRow], teacher: Option<&str>) {
    let mut by_skeleton: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    for name in names.iter().map(String::as_str).chain(teacher) {
        let v = by_skeleton.entry(skeleton(name)).or_default();
        if !v.contains(&name) {
            v.push(name);
        }
    }
    for (row, name) in rows.iter_mut().zip(&names) {
        let twins = &by_skeleton[&skeleton(name)];
        // the teacher's name first: that is the one a look-alike is a worry for
        let other = teacher
            .filter(|t| t != name && twins.contains(t))
            .or_else(|| twins.iter().copied().find(|t| t != name));
        row.look_alike = other.map(str::to_string);
    }
}

/// The name `name` looks like among `others` and the teacher's, if any (for the log).
pub(crate) fn looks_like<'a>(
    name: &str,
    teacher: Option<&'a str>,
    others: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let own = skeleton(name);
    teacher
        .into_iter()
        .chain(others)
        .find(|o| *o != name && skeleton(o) == own)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::console::Place;

    fn row(name: &str) -> StudentRow {
        StudentRow {
            id: 0,
            name: name.into(),
            login: name.into(),
            addr: "127.0.0.1:1".into(),
            place: Place::Menu,
            quiz: None,
            training: crate::tui::console::TrainingStatus::None,
            idle: std::time::Duration::ZERO,
            on_step: None,
            connected: std::time::Duration::ZERO,
            following: false,
            look_alike: None,
            wrong_here: 0,
        }
    }

    #[test]
    fn a_cyrillic_letter_looks_like_the_teachers_name() {
        let mut rows = vec![row("t\u{0435}ach"), row("ana"), row("teach-2")];
        mark_look_alikes(&mut rows, Some("teach"));
        assert_eq!(rows[0].look_alike.as_deref(), Some("teach"));
        assert_eq!(rows[1].look_alike, None);
        assert_eq!(rows[2].look_alike, None);
    }

    #[test]
    fn two_students_who_look_alike_mark_each_other() {
        let mut rows = vec![row("sam1"), row("saml"), row("sam2")];
        mark_look_alikes(&mut rows, Some("teach"));
        assert_eq!(rows[0].look_alike.as_deref(), Some("saml"));
        assert_eq!(rows[1].look_alike.as_deref(), Some("sam1"));
        assert_eq!(rows[2].look_alike, None);
        assert_eq!(
            looks_like("s\u{0430}m2", None, ["sam1", "sam2"]),
            Some("sam2")
        );
        assert_eq!(looks_like("sam2", None, ["sam2"]), None);
    }
}
