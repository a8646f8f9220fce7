//! Issue 25, items 4 and 5: a run keeps its first convolution per epoch (the snapshots are
//! the weights after each epoch of a real short run), the filters tab and the inspector
//! scrub through them with `[`/`]` and show the numbers of the change, and `Enter` shows a
//! filter's strongest validation patches (the engine's, drawn at 80x24 and in ASCII).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::common::screen;
use cnn_tutor::backend::{CpuBackend, DeviceChoice};
use cnn_tutor::data;
use cnn_tutor::filters_look::Looks;
use cnn_tutor::nn::arch::Arch;
use cnn_tutor::nn::net::Net;
use cnn_tutor::train::{self, Outcome, Prepared, Summary, TrainConfig, TrainEvent};
use cnn_tutor::tui::training::{TrainPrefs, WorkerMsg};
use cnn_tutor::tui::{App, AppEvent, Key, KeyCode, Progress, Theme};

fn dataset(dir: &Path) -> Arc<data::Dataset> {
    data::generate(dir, 10, 7).unwrap();
    Arc::new(data::load_folder(dir).unwrap())
}

fn run(ds: &Arc<data::Dataset>, arch: &str, epochs: usize) -> (Prepared, Summary) {
    let config = TrainConfig {
        data_dir: "unused".into(),
        epochs,
        batch_size: 10,
        seed: 3,
        device: DeviceChoice::Cpu,
        threads: Some(2),
        out: None,
        arch: Arch::parse(arch).unwrap(),
        ..TrainConfig::default()
    };
    let prepared = Prepared::new(config, Arc::clone(ds)).unwrap();
    let mut backend = CpuBackend::new(Some(2)).unwrap();
    let outcome = train::run(
        &prepared,
        &mut backend,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    let Outcome::Finished(summary) = outcome else {
        panic!("cancelled")
    };
    (prepared, *summary)
}

fn first_conv(net: &Net) -> (Vec<f32>, Vec<f32>) {
    let (w, b, ..) = net.first_conv().unwrap();
    (net.params[w].data.clone(), net.params[b].data.clone())
}

/// Epoch 0 is the seed's initial net, epoch n the net after n epochs (a run of n epochs
/// from the same seed ends there), for the course's net and a strided first layer; the
/// maps are the trained net's first layer on the first validation image, shrunk.
#[test]
fn the_snapshots_are_the_weights_after_each_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset(&tmp.path().join("shapes"));
    for arch in [
        cnn_tutor::nn::arch::COURSE_NET,
        "maxpool(2) conv(6,5,stride=2) relu flatten linear",
    ] {
        let (prepared, two) = run(&ds, arch, 2);
        let (_, one) = run(&ds, arch, 1);
        let h = two.growth.as_ref().expect("a history");
        let epochs: Vec<usize> = h.snapshots.iter().map(|s| s.epoch).collect();
        assert_eq!(epochs, [0, 1, 2], "{arch}");
        let start = Net::new(prepared.plan.clone(), 3);
        for (e, net) in [(0, &start), (1, &one.net), (2, &two.net)] {
            let (w, b) = first_conv(net);
            let s = h.at(e).unwrap();
            assert_eq!((&s.weight, &s.bias), (&w, &b), "{arch}: epoch {e}");
        }
        assert_ne!(h.at(0).unwrap().weight, h.at(2).unwrap().weight);
        // the maps: the trained net's first convolution on the first validation image
        let mut x = vec![0.0f32; data::IMAGE_LEN];
        ds.normalized_into(&prepared.val_idx[..1], &mut x);
        let trace = cnn_tutor::backend::cpu::forward_trace(&two.net, &x).unwrap();
        let maps = trace.maps(&h.layer).unwrap();
        let (oh, ow) = h.out_size;
        assert_eq!((maps.shape()[2], maps.shape()[3]), (oh, ow));
        let k = h.block;
        let (mut sum, mut n) = (0.0f64, 0usize);
        for y in 0..k.min(oh) {
            for x in 0..k.min(ow) {
                sum += f64::from(maps[[0, 1, y, x]]);
                n += 1;
            }
        }
        let got = h.map(h.at(2).unwrap(), 1)[0];
        assert!((f64::from(got) - sum / n as f64).abs() < 1e-4, "{arch}");
        // small: weights, bias and at most 32x32 per map, per epoch
        let per = h.bytes() / 3;
        let [f, c, kh, kw] = h.shape;
        assert!(
            per <= 4 * (f * c * kh * kw + f + f * 32 * 32),
            "{per} bytes"
        );
        // the change's numbers are those of the snapshots
        let ch = h.change(0, 2).unwrap();
        let l2: f64 = h
            .at(0)
            .unwrap()
            .weight
            .iter()
            .zip(&h.at(2).unwrap().weight)
            .map(|(a, b)| f64::from(b - a).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((ch.l2 - l2).abs() < 1e-9);
        assert!(ch.filters.iter().all(|f| f.l2 <= ch.largest().l2));
    }
    let (_, mlp) = run(&ds, "flatten linear(8) relu linear", 1);
    assert!(mlp.growth.is_none());
}

fn press(app: &mut App, code: KeyCode) {
    cnn_tutor::tui::apply(app, AppEvent::Key(Key::new(code)));
}

/// The results of a real run in the app: the filters tab says the epoch and the numbers
/// of the change, `[` goes back an epoch, `Enter` shows the engine's top patches (ASCII,
/// 80x24), `Esc` closes them, and the inspector's `g` shows the same history.
#[test]
fn the_filters_tab_scrubs_the_run_and_shows_what_a_filter_looks_for() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset(&tmp.path().join("shapes"));
    let (prepared, summary) = run(&ds, cnn_tutor::nn::arch::COURSE_NET, 2);
    let history = summary.growth.clone().unwrap();
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
    app.set_train_prefs(TrainPrefs::default());
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(80, 24));
    app.open_by_id("train").expect("train lesson");
    press(&mut app, KeyCode::Enter);
    let t = app.training_mut().unwrap();
    t.begin();
    t.apply(WorkerMsg::Loaded {
        dataset: Arc::clone(&ds),
        val: prepared.val_idx.clone(),
    });
    t.apply(WorkerMsg::Train(TrainEvent::Finished(Box::new(summary))));
    press(&mut app, KeyCode::Char('3'));
    let text = screen(&app, 80, 24);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let ch = history.change(0, 2).unwrap();
    assert!(flat.contains("Epoch 2 of 2"), "{text}");
    assert!(
        flat.contains(&format!("moved {:.1}% of their start", 100.0 * ch.rel)),
        "{text}"
    );
    assert!(
        flat.contains(&format!(
            "Most moved: filter {}, L2 {:.3}",
            ch.largest().filter + 1,
            ch.largest().l2
        )),
        "{text}"
    );
    press(&mut app, KeyCode::Char('['));
    let flat = screen(&app, 80, 24)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let ch1 = history.change(0, 1).unwrap();
    assert!(flat.contains("Epoch 1 of 2"), "{flat}");
    assert!(
        flat.contains(&format!("moved {:.1}% of their start", 100.0 * ch1.rel)),
        "{flat}"
    );
    // what filter 2 of conv1 looks for: the engine's strongest image first
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 80, 24);
    assert!(text.is_ascii(), "{text}");
    let looks = Looks::compute(&app_net(&app), &ds, &prepared.val_idx).unwrap();
    let top = looks.top(0, 1, 9).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("What conv1 filter 2 of 12 looks for"),
        "{text}"
    );
    assert!(
        flat.contains(&format!("1 {:.2} ", top[0].value)),
        "{:?}\n{text}",
        top[0]
    );
    let means = looks.class_means(0, 1).unwrap();
    assert!(
        flat.contains(&format!("circle {:.3}", means[0].unwrap())),
        "{text}"
    );
    // down a layer: conv2's first filter
    press(&mut app, KeyCode::Down);
    let flat = screen(&app, 80, 24)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let top = looks.top(1, 0, 9).unwrap();
    assert!(flat.contains("What conv2 filter 1 of 12"), "{flat}");
    assert!(flat.contains(&format!("1 {:.2} ", top[0].value)), "{flat}");
    press(&mut app, KeyCode::Esc);
    assert!(app.training().is_some(), "Esc closes the patches only");
    assert!(screen(&app, 80, 24).contains("Epoch 1 of 2"));
    // the inspector's g: the same history, at its last epoch
    press(&mut app, KeyCode::Char('i'));
    press(&mut app, KeyCode::Char('g'));
    let flat = screen(&app, 80, 24)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("How conv1 grew through the run"), "{flat}");
    assert!(flat.contains("Epoch 2 of 2"), "{flat}");
    press(&mut app, KeyCode::Char('['));
    let flat = screen(&app, 80, 24)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("Epoch 1 of 2"), "{flat}");
}

fn app_net(app: &App) -> Net {
    match &app.training().unwrap().phase {
        cnn_tutor::tui::training::Phase::Results(r) => r.net.clone(),
        _ => panic!("not on the results"),
    }
}

/// The inspector opened on a model without a run (a file): `g` says the history is the
/// run's and not in the file.
#[test]
fn a_model_from_a_file_has_no_history_and_says_so() {
    let net = Net::course(1, 3);
    let req = cnn_tutor::tui::inspector::InspectRequest {
        net,
        classes: vec!["circle".into(), "square".into(), "triangle".into()],
        image: None,
        validation: Vec::new(),
        seed: 1,
        restricted: false,
        history: None,
    };
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(80, 24));
    app.open_inspector(req);
    press(&mut app, KeyCode::Char('g'));
    let focus = |app: &App| app.inspector().expect("the inspector").focus;
    assert_eq!(focus(&app), cnn_tutor::tui::inspector::Focus::Growth);
    let flat = screen(&app, 80, 24)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("the file does not keep it"), "{flat}");
    press(&mut app, KeyCode::Esc);
    assert_eq!(focus(&app), cnn_tutor::tui::inspector::Focus::Maps);
}
