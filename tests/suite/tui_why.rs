//! The why view in the app: the predict tab, the evaluation tab's cell images and the
//! inspector show an attribution map of the picture (the engine's: `cnn_tutor::why`,
//! checked against PyTorch in tests/suite/why.rs), with keys for the method, the class and
//! the untrained network, at 80x24 in ASCII and at 120x40.

use std::path::PathBuf;
use std::sync::Arc;

use crate::common::screen;
use cnn_tutor::backend::CpuBackend;
use cnn_tutor::nn::checkpoint;
use cnn_tutor::tui::training::{Done, TrainPrefs};
use cnn_tutor::tui::{App, AppEvent, Key, KeyCode, Progress, Theme};
use cnn_tutor::why::{self, Method};

fn model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/explore/pytorch_trained.safetensors")
}

fn key(app: &mut App, c: char) {
    cnn_tutor::tui::apply(app, AppEvent::Key(Key::char(c)));
}

/// The training results with the fixture model loaded (as `L` does).
fn results_app(theme: Theme, w: u16, h: u16) -> (App, tempfile::TempDir) {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, theme, Progress::new());
    let tmp = tempfile::tempdir().expect("tmp");
    app.set_train_prefs(TrainPrefs {
        data_dir: tmp.path().join("none"),
        model_path: tmp.path().join("model.safetensors"),
        ..TrainPrefs::default()
    });
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
    app.open_by_id("train").expect("train lesson");
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Enter)));
    let (net, meta) = checkpoint::load(&model()).expect("fixture model");
    app.training_mut()
        .expect("training screen")
        .done(Done::Loaded(model(), Box::new(net), meta));
    (app, tmp)
}

fn input_of(rgb: &[u8]) -> Vec<f32> {
    let plane = rgb.len() / 3;
    let lut = cnn_tutor::data::normalize_table();
    let mut x = vec![0.0; rgb.len()];
    for i in 0..plane {
        for c in 0..3 {
            x[c * plane + i] = lut[usize::from(rgb[i * 3 + c])];
        }
    }
    x
}

#[test]
fn the_predict_tab_shows_the_engines_map_and_its_keys_change_it() {
    let (mut app, _tmp) = results_app(Theme::new(false, true), 80, 24);
    key(&mut app, 'n');
    key(&mut app, 'y');
    let r = app.training().unwrap().results().unwrap();
    let shown = r.predict.shown.clone().unwrap();
    let a = shown.why.clone().expect("a map after y");
    // the engine's own Grad-CAM of the predicted class
    let (net, _) = checkpoint::load(&model()).unwrap();
    let x = input_of(&shown.rgb);
    let mut b = CpuBackend::new(Some(1)).unwrap();
    let want = why::explain(&mut b, &net, &x, Method::GradCam, None, None).unwrap();
    assert_eq!(a.method, Method::GradCam);
    assert_eq!(a.class, want.class);
    assert_eq!(a.map, want.map);
    let text = screen(&app, 80, 24);
    assert!(text.contains("Grad-CAM on relu3"), "{text}");
    assert!(text.contains("m method"), "{text}");
    // m: the next method; c: the next class; u: the untrained network
    key(&mut app, 'm');
    let a = app
        .training()
        .unwrap()
        .results()
        .unwrap()
        .predict
        .shown
        .clone()
        .unwrap()
        .why
        .unwrap();
    assert!(matches!(a.method, Method::Occlusion { .. }));
    assert_eq!(a.map.dim(), (15, 15));
    key(&mut app, 'c');
    let b2 = app
        .training()
        .unwrap()
        .results()
        .unwrap()
        .predict
        .shown
        .clone()
        .unwrap()
        .why
        .unwrap();
    assert_eq!(b2.class, (a.class + 1) % 3);
    key(&mut app, 'u');
    let text = screen(&app, 80, 24);
    assert!(text.contains("UNTRAINED"), "{text}");
    let u = app
        .training()
        .unwrap()
        .results()
        .unwrap()
        .predict
        .shown
        .clone()
        .unwrap()
        .why
        .unwrap();
    assert_ne!(u.map, b2.map);
    // a new picture keeps the view and gets its own map
    key(&mut app, 'u');
    key(&mut app, 'n');
    let p = app
        .training()
        .unwrap()
        .results()
        .unwrap()
        .predict
        .shown
        .clone()
        .unwrap();
    assert!(p.why.is_some());
    // y again: the plain picture, and m is nobody's key
    key(&mut app, 'y');
    let text = screen(&app, 80, 24);
    assert!(!text.contains("m method"), "{text}");
    assert!(text.contains("The network says"), "{text}");
}

#[test]
fn a_confusion_cells_images_open_with_their_maps() {
    let (mut app, tmp) = results_app(Theme::new(true, false), 120, 40);
    let dir = tmp.path().join("shapes");
    cnn_tutor::data::generate(&dir, 4, 3).unwrap();
    let ds = cnn_tutor::data::load_folder(&dir).unwrap();
    let (net, _) = checkpoint::load(&model()).unwrap();
    let mut b = CpuBackend::new(Some(1)).unwrap();
    let lut = cnn_tutor::data::normalize_table();
    let val: Vec<usize> = (0..ds.len()).collect();
    let mut preds = Vec::new();
    let mut m = cnn_tutor::train::ConfusionMatrix::new(3);
    for &i in &val {
        let x: Vec<f32> = ds.image(i).iter().map(|&p| lut[usize::from(p)]).collect();
        use cnn_tutor::backend::Backend;
        let lp = b.predict(&net, &x).unwrap();
        let p = cnn_tutor::backend::cpu::argmax(lp.row(0).as_slice().unwrap());
        m.add(ds.labels[i], p);
        preds.push(p);
    }
    // the first cell with images
    let cell = (0..3)
        .flat_map(|a| (0..3).map(move |p| (a, p)))
        .find(|&(a, p)| m.counts[a][p] > 0)
        .unwrap();
    {
        let r = app.training_mut().unwrap().results_mut().unwrap();
        r.tab = cnn_tutor::tui::training::ResultsTab::Evaluation;
        r.evaluation.confusion = Some(m.clone());
        r.evaluation.dataset = Some(Arc::new(ds));
        r.evaluation.val = val;
        r.evaluation.predictions = Some(preds);
        r.evaluation.cell = cell;
    }
    key(&mut app, 'y');
    let r = app.training().unwrap().results().unwrap();
    let want = r.evaluation.cell_images();
    assert!(!want.is_empty());
    let maps = &r.evaluation.why_maps;
    assert_eq!(maps.len(), want.len().min(6));
    for ((i, a), w) in maps.iter().zip(&want) {
        assert_eq!(i, w);
        // the cell's predicted class is what its maps explain
        assert_eq!(a.class, cell.1);
        assert_eq!(a.predicted, cell.1);
    }
    let text = screen(&app, 120, 40);
    assert!(text.contains("Grad-CAM for"), "{text}");
    // another cell: its own images' maps
    key(&mut app, 'm');
    let r = app.training().unwrap().results().unwrap();
    assert!(matches!(
        r.evaluation.why_maps[0].1.method,
        Method::Occlusion { .. }
    ));
}

#[test]
fn the_inspector_has_the_why_view_too() {
    let (mut app, _tmp) = results_app(Theme::new(false, true), 80, 24);
    key(&mut app, 'n');
    key(&mut app, 'i');
    assert!(app.inspector().is_some());
    key(&mut app, 'y');
    let st = app.inspector().unwrap();
    let a = st.why_map.clone().expect("a map");
    assert_eq!(a.class, st.explorer().decision().predicted());
    let text = screen(&app, 80, 24);
    assert!(text.contains("Grad-CAM on relu3"), "{text}");
    assert!(text.contains("untrained"), "{text}");
    key(&mut app, 'm');
    key(&mut app, 'm');
    assert_eq!(
        app.inspector().unwrap().why_map.as_ref().unwrap().method,
        Method::Saliency
    );
    // Esc leaves the why view, not the inspector
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Esc)));
    assert!(app.inspector().is_some());
    assert!(!app.inspector().unwrap().why_on);
}
