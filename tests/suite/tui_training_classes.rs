//! Ten classes on the training screen: a ten-class grey folder trains through the
//! screen's worker, and at 80x24 the confusion matrix shows all ten columns (short names
//! with a legend), beside precision and recall; the settings preview warns as
//! `data check` does.

use std::path::Path;
use std::time::Duration;

use crate::common::worker::collect;

use cnn_tutor::backend::DeviceChoice;
use cnn_tutor::nn::net::ShapesNet;
use cnn_tutor::train::{ConfusionMatrix, EpochReport, Summary, TrainEvent};
use cnn_tutor::tui::training::{spawn_worker, TrainPrefs, TrainSettings, WorkerMsg};
use cnn_tutor::tui::{buffer_text, render, App, AppEvent, Key, KeyCode, Progress, Theme};
use image::{GrayImage, Luma};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

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

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal.draw(|f| render(app, f)).expect("draw");
    buffer_text(terminal.backend().buffer())
}

fn app_on(data: &Path, w: u16, h: u16) -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
    app.set_train_prefs(TrainPrefs {
        data_dir: data.to_path_buf(),
        ..TrainPrefs::default()
    });
    app.handle(AppEvent::Resize(w, h));
    app.open_by_id("train").expect("train lesson");
    app.handle(AppEvent::Key(Key::new(KeyCode::Enter)));
    app
}

/// The ten short names the matrix heads its columns with (the first 3 letters fit).
fn header_has_all_ten(text: &str) {
    let header = text
        .lines()
        .find(|l| l.contains("act "))
        .unwrap_or_else(|| panic!("no column header:\n{text}"));
    // the matrix's own box: between the first two borders
    let cols: Vec<&str> = header
        .split('|')
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let want: Vec<String> = NAMES.iter().map(|n| n[..3].to_string()).collect();
    assert!(
        cols.len() >= 11 && cols[1..11] == want[..],
        "header {header:?}\n{text}"
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
    app.handle(AppEvent::Key(Key::char('4')));
    let text = screen(&app, 80, 24);
    assert!(text.contains("n new image"), "{text}");
    assert!(text.contains("random validation image"), "{text}");
    app.handle(AppEvent::Key(Key::char('n')));
    let shown = app
        .training()
        .unwrap()
        .results()
        .unwrap()
        .predict
        .shown
        .clone();
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
    let t = app.training_mut().unwrap();
    t.begin();
    let classes: Vec<String> = NAMES.iter().map(ToString::to_string).collect();
    t.apply_event(TrainEvent::Started {
        train_size: 700,
        val_size: 300,
        batches_per_epoch: 14,
        epochs: 1,
        classes: classes.clone(),
        device: "cpu (2 threads)".into(),
    });
    let report = EpochReport {
        epoch: 1,
        train_loss: 0.5,
        val_loss: 0.4,
        val_accuracy: 0.9,
        val_correct: 270,
        val_size: 300,
        train_images_per_second: 400.0,
        seconds: 2.0,
    };
    t.apply_event(TrainEvent::Epoch(report.clone()));
    let mut confusion = ConfusionMatrix::new(10);
    for a in 0..10 {
        for _ in 0..27 {
            confusion.add(a, a);
        }
        for k in 0..3 {
            confusion.add(a, (a + 1 + k * 3) % 10);
        }
    }
    t.apply_event(TrainEvent::Finished(Box::new(Summary {
        epochs: vec![report],
        saved: None,
        seconds: 2.0,
        confusion,
        classes,
        net: ShapesNet::new(3, 10),
    })));
    let text = screen(&app, 80, 24);
    header_has_all_ten(&text);
    insta::assert_snapshot!("training_ten_classes_80x24", text);
    // the selected cell moves across all ten columns: the last one is reached
    for _ in 0..12 {
        app.handle(AppEvent::Key(Key::new(KeyCode::Right)));
    }
    let text = screen(&app, 80, 24);
    assert!(text.contains("actually arrow, predicted star"), "{text}");
    header_has_all_ten(&text);
}
