//! Ten classes on the training screen: a ten-class grey folder trains through the
//! screen's worker, and at 80x24 the confusion matrix shows all ten columns (short names
//! with a legend), beside precision and recall; the settings preview warns as
//! `data check` does.

use std::path::Path;
use std::time::Duration;

use crate::common::worker::collect;

use crate::common::screen;
use cnn_tutor::backend::DeviceChoice;
use cnn_tutor::nn::net::Net;
use cnn_tutor::train::{ConfusionMatrix, EpochReport, Summary, TrainEvent};
use cnn_tutor::tui::training::{spawn_worker, TrainPrefs, TrainSettings, WorkerMsg};
use cnn_tutor::tui::{App, AppEvent, Key, KeyCode, Progress, Theme};
use image::{GrayImage, Luma};

const NAMES: [&str; 10] = [
    "arrow", "bars", "circle", "cross", "diamond", "hexagon", "plus", "ring", "square", "star",
];

/// `per_class` grey 32x32 PNGs per class: class k is a bright square at a place of its own.
fn ten_classes(root: &Path, per_class: usize) {
    for (k, name) in NAMES.iter().enumerate() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..per_class {
            let mut img = GrayImage::from_pixel(32, 32, Luma([20 + i as u8]));
            let (x0, y0) = ((k % 5) as u32 * 6, (k / 5) as u32 * 16);
            for y in y0..y0 + 8 {
                for x in x0..x0 + 6 {
                    img.put_pixel(x, y, Luma([250]));
                }
            }
            img.save(dir.join(format!("{i}.png"))).unwrap();
        }
    }
}

fn app_on(data: &Path, w: u16, h: u16) -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
    app.set_train_prefs(TrainPrefs {
        data_dir: data.to_path_buf(),
        ..TrainPrefs::default()
    });
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
    app.open_by_id("train").expect("train lesson");
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Enter)));
    app
}

/// The labels heading the matrix's columns (in its own box, after `act`).
fn matrix_columns(text: &str) -> Vec<String> {
    let header = text
        .lines()
        .find(|l| l.contains("act "))
        .unwrap_or_else(|| panic!("no column header:\n{text}"));
    // the matrix's own box: between the first two borders
    header
        .split('|')
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .map(ToString::to_string)
        .collect()
}

/// The ten short names the matrix heads its columns with (the first 3 letters fit).
fn header_has_all_ten(text: &str) {
    let cols = matrix_columns(text);
    let want: Vec<String> = NAMES.iter().map(|n| n[..3].to_string()).collect();
    assert!(
        cols.len() >= 10 && cols[..10] == want[..],
        "{cols:?}\n{text}"
    );
    assert!(
        text.contains("arr=arrow") && text.contains("sta=star"),
        "legend:\n{text}"
    );
}

#[test]
fn ten_grey_classes_train_on_the_screen_and_the_matrix_shows_every_column_at_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ten");
    ten_classes(&data, 3);
    let mut app = app_on(&data, 80, 24);
    // the preview counts ten classes and warns about the tiny ones, as data check does
    let preview = &app.training().unwrap().data;
    assert_eq!(preview.classes.len(), 10);
    assert!(preview
        .classes
        .iter()
        .all(|c| c.count == 3 && c.rgb.is_some()));
    assert!(
        preview
            .warnings
            .iter()
            .any(|w| w == "warning: class arrow has only 3 image(s) (fewer than 5): it may get none in the validation split"),
        "{:?}",
        preview.warnings
    );
    assert!(
        preview
            .warnings
            .iter()
            .any(|w| w.contains("not 128x128: they are resized")),
        "{:?}",
        preview.warnings
    );

    let settings = TrainSettings {
        epochs: 1,
        batch_size: 7,
        lr: 0.001,
        device: DeviceChoice::Cpu,
        seed: 1,
        network: 0,
        ..TrainSettings::default()
    };
    let (rx, handle) = spawn_worker(&settings, data.clone(), Some(2), None).unwrap();
    let msgs = collect(&rx, Duration::from_secs(120));
    handle.join();
    let t = app.training_mut().unwrap();
    t.begin();
    let mut finished = None;
    for m in msgs {
        if let WorkerMsg::Train(TrainEvent::Finished(s)) = &m {
            finished = Some((s.classes.clone(), s.confusion.counts.len()));
        }
        t.apply(m);
    }
    let (classes, rows) = finished.expect("the run finished");
    assert_eq!(classes, NAMES);
    assert_eq!(rows, 10);
    let text = screen(&app, 80, 24);
    header_has_all_ten(&text);
    assert!(text.contains("prec") && text.contains("recall"), "{text}");

    // these are not the shapes: `n` on the predict tab classifies a validation image
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char('4')));
    let text = screen(&app, 80, 24);
    assert!(text.contains("n new image"), "{text}");
    assert!(text.contains("random validation image"), "{text}");
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char('n')));
    let results = app.training().and_then(|t| t.results());
    let shown = results.and_then(|r| r.predict.shown.clone());
    let shown = shown.expect("a picture is shown");
    let class = shown
        .what
        .strip_prefix("validation image ")
        .and_then(|w| w.split_once(" ("))
        .map(|(_, c)| c.trim_end_matches(')').to_string())
        .unwrap_or_else(|| panic!("{:?}", shown.what));
    assert!(NAMES.contains(&class.as_str()), "{:?}", shown.what);
    assert_eq!(shown.probs.len(), 10);
    let sum: f32 = shown.probs.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "{sum}");
    let text = screen(&app, 80, 24);
    assert!(text.contains("The network says:"), "{text}");
}

#[test]
fn the_ten_class_matrix_at_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ten");
    ten_classes(&data, 5);
    let mut app = app_on(&data, 80, 24);
    let classes: Vec<String> = NAMES.iter().map(ToString::to_string).collect();
    results_for(&mut app, &classes, 3);
    let text = screen(&app, 80, 24);
    header_has_all_ten(&text);
    insta::assert_snapshot!("training_ten_classes_80x24", text);
    // the selected cell moves across all ten columns: the last one is reached
    for _ in 0..12 {
        cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Right)));
    }
    let text = screen(&app, 80, 24);
    assert!(text.contains("actually arrow, predicted star"), "{text}");
    header_has_all_ten(&text);
}

/// Results of one synthetic epoch for `names`: 30 validation images a class, 27 right
/// and 3 taken for the classes `1`, `1 + step` and `1 + 2 step` after it.
fn results_for(app: &mut App, names: &[String], step: usize) {
    let n = names.len();
    let t = app.training_mut().unwrap();
    t.begin();
    t.apply_event(TrainEvent::Started {
        train_size: 70 * n,
        split_size: 70 * n,
        val_size: 30 * n,
        batches_per_epoch: 14,
        epochs: 1,
        classes: names.to_vec(),
        device: "cpu (2 threads)".into(),
    });
    let report = EpochReport {
        epoch: 1,
        train_loss: 0.5,
        val_loss: 0.4,
        val_accuracy: 0.9,
        val_correct: 27 * n,
        val_size: 30 * n,
        train_images_per_second: 400.0,
        seconds: 2.0,
    };
    t.apply_event(TrainEvent::Epoch(report.clone()));
    let mut confusion = ConfusionMatrix::new(n);
    for a in 0..n {
        for _ in 0..27 {
            confusion.add(a, a);
        }
        for k in 0..3 {
            confusion.add(a, (a + 1 + k * step) % n);
        }
    }
    t.apply_event(TrainEvent::Finished(Box::new(Summary {
        epochs: vec![report],
        saved: None,
        seconds: 2.0,
        confusion,
        classes: names.to_vec(),
        net: Net::course(3, n),
        meta: Default::default(),
        growth: None,
    })));
}

#[test]
fn fifty_classes_scroll_in_the_matrix_and_every_tab_draws_at_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ten");
    ten_classes(&data, 5);
    let mut app = app_on(&data, 80, 24);
    let names: Vec<String> = (0..50).map(|i| format!("class{i:02}")).collect();
    results_for(&mut app, &names, 1);
    let text = screen(&app, 80, 24);
    assert!(text.contains("cols 1-"), "a window of the columns: {text}");
    assert!(text.contains("of 50)"), "{text}");
    // the cursor reaches the last column and row, and the window follows it
    for _ in 0..49 {
        cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Right)));
        cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Down)));
    }
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("-50, cols ") && text.contains("-50 of 50)"),
        "{text}"
    );
    // fifty names do not fit: the legend names the columns shown
    assert!(text.contains("50=class49"), "{text}");
    assert!(!text.contains("1=class00"), "{text}");
    let matrix_rows = text
        .lines()
        .filter(|l| l.contains("  27 ") || l.contains("[27]"))
        .count();
    assert!(matrix_rows >= 8, "the matrix keeps its rows: {text}");
    assert!(
        text.contains("actually class49, predicted class49"),
        "{text}"
    );
    for (w, h) in [(80, 24), (120, 40)] {
        cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
        for tab in ['2', '3', '4'] {
            cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char(tab)));
            let text = screen(&app, w, h);
            assert!(text.contains("Training"), "{w}x{h} tab {tab}:\n{text}");
        }
    }
    // the predict bars of fifty classes: the picture's verdict names the best one
    let t = app.training_mut().unwrap();
    let r = t.results_mut().unwrap();
    let mut probs = vec![0.1 / 49.0; 50];
    probs[37] = 0.9;
    r.predict.shown = Some(cnn_tutor::tui::training::PredictView {
        what: "a test picture".into(),
        rgb: vec![128; 128 * 128 * 3],
        probs,
        why: None,
    });
    for (w, h) in [(80, 24), (120, 40)] {
        cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
        let text = screen(&app, w, h);
        assert!(
            text.contains("The network says: class37 (90.0%)"),
            "{w}x{h}:\n{text}"
        );
        // the bars that fit are the most probable, the best first
        assert!(text.contains("Probabilities (top "), "{w}x{h}:\n{text}");
        let first_bar = text.lines().find(|l| l.contains("class")).unwrap_or("");
        assert!(first_bar.contains("class37"), "{w}x{h}:\n{text}");
    }
}

#[test]
fn ten_classes_of_any_names_show_every_column_at_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ten");
    ten_classes(&data, 5);
    let sets: [[&str; 10]; 4] = [
        [
            "T-shirt",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
        [
            "class_0", "class_1", "class_2", "class_3", "class_4", "class_5", "class_6", "class_7",
            "class_8", "class_9",
        ],
        [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        ],
        ["猫", "犬", "鳥", "魚", "馬", "牛", "羊", "豚", "鶏", "兎"],
    ];
    for names in sets {
        let mut app = app_on(&data, 80, 24);
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        results_for(&mut app, &names, 3);
        let text = screen(&app, 80, 24);
        let cols = matrix_columns(&text);
        assert_eq!(cols.len(), 10, "every column, {names:?}:\n{text}");
        assert!(!text.contains(" of 10)"), "no scrolling for ten:\n{text}");
        // each column's label is the class's name or stands for it in the legend
        for (c, name) in cols.iter().zip(&names) {
            assert!(
                c == name || text.contains(&format!("{c}={name}")),
                "{c} for {name}:\n{text}"
            );
        }
    }
}

#[test]
fn the_preview_shows_every_class_that_fits_and_counts_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ten");
    ten_classes(&data, 5);
    // 120x40: smaller pictures, so all ten show
    let app = app_on(&data, 120, 40);
    let text = screen(&app, 120, 40);
    for name in NAMES {
        assert!(text.contains(&format!("{name} (5)")), "{name}:\n{text}");
    }
    assert!(!text.contains("more classes"), "{text}");
    // 80x24: what fits, and a line for the others
    let app = app_on(&data, 80, 24);
    let text = screen(&app, 80, 24);
    let shown = NAMES
        .iter()
        .filter(|n| text.contains(&format!("{n} (5)")))
        .count();
    assert!((1..10).contains(&shown), "{shown}:\n{text}");
    assert!(
        text.contains(&format!(
            "+{} more classes: cnn-tutor data check",
            10 - shown
        )),
        "{text}"
    );
}
