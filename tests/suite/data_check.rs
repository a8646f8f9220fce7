//! `cnn-tutor data check`: the report on a crafted folder (broken file, duplicate, grey,
//! RGBA, a tiny class, mixed sizes), exit 1 when training would fail, one-line errors.

use std::path::Path;
use std::process::Command;

use cnn_tutor::data::check::{self, Severity};
use image::{GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// a/: 5 grey 128x128 PNGs and a broken one; b/: 4 RGBA 64x64 PNGs and a copy of a/0.png;
/// c/: 2 RGB JPEGs.
fn crafted(root: &Path) {
    for c in ["a", "b", "c"] {
        std::fs::create_dir_all(root.join(c)).unwrap();
    }
    for i in 0..5u8 {
        GrayImage::from_pixel(128, 128, Luma([i * 40]))
            .save(root.join(format!("a/{i}.png")))
            .unwrap();
    }
    std::fs::write(root.join("a/broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    for i in 0..4u8 {
        RgbaImage::from_pixel(64, 64, Rgba([i * 50, 0, 0, 128]))
            .save(root.join(format!("b/{i}.png")))
            .unwrap();
    }
    std::fs::copy(root.join("a/0.png"), root.join("b/copy.png")).unwrap();
    for i in 0..2u8 {
        RgbImage::from_pixel(128, 128, Rgb([0, i * 100, 200]))
            .save(root.join(format!("c/{i}.jpg")))
            .unwrap();
    }
}

#[test]
fn the_report_on_a_crafted_folder() {
    let tmp = tempfile::tempdir().unwrap();
    crafted(tmp.path());
    let r = check::check_folder(tmp.path()).unwrap();
    let counts: Vec<(&str, usize)> = r
        .classes
        .iter()
        .map(|c| (c.name.as_str(), c.count))
        .collect();
    assert_eq!(counts, [("a", 6), ("b", 5), ("c", 2)]);
    assert!(r.classes[0].first.as_ref().unwrap().ends_with("a/0.png"));
    assert_eq!(r.examined, 13);
    assert_eq!(r.sizes.get(&(128, 128)), Some(&8));
    assert_eq!(r.sizes.get(&(64, 64)), Some(&4));
    assert_eq!(r.modes.get("grey"), Some(&6));
    assert_eq!(r.modes.get("RGBA"), Some(&4));
    assert_eq!(r.modes.get("RGB"), Some(&2));
    assert_eq!(r.broken.len(), 1);
    assert!(r.broken[0].contains("broken.png"), "{}", r.broken[0]);
    assert_eq!(r.duplicates.len(), 1);
    assert!(r.duplicates[0][0].ends_with("a/0.png") && r.duplicates[0][1].ends_with("b/copy.png"));
    assert_eq!(r.cross_class_duplicates, 1);

    let ws = check::warnings(&r);
    let errors: Vec<&String> = ws
        .iter()
        .filter(|w| w.0 == Severity::Error)
        .map(|w| &w.1)
        .collect();
    assert_eq!(errors.len(), 1, "{ws:?}");
    assert!(errors[0].contains("1 broken file(s)"), "{}", errors[0]);
    let has = |s: &str| ws.iter().any(|(_, w)| w.contains(s));
    assert!(has("class c has only 2 image(s)"), "{ws:?}");
    assert!(
        has("very unbalanced classes: a has 6 images, c only 2"),
        "{ws:?}"
    );
    assert!(
        has("mixed sizes: 4 of 13 image(s) are not 128x128: they are resized to 128x128"),
        "{ws:?}"
    );
    assert!(
        has("1 duplicate image(s) in 1 group(s)") && has("across classes"),
        "{ws:?}"
    );
    assert!(r.fatal().unwrap().contains("training would fail"));

    // the command prints the same report and exits 1
    let (code, out, err) = cli(&["data", "check", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("3 class(es), 13 image(s)"), "{out}");
    assert!(out.contains("modes: grey (6), RGBA (4), RGB (2)"), "{out}");
    assert!(out.contains("sizes: 128x128 (8), 64x64 (4)"), "{out}");
    assert!(
        out.contains("broken files: 1") && out.contains("broken.png"),
        "{out}"
    );
    assert!(out.contains("a/0.png = b/copy.png"), "{out}");
    assert!(out.contains("warning: class c has only 2"), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("training would fail"), "{err}");

    // without the broken file it would train: exit 0, the warnings stay
    std::fs::remove_file(tmp.path().join("a/broken.png")).unwrap();
    let (code, out, _) = cli(&["data", "check", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("broken files: none") && out.contains("ok: training can start"),
        "{out}"
    );
    assert!(out.contains("warning: mixed sizes"), "{out}");
}

#[test]
fn one_class_or_no_folder_fails_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("only")).unwrap();
    RgbImage::new(128, 128)
        .save(tmp.path().join("only/x.png"))
        .unwrap();
    RgbImage::new(128, 128)
        .save(tmp.path().join("only/y.png"))
        .unwrap();
    let (code, out, err) = cli(&["data", "check", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("error: one class only (only)"), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let missing = tmp.path().join("nope");
    let (code, out, err) = cli(&["data", "check", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("nope") && err.contains("does not exist"),
        "{err}"
    );

    let file = tmp.path().join("only/x.png");
    let (code, _, err) = cli(&["data", "check", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("is not a folder"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // an empty class folder is named
    std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
    let (code, out, _) = cli(&["data", "check", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("error: class empty has no PNG or JPEG images"),
        "{out}"
    );
}

#[test]
fn a_generated_folder_is_fine() {
    let tmp = tempfile::tempdir().unwrap();
    cnn_tutor::data::generate(tmp.path(), 6, 2).unwrap();
    let (code, out, err) = cli(&["data", "check", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 class(es), 18 image(s)"), "{out}");
    assert!(out.contains("warnings: none"), "{out}");
    assert!(out.contains("duplicates: none"), "{out}");
}
