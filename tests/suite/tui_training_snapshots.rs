//! Snapshots of the training screen drawn into a buffer from recorded (synthetic)
//! training events: no worker, no clock, no paths, so the pictures are stable.

use crate::common::screen;
use cnn_tutor::nn::net::Net;
use cnn_tutor::train::growth::FilterHistory;
use cnn_tutor::train::{ConfusionMatrix, EpochReport, Summary, TrainEvent};
use cnn_tutor::tui::training::{TrainPrefs, WorkerMsg};
use cnn_tutor::tui::{App, AppEvent, Key, KeyCode, Progress, Theme};

const CLASSES: [&str; 3] = ["circle", "square", "triangle"];

fn press(app: &mut App, code: KeyCode) {
    cnn_tutor::tui::apply(app, AppEvent::Key(Key::new(code)));
}

/// The train lesson's settings screen, on a tiny generated data set (2 images a class).
fn settings_app(theme: Theme, w: u16, h: u16) -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, theme, Progress::new());
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("shapes");
    cnn_tutor::data::generate(&data, 2, 42).expect("tiny data");
    app.set_train_prefs(TrainPrefs {
        data_dir: data,
        ..TrainPrefs::default()
    });
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
    app.open_by_id("train").expect("train lesson");
    press(&mut app, KeyCode::Enter);
    // the preview was read when the screen opened: the folder can go, and the Data field
    // shows a name that is the same on every run
    drop(tmp);
    app.training_mut().expect("training screen").prefs.data_dir = "data/shapes".into();
    app
}

fn send(app: &mut App, e: TrainEvent) {
    app.training_mut()
        .expect("training screen")
        .apply(WorkerMsg::Train(e));
}

/// A made-up loss that falls with some wiggle, the same every time.
fn loss_at(step: usize) -> f64 {
    let s = step as f64;
    1.1 * (-0.03 * s).exp() + 0.05 * ((s * 1.7).sin())
}

fn report(epoch: usize) -> EpochReport {
    let e = epoch as f64;
    let correct = (360.0 * (1.0 - 0.4 * (-0.8 * e).exp())) as usize;
    EpochReport {
        epoch,
        train_loss: 0.9 * (-0.5 * e).exp(),
        val_loss: 0.8 * (-0.45 * e).exp() + 0.02 * e,
        val_accuracy: correct as f64 / 360.0,
        val_correct: correct,
        val_size: 360,
        train_images_per_second: 500.0,
        seconds: 2.0,
    }
}

/// Play a run of 5 epochs of 17 batches up to `epochs_done` whole epochs and `batches`
/// batches of the next.
fn play(app: &mut App, epochs_done: usize, batches: usize) {
    app.training_mut().expect("training screen").begin();
    send(
        app,
        TrainEvent::Note("note: no CUDA GPU found, running on the CPU (2 threads)".into()),
    );
    send(
        app,
        TrainEvent::Started {
            train_size: 840,
            split_size: 840,
            val_size: 360,
            batches_per_epoch: 17,
            epochs: 5,
            classes: CLASSES.iter().map(ToString::to_string).collect(),
            device: "cpu (2 threads)".into(),
        },
    );
    for epoch in 1..=(epochs_done + 1).min(5) {
        let n = if epoch <= epochs_done { 17 } else { batches };
        for batch in 1..=n {
            send(
                app,
                TrainEvent::Batch {
                    epoch,
                    batch,
                    images_done: (batch * 50).min(840),
                    loss: loss_at((epoch - 1) * 17 + batch),
                    images_per_second: 500.0,
                },
            );
        }
        if epoch <= epochs_done {
            send(app, TrainEvent::Epoch(report(epoch)));
        }
    }
}

fn finish(app: &mut App) {
    let mut confusion = ConfusionMatrix::new(3);
    for (a, p, n) in [
        (0, 0, 112),
        (0, 1, 3),
        (1, 1, 118),
        (1, 0, 2),
        (2, 2, 121),
        (2, 1, 4),
    ] {
        for _ in 0..n {
            confusion.add(a, p);
        }
    }
    // the first layer moves in a straight line from the seed's start to the end, an
    // epoch at a time
    let (start, end) = (Net::course(42, 3), Net::course(7, 3));
    let mut growth = FilterHistory::start(&start, None)
        .expect("a history")
        .expect("conv1");
    for e in 1..=5 {
        let mut net = start.clone();
        for (p, q) in net.params.iter_mut().zip(&end.params) {
            for (a, b) in p.data.iter_mut().zip(&q.data) {
                *a += (b - *a) * e as f32 / 5.0;
            }
        }
        growth.record(e, &net, None).expect("recorded");
    }
    let summary = Summary {
        epochs: (1..=5).map(report).collect(),
        saved: None,
        seconds: 10.0,
        confusion,
        classes: CLASSES.iter().map(ToString::to_string).collect(),
        meta: Default::default(),
        net: end,
        growth: Some(growth),
    };
    send(app, TrainEvent::Finished(Box::new(summary)));
}

#[test]
fn settings() {
    for (w, h) in [(80, 24), (120, 40)] {
        let app = settings_app(Theme::new(true, false), w, h);
        insta::assert_snapshot!(format!("training_settings_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn live_training() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = settings_app(Theme::new(true, false), w, h);
        play(&mut app, 2, 10);
        insta::assert_snapshot!(format!("training_live_{w}x{h}"), screen(&app, w, h));
    }
    // no colour, ASCII only: the chart's axes and markers are ASCII too
    let mut app = settings_app(Theme::new(false, true), 80, 24);
    play(&mut app, 2, 10);
    let text = screen(&app, 80, 24);
    assert!(text.is_ascii(), "{text}");
    insta::assert_snapshot!("training_live_ascii_80x24", text);
    // paused
    press(&mut app, KeyCode::Char('p'));
    insta::assert_snapshot!("training_paused_ascii_80x24", screen(&app, 80, 24));
}

#[test]
fn results() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = settings_app(Theme::new(true, false), w, h);
        play(&mut app, 5, 0);
        finish(&mut app);
        insta::assert_snapshot!(format!("training_evaluation_{w}x{h}"), screen(&app, w, h));
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Left);
        insta::assert_snapshot!(
            format!("training_evaluation_cell_{w}x{h}"),
            screen(&app, w, h)
        );
        press(&mut app, KeyCode::Char('2'));
        insta::assert_snapshot!(format!("training_loss_{w}x{h}"), screen(&app, w, h));
        press(&mut app, KeyCode::Char('3'));
        insta::assert_snapshot!(format!("training_filters_{w}x{h}"), screen(&app, w, h));
        press(&mut app, KeyCode::Char('4'));
        press(&mut app, KeyCode::Char('n'));
        insta::assert_snapshot!(format!("training_predict_{w}x{h}"), screen(&app, w, h));
    }
    let mut app = settings_app(Theme::new(false, true), 80, 24);
    play(&mut app, 5, 0);
    finish(&mut app);
    let text = screen(&app, 80, 24);
    assert!(text.is_ascii(), "{text}");
    insta::assert_snapshot!("training_evaluation_ascii_80x24", text);
}

#[test]
fn cancelled() {
    let mut app = settings_app(Theme::new(true, false), 80, 24);
    play(&mut app, 1, 4);
    send(&mut app, TrainEvent::Cancelled { epochs_done: 1 });
    insta::assert_snapshot!("training_cancelled_80x24", screen(&app, 80, 24));
}
