//! Reading and checking the fields of a lesson file: where an error points (file, line,
//! field), and the checks several kinds share (matrices, numbers, small integers).
//!
//! Every message is made safe to print here ([`crate::text::escaped`]): it may quote what
//! the file holds.

use std::ops::Range;

use ndarray::Array2;
use serde::de::DeserializeOwned;
use toml::Spanned;

use crate::{Error, Result};

/// A matrix as a lesson file writes it: rows of numbers.
pub(crate) type Matrix = Vec<Vec<f32>>;

/// Largest image or filter side: every cell becomes a step, and the grid must fit a terminal.
pub(crate) const MAX_SIDE: usize = 16;
/// Largest magnitude accepted for any number in a lesson file or an edit.
pub(crate) const MAX_ABS: f32 = 1.0e6;

/// A lesson error, with any control character of it escaped.
pub(crate) fn fail(msg: impl std::fmt::Display) -> Error {
    Error::Lesson(crate::text::escaped(&msg.to_string()).into_owned())
}

/// 1-based line and column of byte offset `at` in `text`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
        + 1;
    (line, col)
}

/// The lesson file being read: its name and text (where errors point), and its kind.
pub(crate) struct Ctx<'a> {
    /// How errors name the file.
    pub name: &'a str,
    /// The whole file.
    pub text: &'a str,
    /// The `kind` the file names (`convolution`).
    pub kind: &'static str,
    /// Where the file says `kind = ...` (errors about a missing field point there).
    pub kind_span: Range<usize>,
}

impl Ctx<'_> {
    /// `file: line L, column C: field `F`: msg`.
    pub fn err(&self, span: Range<usize>, field: &str, msg: impl std::fmt::Display) -> Error {
        let (line, col) = line_col(self.text, span.start);
        fail(format!(
            "{}: line {line}, column {col}: field `{field}`: {msg}",
            self.name
        ))
    }

    /// Read `T` from the file; fields `T` does not have are ignored here (the loader has
    /// already refused those no part of the lesson takes).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        parse(self.name, self.text)
    }

    /// The error for a field the kind needs but the file leaves out.
    pub fn missing(&self, field: &str) -> Error {
        self.err(
            self.kind_span.clone(),
            field,
            format!("a {} lesson needs `{field}`", self.kind),
        )
    }

    /// An optional whole number: its value (or `default`), refused outside `lo..=hi`
    /// with "use {what} from {lo} to {hi}{unit}".
    pub fn int_in(
        &self,
        field: &str,
        v: &Option<Spanned<usize>>,
        default: usize,
        (lo, hi): (usize, usize),
        what: &str,
    ) -> Result<usize> {
        let Some(s) = v else {
            return Ok(default);
        };
        let n = *s.get_ref();
        if n < lo || n > hi {
            return Err(self.err(s.span(), field, format!("use {what} from {lo} to {hi}")));
        }
        Ok(n)
    }

    /// A rectangular matrix of usable numbers, at most `max_rows` x `max_cols`.
    pub fn matrix(
        &self,
        field: &str,
        m: &Spanned<Matrix>,
        (max_rows, max_cols): (usize, usize),
    ) -> Result<Array2<f32>> {
        let rows = m.get_ref();
        if rows.is_empty() || rows[0].is_empty() {
            return Err(self.err(m.span(), field, "the matrix is empty"));
        }
        let cols = rows[0].len();
        for (i, r) in rows.iter().enumerate() {
            if r.len() != cols {
                return Err(self.err(
                    m.span(),
                    field,
                    format!(
                        "ragged matrix: row 1 has {cols} values but row {} has {}",
                        i + 1,
                        r.len()
                    ),
                ));
            }
            self.numbers(field, m.span(), r)?;
        }
        if rows.len() > max_rows || cols > max_cols {
            return Err(self.err(
                m.span(),
                field,
                format!(
                    "{}x{cols} is too big to step through; use at most {max_rows}x{max_cols}",
                    rows.len()
                ),
            ));
        }
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Array2::from_shape_vec((rows.len(), cols), flat)
            .map_err(|e| self.err(m.span(), field, e.to_string()))
    }

    /// Refuse numbers that are not finite or bigger than [`MAX_ABS`].
    pub fn numbers(&self, field: &str, span: Range<usize>, v: &[f32]) -> Result<()> {
        if let Some(x) = v.iter().find(|x| !x.is_finite() || x.abs() > MAX_ABS) {
            return Err(self.err(
                span,
                field,
                format!("{x} is not a usable number (finite, at most one million in size)"),
            ));
        }
        Ok(())
    }
}

/// Read `T` from lesson file `name`; a TOML or type error names the line and column.
pub(crate) fn parse<T: DeserializeOwned>(name: &str, text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| toml_error(name, text, &e))
}

/// Read `A` and `B` from the same file, as one struct with the fields of both would be
/// read: when both meet a field of the wrong type, the error is the one about the field
/// that comes first in the file (toml reads a table in the file's order and stops at the
/// first wrong value). This is how an image kind's own fields and the shared
/// [`crate::lesson::kinds::maps::ImageFile`] are read with every error's line and column
/// (a `#[serde(flatten)]`ed struct's `toml::Spanned` fields would lose them).
pub(crate) fn parse_both<A: DeserializeOwned, B: DeserializeOwned>(
    name: &str,
    text: &str,
) -> Result<(A, B)> {
    let at = |e: &toml::de::Error| e.span().map_or(usize::MAX, |s| s.start);
    match (toml::from_str::<A>(text), toml::from_str::<B>(text)) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(toml_error(name, text, &e)),
        (Err(ea), Err(eb)) => {
            let first = if at(&eb) < at(&ea) { eb } else { ea };
            Err(toml_error(name, text, &first))
        }
    }
}

/// A TOML or type error of lesson file `name`, with its line and column when it has them.
fn toml_error(name: &str, text: &str, e: &toml::de::Error) -> Error {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            fail(format!("{name}: line {line}, column {col}: {msg}"))
        }
        None => fail(format!("{name}: {msg}")),
    }
}

/// The field names of struct `T` in declaration order, as serde knows them (so a kind's
/// fields are written once, in its file struct).
pub(crate) fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};

    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(
            self,
            _: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Two {
        first: Option<u8>,
        second_one: Option<String>,
    }

    #[derive(serde::Deserialize)]
    struct Empty {}

    #[test]
    fn field_names_come_from_the_struct() {
        assert_eq!(field_names::<Two>(), ["first", "second_one"]);
        assert!(field_names::<Empty>().is_empty());
    }

    #[test]
    fn lines_and_columns_count_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn messages_carry_no_control_characters() {
        let Error::Lesson(msg) = fail("a\u{1b}]0;x\u{7}b") else {
            panic!()
        };
        assert_eq!(msg, "a\\e]0;x\\x07b");
    }
}
