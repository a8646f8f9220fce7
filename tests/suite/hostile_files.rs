//! Hostile and nonsensical input files (issue 17, items 6, 7, 9-13): symlink loops in a
//! data folder, a PNG decompression bomb, escape codes in names and metadata, NaN and
//! zero-class checkpoints, a one-class folder, CMYK JPEGs, checkpoint housekeeping, and
//! a large paste or a partial escape sequence in the app's terminal. Each check is fast
//! and small: the bomb is a few hundred bytes that only declare 16000x16000 pixels.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cnn_tutor::data;
use cnn_tutor::nn::arch::Plan;
use cnn_tutor::nn::checkpoint::{self, CheckpointMeta};
use cnn_tutor::nn::net::Net;
use image::{Rgb, RgbImage};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"));
    c.env("NO_COLOR", "1");
    // a run `train` keeps goes to a temporary state folder
    c.env("CNN_TUTOR_STATE_DIR", crate::common::scratch_state());
    c
}

fn run(args: &[&str], cwd: &Path) -> Output {
    bin().args(args).current_dir(cwd).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn save_png(path: &Path, colour: [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_pixel(128, 128, Rgb(colour))
        .save(path)
        .unwrap();
}

/// `data/` with two classes of two images each.
fn two_classes(root: &Path) -> PathBuf {
    let d = root.join("data");
    save_png(&d.join("circle/a.png"), [255, 0, 0]);
    save_png(&d.join("circle/b.png"), [200, 0, 0]);
    save_png(&d.join("square/a.png"), [0, 0, 255]);
    save_png(&d.join("square/b.png"), [0, 0, 200]);
    d
}

// ---- item 6: symlink loops ------------------------------------------------------------

#[cfg(unix)]
#[test]
fn symlink_loops_are_skipped_with_a_warning_and_each_file_counts_once() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let d = two_classes(tmp.path());
    // two self-links (used to hang training at gigabytes), a link to the data folder
    // (used to label the other classes' images as this one), a link out of the class,
    // a second link to one file, and a class that is a link to another class
    symlink(".", d.join("circle/self1")).unwrap();
    symlink(".", d.join("circle/self2")).unwrap();
    symlink("..", d.join("square/up")).unwrap();
    symlink("../circle/a.png", d.join("square/stolen.png")).unwrap();
    symlink("a.png", d.join("circle/again.png")).unwrap();
    std::fs::create_dir(d.join("circle/deeper")).unwrap();
    symlink("../..", d.join("circle/deeper/root")).unwrap();
    symlink("circle", d.join("zz-copy")).unwrap();

    let (ds, notes) = data::load_folder_notes(&d).unwrap();
    assert_eq!(ds.classes, ["circle", "square"]);
    assert_eq!(ds.class_counts(), [2, 2], "{:?}", ds.files);
    let all = notes.join("\n");
    for name in [
        "self1",
        "self2",
        "square/up",
        "stolen.png",
        "deeper/root",
        "zz-copy",
    ] {
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("warning: skipped") && n.contains(name)),
            "no warning naming {name}: {all}"
        );
    }
    assert!(all.contains("same file as another"), "{all}");
    // the links' own files are not loaded twice
    assert!(!ds.files.iter().any(|f| f.ends_with("again.png")));
}

#[cfg(unix)]
#[test]
fn train_on_a_folder_with_two_self_links_warns_and_trains() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("shapes");
    data::generate(&d, 4, 5).unwrap();
    symlink(".", d.join("circle/loop1")).unwrap();
    symlink(".", d.join("circle/loop2")).unwrap();
    let out = tmp.path().join("m.safetensors");
    let o = run(
        &[
            "train",
            "--device",
            "cpu",
            "--epochs",
            "1",
            "--data",
            d.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("loop1") && err.contains("loop2"), "{err}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    // 12 images in all, each once
    let t = data::train_size(12);
    assert!(
        stdout.contains(&format!("{t} training and {} validation images", 12 - t)),
        "{stdout}"
    );
    assert!(out.exists());
}

// ---- item 7: decompression bombs ------------------------------------------------------

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid tiny PNG whose header then claims `w` x `h` pixels (IHDR patched, CRC fixed):
/// a decoder that trusted it would allocate w*h*3 bytes.
fn bomb_png(path: &Path, w: u32, h: u32) {
    let mut bytes = Vec::new();
    RgbImage::from_pixel(1, 1, Rgb([9, 9, 9]))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    // signature (8), length (4), "IHDR" at 12..16, width 16..20, height 20..24, ..., CRC
    assert_eq!(&bytes[12..16], b"IHDR");
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_png_declaring_16000x16000_is_refused_from_its_header() {
    let tmp = tempfile::tempdir().unwrap();
    let bomb = tmp.path().join("bomb.png");
    bomb_png(&bomb, 16000, 16000);
    let e = data::load_image(&bomb).unwrap_err().to_string();
    assert!(e.contains("bomb.png"), "{e}");
    assert!(
        e.contains("16000x16000 pixels (256 megapixels) is over the 64-megapixel limit"),
        "{e}"
    );
    // a size within the limit is not refused for its size (it fails later, as the data
    // is short; the point is that the size check passed; the exact bound is a unit test)
    bomb_png(&bomb, 1000, 1000);
    let e = data::load_image(&bomb).unwrap_err().to_string();
    assert!(!e.contains("megapixel"), "{e}");
}

#[test]
fn bombs_in_a_training_folder_and_for_predict_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let d = two_classes(tmp.path());
    bomb_png(&d.join("circle/huge.png"), 16000, 16000);
    let e = data::load_folder(&d).unwrap_err().to_string();
    assert!(e.contains("huge.png") && e.contains("megapixel"), "{e}");

    let model = tmp.path().join("net.safetensors");
    save_net(
        &model,
        &Net::course(1, 3),
        &["circle", "square", "triangle"],
    );
    let o = run(
        &[
            "predict",
            "--model",
            model.to_str().unwrap(),
            d.join("circle/huge.png").to_str().unwrap(),
        ],
        tmp.path(),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("huge.png: 16000x16000 pixels"), "{err}");
}

#[test]
fn a_jpeg_over_the_limit_is_refused_too() {
    // a real JPEG of 8x8 whose SOF0 header is patched to claim 20000x20000
    let mut bytes = Vec::new();
    RgbImage::from_pixel(8, 8, Rgb([90, 90, 90]))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG");
    // FF C0, length (2), precision (1), height (2), width (2)
    bytes[sof + 5..sof + 7].copy_from_slice(&20000u16.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&20000u16.to_be_bytes());
    let e = data::folder::decode_jpeg(&bytes).unwrap_err();
    assert!(e.contains("20000x20000 pixels (400 megapixels)"), "{e}");
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("big.jpg");
    std::fs::write(&p, &bytes).unwrap();
    let e = data::load_image(&p).unwrap_err().to_string();
    assert!(
        e.contains("big.jpg") && e.contains("64-megapixel limit"),
        "{e}"
    );
}

// ---- item 9: escape codes from files --------------------------------------------------

const HOSTILE: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";

fn save_net(path: &Path, net: &Net, classes: &[&str]) {
    let meta = CheckpointMeta {
        classes: classes.iter().map(|c| c.to_string()).collect(),
        settings: Default::default(),
    };
    checkpoint::save(path, net, &meta).unwrap();
}

fn assert_no_controls(what: &str, bytes: &[u8]) {
    let s = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = s.chars().filter(|&c| c.is_control() && c != '\n').collect();
    assert!(bad.is_empty(), "{what} has control characters {bad:?}: {s}");
}

#[test]
fn escape_codes_in_class_names_and_file_names_reach_no_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let d = two_classes(tmp.path());
    let model = tmp.path().join("net.safetensors");
    save_net(&model, &Net::course(1, 2), &[HOSTILE, "b\u{1b}[31m"]);
    let img = d.join("circle/a.png");

    let o = run(
        &[
            "predict",
            "--model",
            model.to_str().unwrap(),
            img.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_no_controls("predict's output", &o.stdout);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("evil\\e]0;pwned\\x07\\e[2J\\u{9b}31m"),
        "{out}"
    );

    // evaluate: the names differ from the folders' (a note) and show in the report
    let o = run(
        &[
            "evaluate",
            "--device",
            "cpu",
            "--model",
            model.to_str().unwrap(),
            "--data",
            d.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_no_controls("evaluate's output", &o.stdout);
    assert_no_controls("evaluate's notes", &o.stderr);
    assert!(stderr(&o).contains("evil\\e]0;"), "{}", stderr(&o));

    // the JSON forms stay exact (JSON escapes control characters itself)
    let o = run(
        &[
            "predict",
            "--json",
            "--model",
            model.to_str().unwrap(),
            img.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_no_controls("predict --json", &o.stdout);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["classes"][0], HOSTILE);

    // a folder name in an error message
    let evil_dir = d.join(format!("{HOSTILE}class"));
    std::fs::create_dir(&evil_dir).unwrap();
    let o = run(
        &[
            "evaluate",
            "--device",
            "cpu",
            "--model",
            model.to_str().unwrap(),
            "--data",
            d.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_no_controls("the error", &o.stderr);
    assert!(stderr(&o).contains("evil\\e]0;pwned"), "{}", stderr(&o));
}

// ---- item 10: models and data that make no sense --------------------------------------

#[test]
fn a_checkpoint_with_a_nan_or_infinite_weight_is_refused_naming_the_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("nan.safetensors");
    let mut net = Net::course(1, 3);
    let fc = net
        .params
        .iter()
        .position(|p| p.name == "conv2.weight")
        .unwrap();
    net.params[fc].data[7] = f32::NAN;
    save_net(&model, &net, &["circle", "square", "triangle"]);
    let e = checkpoint::load(&model).unwrap_err().to_string();
    assert!(
        e.contains("nan.safetensors") && e.contains("`conv2.weight`") && e.contains("index 7"),
        "{e}"
    );
    assert!(e.contains("NaN"), "{e}");

    net.params[fc].data[7] = f32::INFINITY;
    save_net(&model, &net, &["circle", "square", "triangle"]);
    let e = checkpoint::load(&model).unwrap_err().to_string();
    assert!(e.contains("`conv2.weight`") && e.contains("inf"), "{e}");

    // and evaluate exits non-zero with that one line, not "33%"
    let d = tmp.path().join("shapes");
    data::generate(&d, 2, 3).unwrap();
    let o = run(
        &[
            "evaluate",
            "--device",
            "cpu",
            "--model",
            model.to_str().unwrap(),
            "--data",
            d.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("conv2.weight"), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Accuracy"));
}

/// A state_dict of the seed's shapes with `classes` outputs, written directly.
fn write_state_dict(path: &Path, classes: usize) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = Plan::course(3)
        .tensors
        .iter()
        .map(|t| {
            // the last layer's outputs are the classes (any number, 0 too)
            let mut shape = t.shape.clone();
            if t.name.starts_with("fc.") {
                shape[0] = classes;
            }
            let n: usize = shape.iter().product();
            (
                t.name.clone(),
                shape,
                vec![0u8; n * std::mem::size_of::<f32>()],
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    let meta: HashMap<String, String> = [("classes".to_string(), "[]".to_string())].into();
    std::fs::write(path, safetensors::serialize(views, &Some(meta)).unwrap()).unwrap();
}

#[test]
fn a_checkpoint_with_zero_or_one_class_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for classes in [0, 1] {
        let model = tmp.path().join(format!("c{classes}.safetensors"));
        write_state_dict(&model, classes);
        let e = checkpoint::load(&model).unwrap_err().to_string();
        assert!(
            e.contains(&format!("has {classes} class(es)")) && e.contains("at least two"),
            "{e}"
        );
        let img = tmp.path().join("a.png");
        save_png(&img, [1, 2, 3]);
        let o = run(
            &[
                "predict",
                "--model",
                model.to_str().unwrap(),
                img.to_str().unwrap(),
            ],
            tmp.path(),
        );
        assert_eq!(o.status.code(), Some(1));
        assert!(!String::from_utf8_lossy(&o.stdout).contains("? ("));
    }
}

#[test]
fn a_folder_with_one_class_is_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("one");
    for i in 0..6 {
        save_png(&d.join(format!("circle/{i}.png")), [i * 40, 0, 0]);
    }
    let out = tmp.path().join("m.safetensors");
    let o = run(
        &[
            "train",
            "--device",
            "cpu",
            "--data",
            d.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("1 class folder(s)") && err.contains("at least two"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Epoch"));
    assert!(!out.exists());
}

// ---- item 11: CMYK JPEGs --------------------------------------------------------------

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn cmyk_jpegs_decode_to_pils_rgb_exactly() {
    // cmyk.jpg and Pillow's convert("RGB") of it, both made by tests/fixtures/make_cmyk.py
    let bytes = std::fs::read(fixture("cmyk.jpg")).unwrap();
    let want = std::fs::read(fixture("cmyk.rgb")).unwrap();
    let rgb = data::folder::decode_jpeg(&bytes).unwrap();
    assert_eq!(rgb.dimensions(), (24, 16));
    let diff = rgb
        .as_raw()
        .iter()
        .zip(&want)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        diff,
        0,
        "{diff} of {} values differ from Pillow's",
        want.len()
    );
    // through the loader too (resized to 128x128 like any other image)
    let loaded = data::decode_image(&fixture("cmyk.jpg")).unwrap();
    assert_eq!(loaded.original_size, (24, 16));
}

#[test]
fn cmyk_conversion_is_pils_formula() {
    // libjpeg's raw samples are inverted (Adobe), then PIL's cmyk2rgb
    assert_eq!(data::cmyk_to_rgb(&[255, 255, 255, 255]), [255, 255, 255]);
    assert_eq!(data::cmyk_to_rgb(&[0, 255, 255, 255]), [0, 255, 255]);
    assert_eq!(data::cmyk_to_rgb(&[255, 255, 255, 0]), [0, 0, 0]);
    // c = 255 - 155 = 100, k = 255 - 205 = 50: nk = 205, 205 - 100*205/255 (rounded) = 125
    assert_eq!(data::cmyk_to_rgb(&[155, 255, 255, 205]), [125, 205, 205]);
}

// ---- item 12: checkpoint housekeeping -------------------------------------------------

#[test]
fn a_parent_that_is_a_file_and_a_second_training_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("shapes");
    data::generate(&d, 2, 3).unwrap();
    std::fs::write(tmp.path().join("models"), "not a folder").unwrap();
    let args = |out: &str| {
        vec![
            "train".to_string(),
            "--device".into(),
            "cpu".into(),
            "--epochs".into(),
            "1".into(),
            "--data".into(),
            d.to_str().unwrap().into(),
            "--out".into(),
            out.into(),
        ]
    };
    let o = bin()
        .args(args("models/m.safetensors"))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("models is a file, not a folder"), "{err}");
    assert!(!err.contains("os error"), "{err}");

    // a training holding the lock on an --out: a second one is refused at once
    let out = tmp.path().join("m.safetensors");
    let held = cnn_tutor::fsutil::lock_output(&out).unwrap();
    let o = bin()
        .args(args(out.to_str().unwrap()))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("being written by another training"), "{err}");
    assert!(!out.exists());
    drop(held);
    let o = bin()
        .args(args(out.to_str().unwrap()))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.exists());
}

#[cfg(unix)]
#[test]
fn a_stale_temporary_checkpoint_is_cleaned_on_the_next_save() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("net.safetensors");
    // what a writer killed with -9 leaves: our temporary name, a minute old or more
    let stale = tmp.path().join(".net.safetensors.cnn-tutor-Q1w2E3.tmp");
    std::fs::write(&stale, b"half a checkpoint").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(120))
        .unwrap();
    save_net(
        &model,
        &Net::course(1, 3),
        &["circle", "square", "triangle"],
    );
    assert!(!stale.exists());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["net.safetensors"]);
}

// ---- item 13: the app's terminal: a large paste, Ctrl-C after a partial sequence ---------

#[cfg(target_os = "linux")]
use crate::common::pty;

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_after_a_partial_escape_sequence_quits_at_once() {
    use std::time::Duration;
    let mut app = pty::App::start();
    app.send(b"\x1b[1");
    std::thread::sleep(Duration::from_millis(300));
    app.send(b"\x03");
    let status = app.exit_within(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "Ctrl-C did not quit: {status:?}"
    );
    // the terminal was put back: bracketed paste off, alternate screen left (the last
    // bytes may still be on their way to the reader thread)
    assert!(
        app.output_within(b"\x1b[?1049l", Duration::from_secs(5)),
        "{:?}",
        app.output()
    );
    let out = app.output();
    assert!(
        out.contains("\x1b[?2004l") && out.contains("\x1b[?1049l"),
        "{out:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_large_paste_neither_stalls_nor_deadlocks_the_app() {
    use std::time::Duration;
    // 100 KB typed at once (a terminal without bracketed paste, or tmux paste-buffer),
    // written by a blocking writer, then Ctrl-C: with crossterm's edge-triggered reader
    // this stalled part-way, the writer blocked and Ctrl-C never arrived
    let mut app = pty::App::start();
    app.send_in_background(vec![b'x'; 100 * 1024], b"\x03");
    let status = app.exit_within(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "stalled: {status:?}");

    // the same as a bracketed paste: one event, then Ctrl-C
    let mut app = pty::App::start();
    let mut paste = b"\x1b[200~".to_vec();
    paste.extend(std::iter::repeat_n(b'q', 100 * 1024));
    paste.extend_from_slice(b"\x1b[201~");
    app.send_in_background(paste, b"j");
    // a pasted 'q' is text, not the quit key: the app is still there after it
    std::thread::sleep(Duration::from_millis(1500));
    assert!(app.running(), "the paste acted as keys: {}", app.output());
    app.send(b"\x03");
    let status = app.exit_within(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "stalled: {status:?}");
}

#[test]
fn a_paste_into_the_edit_field_takes_what_fits_and_nothing_acts_as_a_key() {
    use cnn_tutor::tui::{App, AppEvent, Key, KeyCode, Progress, Screen, Theme};
    let lessons = cnn_tutor::lesson::builtin().expect("built-in lessons load");
    let mut app = App::new(lessons, Theme::new(true, false), Progress::new());
    app.open_by_id("convolution").expect("opens");
    assert!(matches!(app.screen(), Screen::Lesson(_)));
    // outside a field a paste does nothing: its 'q' does not quit
    cnn_tutor::tui::apply(&mut app, AppEvent::Paste("q".repeat(100_000)));
    assert!(!app.should_quit());
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char('e')));
    let input = |app: &App| {
        app.lesson_state()
            .and_then(|s| s.edit.as_ref())
            .map(|e| e.input.clone())
    };
    assert_eq!(input(&app).as_deref(), Some(""));
    // a huge paste: the field holds 10 characters of a number, one event
    cnn_tutor::tui::apply(
        &mut app,
        AppEvent::Paste(format!("  -12.5{}\n", "9".repeat(100_000))),
    );
    assert_eq!(input(&app).as_deref(), Some("-12.599999"));
    assert!(!app.should_quit());
    // text that is not a number stops at its first other character
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Esc)));
    cnn_tutor::tui::apply(&mut app, AppEvent::Paste("3\u{1b}[2Jq".into()));
    assert_eq!(input(&app).as_deref(), Some("3"));
    assert!(!app.should_quit());
}
