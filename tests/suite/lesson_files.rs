//! Lesson files from a folder (`--lessons DIR`): good files load in name order, and every
//! kind of mistake gets one line naming the file, the line and the field.

use std::fs;
use std::path::Path;

use cnn_tutor::lesson::{self, Lesson};
use cnn_tutor::Error;

const GOOD: &str = r#"id = "my-edges"
title = "My edges"
summary = "A teacher's own image and filter."
kind = "convolution"
image = [
  [0, 0, 9, 9],
  [0, 0, 9, 9],
  [0, 0, 9, 9],
  [0, 0, 9, 9],
]
kernel = [
  [-1, 0, 1],
  [-1, 0, 1],
  [-1, 0, 1],
]

[text]
intro = "Hello."
step = "Row {row}, column {col}: {value}."
"#;

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

fn lesson_err(dir: &Path) -> String {
    match lesson::load_dir(dir) {
        Err(Error::Lesson(msg)) => {
            eprintln!("{msg}");
            msg
        }
        Err(other) => panic!("expected a lesson error, got {other:?}"),
        Ok(l) => panic!("expected an error, loaded {} lessons", l.len()),
    }
}

fn one_file_err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "03-pooling.toml", text);
    let msg = lesson_err(dir.path());
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(msg.contains("03-pooling.toml"), "names the file: {msg}");
    msg
}

#[test]
fn a_teachers_folder_loads_in_file_name_order() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.toml", GOOD);
    write(
        dir.path(),
        "a.toml",
        &GOOD
            .replace("my-edges", "first")
            .replace("My edges", "First"),
    );
    write(dir.path(), "notes.txt", "not a lesson");
    let lessons = lesson::load(Some(dir.path())).unwrap();
    let ids: Vec<&str> = lessons.iter().map(Lesson::id).collect();
    assert_eq!(ids, ["first", "my-edges"]);
    let frames = lessons[1].frames().unwrap();
    // intro, 4 windows (no edge fill: a 2x2 map), finished map, closing
    assert_eq!(frames.len(), 7);
    assert_eq!(frames[1].text, vec!["Row 1, column 1: 27.".to_string()]);
}

#[test]
fn the_readme_example_loads() {
    // lessons/README.md carries a complete example between ```toml fences
    let readme = include_str!("../../lessons/README.md");
    let start = readme.find("```toml\n").expect("a toml example") + 8;
    let end = start + readme[start..].find("```").unwrap();
    let l = Lesson::parse("README.md", &readme[start..end]).unwrap();
    assert!(!l.frames().unwrap().is_empty());
}

#[test]
fn a_typo_in_a_field_name_names_file_line_and_field() {
    let text = GOOD.replace(
        "kind = \"convolution\"",
        "kind = \"pooling\"\npool_sise = 2",
    );
    let msg = one_file_err(&text);
    assert!(msg.contains("line 5"), "{msg}");
    assert!(msg.contains("unknown field `pool_sise`"), "{msg}");
}

#[test]
fn bad_toml_syntax_names_the_line() {
    let text = GOOD.replace("title = \"My edges\"", "title = \"My edges");
    let msg = one_file_err(&text);
    assert!(msg.contains("line 2"), "{msg}");
}

#[test]
fn a_ragged_matrix_is_refused() {
    let text = GOOD.replace(
        "  [0, 0, 9, 9],\n  [0, 0, 9, 9],\n]",
        "  [0, 0, 9, 9],\n  [0, 0, 9],\n]",
    );
    let msg = one_file_err(&text);
    assert!(msg.contains("`image`"), "{msg}");
    assert!(msg.contains("ragged"), "{msg}");
    assert!(msg.contains("line 5"), "{msg}");
}

#[test]
fn a_filter_bigger_than_the_image_is_refused() {
    let text = GOOD.replace(
        "image = [\n  [0, 0, 9, 9],\n  [0, 0, 9, 9],\n  [0, 0, 9, 9],\n  [0, 0, 9, 9],\n]",
        "image = [[1, 2], [3, 4]]",
    );
    let msg = one_file_err(&text);
    assert!(msg.contains("`kernel`") && msg.contains("bigger"), "{msg}");
}

#[test]
fn a_probability_outside_zero_to_one_is_refused() {
    let text = r#"id = "d"
title = "D"
kind = "dropout"
image = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
kernel = [[1]]
dropout_p = 1.5
"#;
    let msg = one_file_err(text);
    assert!(
        msg.contains("line 6") && msg.contains("`dropout_p`"),
        "{msg}"
    );
}

#[test]
fn an_unknown_kind_is_refused() {
    let msg = one_file_err(&GOOD.replace("kind = \"convolution\"", "kind = \"convolutoin\""));
    assert!(
        msg.contains("line 4") && msg.contains("convolutoin"),
        "{msg}"
    );
}

#[test]
fn a_field_the_kind_does_not_use_is_refused() {
    let msg = one_file_err(&GOOD.replace(
        "kind = \"convolution\"",
        "kind = \"convolution\"\ndropout_p = 0.5",
    ));
    assert!(
        msg.contains("`dropout_p`") && msg.contains("line 5"),
        "{msg}"
    );
}

#[test]
fn a_missing_input_is_named() {
    let text = "id = \"x\"\ntitle = \"X\"\nkind = \"relu\"\n";
    let msg = one_file_err(text);
    assert!(msg.contains("needs `image`"), "{msg}");
}

#[test]
fn an_unknown_placeholder_is_refused() {
    let msg = one_file_err(&GOOD.replace("{value}", "{valeu}"));
    assert!(
        msg.contains("text.step") && msg.contains("{valeu}"),
        "{msg}"
    );
}

#[test]
fn fully_connected_sizes_must_agree() {
    let text = r#"id = "fc"
title = "FC"
kind = "fully-connected"
inputs = [1, 2]
weights = [[1, 2], [3, 4], [5, 6, 7]]
"#;
    let msg = one_file_err(text);
    assert!(msg.contains("ragged"), "{msg}");
    let text = text
        .replace("[5, 6, 7]", "[5, 6]")
        .replace("[1, 2]\n", "[1, 2, 3]\n");
    let msg = one_file_err(&text);
    assert!(
        msg.contains("`weights`") && msg.contains("one weight per input"),
        "{msg}"
    );
}

#[test]
fn duplicate_ids_name_both_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.toml", GOOD);
    write(dir.path(), "b.toml", GOOD);
    let msg = lesson_err(dir.path());
    assert!(
        msg.contains("duplicate") && msg.contains("a.toml") && msg.contains("b.toml"),
        "{msg}"
    );
}

#[test]
fn an_empty_or_missing_folder_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    assert!(lesson::load_dir(dir.path()).is_err());
    assert!(lesson::load_dir(&dir.path().join("nope")).is_err());
}

#[test]
fn odd_but_valid_numbers_do_not_panic() {
    // stride 2 and padding 1, a 1x1 image under a 3x3 filter thanks to padding
    let text = GOOD.replace(
        "kind = \"convolution\"",
        "kind = \"convolution\"\nstride = 2\npadding = 1",
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.toml", &text);
    let l = &lesson::load_dir(dir.path()).unwrap()[0];
    let frames = l.frames().unwrap();
    assert_eq!(frames.len(), 1 + 4 + 2);
    let tiny = "id = \"t\"\ntitle = \"T\"\nkind = \"pooling\"\nimage = [[5]]\nkernel = [[2]]\npool_size = 1\n";
    let l = Lesson::parse("t.toml", tiny).unwrap();
    assert!(!l.frames().unwrap().is_empty());
    let too_big = tiny.replace("pool_size = 1", "pool_size = 2");
    assert!(Lesson::parse("t.toml", &too_big).is_err());
}

#[test]
fn sizes_too_big_to_step_through_are_refused() {
    let row = format!("[{}]", vec!["1"; 17].join(", "));
    let big = format!("[{}]", vec![row.as_str(); 17].join(", "));
    let text = format!(
        "id = \"b\"\ntitle = \"B\"\nkind = \"convolution\"\nimage = {big}\nkernel = [[1]]\n"
    );
    let msg = one_file_err(&text);
    assert!(msg.contains("`image`") && msg.contains("16x16"), "{msg}");

    let row = format!("[{}]", vec!["1"; 16].join(", "));
    let img = format!("[{}]", vec![row.as_str(); 16].join(", "));
    let kernels = "[[[1]], [[2]], [[3]]]";
    let text = format!(
        "id = \"f\"\ntitle = \"F\"\nkind = \"flatten\"\nimage = {img}\nkernels = {kernels}\n"
    );
    let msg = one_file_err(&text);
    assert!(msg.contains("768 values"), "{msg}");
    // with pooling it fits: 3 x 8 x 8 = 192
    let ok = text.replace("kernels =", "pool_size = 2\nkernels =");
    let l = Lesson::parse("f.toml", &ok).unwrap();
    assert_eq!(l.frames().unwrap().len(), 192 + 2);
}

#[test]
fn a_placeholder_where_nothing_fills_it_is_refused() {
    let msg = one_file_err(&GOOD.replace("intro = \"Hello.\"", "intro = \"Hello {row}.\""));
    assert!(
        msg.contains("text.intro") && msg.contains("no placeholders"),
        "{msg}"
    );
}
