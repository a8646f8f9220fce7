//! The inspector screen: reached from the training results in one key (`i`), its cursor
//! and stages, the explanation's numbers against the engine's (`Explorer`, checked against
//! PyTorch in tests/explore.rs), drawing changing the prediction, and its pictures at
//! 80x24 (ASCII) and 120x40.

use std::path::PathBuf;

use crate::common::screen;
use cnn_tutor::nn::checkpoint;
use cnn_tutor::tui::inspector::actions::{action_for, Action, TABLE};
use cnn_tutor::tui::inspector::{
    Explain, Focus, InspectRequest, InspectorState, View, DROPOUT_OFF,
};
use cnn_tutor::tui::keys::hint_keys;
use cnn_tutor::tui::training::{Done, TrainPrefs};
use cnn_tutor::tui::{
    buffer_text, render_to_buffer, App, AppEvent, Key, KeyCode, Progress, Screen, Theme,
};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/explore")
}

fn model() -> PathBuf {
    fixtures().join("pytorch_trained.safetensors")
}

fn image_chw() -> Vec<u8> {
    cnn_tutor::data::load_image(&fixtures().join("drawn_triangle.png")).expect("fixture image")
}

fn request() -> InspectRequest {
    let (net, meta) = checkpoint::load(&model()).expect("fixture model");
    InspectRequest {
        net,
        classes: meta.classes,
        image: Some(("drawn_triangle.png".into(), image_chw())),
        validation: Vec::new(),
        seed: 5,
        restricted: false,
        history: None,
    }
}

fn key(app: &mut App, k: Key) {
    cnn_tutor::tui::apply(app, AppEvent::Key(k));
}

fn code(app: &mut App, c: KeyCode) {
    key(app, Key::new(c));
}

/// The app on the training screen's results with the fixture model loaded (as `L` does).
fn results_app(theme: Theme, w: u16, h: u16, restricted: bool) -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, theme, Progress::new());
    let tmp = tempfile::tempdir().expect("tmp");
    app.set_train_prefs(TrainPrefs {
        data_dir: tmp.path().join("none"),
        model_path: tmp.path().join("model.safetensors"),
        restricted,
        ..TrainPrefs::default()
    });
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
    app.open_by_id("train").expect("train lesson");
    code(&mut app, KeyCode::Enter);
    let (net, meta) = checkpoint::load(&model()).expect("fixture model");
    app.training_mut()
        .expect("training screen")
        .done(Done::Loaded(model(), Box::new(net), meta));
    app
}

/// A request with two validation images (the fixture and a flipped copy).
fn request_with_validation() -> InspectRequest {
    let mut req = request();
    let img = image_chw();
    let mut flipped = img.clone();
    flipped.reverse();
    req.validation = vec![
        ("validation image 1".into(), img),
        ("validation image 2".into(), flipped),
    ];
    req
}

/// The app on the menu with the inspector opened over it.
fn inspector_app(theme: Theme, w: u16, h: u16, req: InspectRequest) -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, theme, Progress::new());
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
    app.open_inspector(req);
    assert!(app.inspector().is_some(), "{:?}", app.notice());
    app
}

fn st(app: &App) -> &InspectorState {
    app.inspector().expect("the inspector shows")
}

fn name_of(s: &InspectorState) -> String {
    s.view_name(s.current())
}

/// Down to the stage named `name` (from conv1, where it opens).
fn go_to_stage(app: &mut App, name: &str) {
    if st(app).focus == Focus::Cell {
        code(app, KeyCode::Esc);
    }
    for _ in 0..10 {
        if name_of(st(app)) == name {
            return;
        }
        let down = VIEW_ORDER.iter().position(|n| *n == name)
            > VIEW_ORDER.iter().position(|n| *n == name_of(st(app)));
        code(app, if down { KeyCode::Down } else { KeyCode::Up });
    }
    panic!("no stage {name}");
}

const VIEW_ORDER: [&str; 10] = [
    "input", "conv1", "pool1", "relu1", "conv2", "pool2", "relu2", "conv3", "relu3", "fc",
];

#[test]
fn i_on_the_results_opens_the_inspector_and_esc_comes_back() {
    let mut app = results_app(Theme::new(false, true), 80, 24, false);
    app.training_mut().unwrap().notice = None;
    let before = screen(&app, 80, 24);
    assert!(
        before.contains("i inspect"),
        "the results' hint line shows i:\n{before}"
    );
    key(&mut app, Key::char('i'));
    let s = st(&app);
    assert_eq!(s.current(), View::Stage(1));
    assert!(screen(&app, 80, 24).contains(DROPOUT_OFF));
    // the second key already reads a cell: the strongest of conv1 map 0
    code(&mut app, KeyCode::Enter);
    assert_eq!(st(&app).focus, Focus::Cell);
    let e = st(&app).explorer();
    let strongest = e.strongest_cell(1, 0).unwrap();
    assert_eq!(st(&app).cell, strongest);
    code(&mut app, KeyCode::Esc);
    code(&mut app, KeyCode::Esc);
    assert!(
        matches!(app.screen(), Screen::Training(_)),
        "back on the results"
    );
    assert!(app.training().and_then(|t| t.results()).is_some());
}

#[test]
fn the_predict_picture_is_what_i_inspects() {
    let mut app = results_app(Theme::new(false, true), 80, 24, false);
    key(&mut app, Key::char('n'));
    let shown = app
        .training()
        .unwrap()
        .results()
        .unwrap()
        .predict
        .shown
        .clone()
        .unwrap();
    key(&mut app, Key::char('i'));
    assert_eq!(st(&app).what, shown.what);
    let probs = &st(&app).explorer().decision().probabilities;
    for (a, b) in probs.iter().zip(&shown.probs) {
        assert!(
            (a - b).abs() < 1e-5,
            "the same prediction as the predict tab: {a} {b}"
        );
    }
}

#[test]
fn arrows_move_between_stages_maps_and_cells() {
    let mut app = inspector_app(Theme::new(false, true), 80, 24, request());
    assert_eq!(name_of(st(&app)), "conv1");
    code(&mut app, KeyCode::Up);
    assert_eq!(st(&app).current(), View::Stage(0));
    code(&mut app, KeyCode::Up);
    assert_eq!(
        st(&app).current(),
        View::Stage(0),
        "no stage before the input"
    );
    go_to_stage(&mut app, "conv2");
    assert_eq!(st(&app).maps(), 12);
    assert_eq!(st(&app).side(), 64);
    code(&mut app, KeyCode::Right);
    code(&mut app, KeyCode::Right);
    assert_eq!(st(&app).channel, 2);
    code(&mut app, KeyCode::Left);
    assert_eq!(st(&app).channel, 1);
    code(&mut app, KeyCode::Enter);
    let (r, c) = st(&app).cell;
    code(&mut app, KeyCode::Right);
    code(&mut app, KeyCode::Down);
    assert_eq!(st(&app).cell, ((r + 1).min(63), (c + 1).min(63)));
    key(&mut app, Key::char('H'));
    assert_eq!(st(&app).cell.1, (c + 1).saturating_sub(8));
    // to the corner and past it: the cursor stays on the map
    for _ in 0..80 {
        code(&mut app, KeyCode::Up);
        code(&mut app, KeyCode::Left);
    }
    assert_eq!(st(&app).cell, (0, 0));
    // the next stage keeps the place in the picture: (0,0) of conv2 is (0,0) of pool2
    code(&mut app, KeyCode::Esc);
    code(&mut app, KeyCode::Down);
    assert_eq!(name_of(st(&app)), "pool2");
    assert_eq!(st(&app).side(), 32);
    code(&mut app, KeyCode::Enter);
    for _ in 0..40 {
        code(&mut app, KeyCode::Right);
    }
    assert_eq!(st(&app).cell, (0, 31));
    go_to_stage(&mut app, "fc");
    assert_eq!(st(&app).maps(), 24);
}

#[test]
fn every_explanation_is_the_engines() {
    let mut app = inspector_app(Theme::new(false, true), 80, 24, request());
    // conv2, map 3, its strongest cell, then two to the right
    go_to_stage(&mut app, "conv2");
    for _ in 0..3 {
        code(&mut app, KeyCode::Right);
    }
    code(&mut app, KeyCode::Enter);
    code(&mut app, KeyCode::Right);
    code(&mut app, KeyCode::Right);
    let s = st(&app);
    let (r, c) = s.cell;
    let want = s.explorer().conv_cell(4, 3, r, c).unwrap();
    let Explain::Conv(cell) = &s.explain else {
        panic!("a conv cell: {:?}", s.explain);
    };
    assert_eq!(cell, &want);
    assert_eq!(cell.terms().count(), 108);
    assert!((cell.sum() - f64::from(cell.value)).abs() < 1e-4);
    // the chosen input channel is the strongest until [ or ] picks another
    assert_eq!(s.chosen_input(), Some(cell.strongest_input()));
    let first = cell.strongest_input();
    key(&mut app, Key::char(']'));
    assert_eq!(st(&app).chosen_input(), Some((first + 1) % 12));
    // what the screen says is those numbers (80x24, nothing clipped)
    let text = screen(&app, 80, 24);
    assert!(text.contains(&format!("= {:.4}", want.value)), "{text}");
    assert!(text.contains(&format!("sum {:.4}", want.sum())), "{text}");
    assert!(text.contains(&format!("bias {:+.4}", want.bias)), "{text}");
    let chosen = &want.inputs[(first + 1) % 12];
    assert!(
        text.contains(&format!("{:+.4}", chosen.subtotal())),
        "{text}"
    );
    let t = chosen.terms[4];
    assert!(
        text.contains(&format!("{:+.3}*{:+.3}", t.input, t.weight)),
        "{text}"
    );

    // pool2 at the same place: the window and winner of the engine
    code(&mut app, KeyCode::Esc);
    code(&mut app, KeyCode::Down);
    let s = st(&app);
    let (r, c) = s.cell;
    let Explain::Pool(p) = &s.explain else {
        panic!("a pool cell: {:?}", s.explain);
    };
    assert_eq!(p, &s.explorer().pool_cell(5, 3, r, c).unwrap());
    assert_eq!(p.value, p.window[p.winner.unwrap()]);
    // relu2: before and after
    code(&mut app, KeyCode::Down);
    let s = st(&app);
    let Explain::Act { cell, .. } = &s.explain else {
        panic!("a relu cell: {:?}", s.explain);
    };
    assert_eq!(cell, &s.explorer().act_cell(6, 3, r, c).unwrap());
    // conv1: 27 products, the channels red, green, blue
    go_to_stage(&mut app, "conv1");
    let s = st(&app);
    let Explain::Conv(cell) = &s.explain else {
        panic!("a conv cell");
    };
    assert_eq!(cell.name, "conv1");
    assert_eq!(cell.terms().count(), 27);
    let text = screen(&app, 80, 24);
    for name in ["red", "green", "blue"] {
        assert!(text.contains(name), "{text}");
    }
    assert!(text.contains(&format!("sum {:.4}", cell.sum())), "{text}");
    // the decision: the class's sum, per channel, equals the score
    go_to_stage(&mut app, "fc");
    let s = st(&app);
    let d = s.explorer().decision();
    let Explain::Decision {
        class, ranked, sum, ..
    } = &s.explain
    else {
        panic!("the decision");
    };
    assert_eq!(*class, d.predicted());
    assert_eq!(ranked, &d.ranked_channels(*class));
    assert!((sum - f64::from(d.scores[*class])).abs() < 1e-4);
    let (class, classes) = (*class, d.scores.len());
    key(&mut app, Key::char(']'));
    let Explain::Decision { class: next, .. } = &st(&app).explain else {
        panic!("the decision");
    };
    assert_eq!(*next, (class + 1) % classes);
}

#[test]
fn drawing_changes_the_prediction_live() {
    let mut app = inspector_app(Theme::new(true, false), 120, 40, request());
    let before = st(&app).explorer().decision().probabilities.clone();
    key(&mut app, Key::char('d'));
    assert_eq!(st(&app).focus, Focus::Draw);
    key(&mut app, Key::char('x'));
    let blank = st(&app).explorer().decision().probabilities.clone();
    assert_ne!(before, blank, "a white page is not the triangle");
    assert!(st(&app).pixels().iter().all(|&p| p == 255));
    // a black bar: pen down, along a row
    key(&mut app, Key::char('p'));
    for _ in 0..10 {
        code(&mut app, KeyCode::Right);
    }
    let s = st(&app);
    let drawing = s.drawing.as_ref().expect("drawing");
    assert_eq!(
        s.pixels(),
        drawing.to_chw().as_slice(),
        "the net sees the drawing"
    );
    let painted = drawing.rgb.chunks(3).filter(|px| px == &[0, 0, 0]).count();
    assert_eq!(painted, 11);
    let after = s.explorer().decision().probabilities.clone();
    assert_ne!(blank, after, "painting changed the prediction");
    assert_eq!(s.what, "your drawing");
    // Esc keeps the drawing as the image explored
    code(&mut app, KeyCode::Esc);
    assert_eq!(st(&app).focus, Focus::Maps);
    assert_eq!(st(&app).explorer().decision().probabilities, after);
}

#[test]
fn images_from_validation_random_and_files() {
    let mut app = inspector_app(Theme::new(false, true), 80, 24, request_with_validation());
    key(&mut app, Key::char('v'));
    assert_eq!(st(&app).what, "validation image 1");
    assert_eq!(st(&app).pixels(), image_chw().as_slice());
    key(&mut app, Key::char('v'));
    assert_eq!(st(&app).what, "validation image 2");
    key(&mut app, Key::char('V'));
    assert_eq!(st(&app).what, "validation image 1");
    key(&mut app, Key::char('n'));
    assert!(st(&app).what.starts_with("a random "), "{}", st(&app).what);
    // a file by its path
    key(&mut app, Key::char('o'));
    let path = fixtures().join("drawn_triangle.png");
    cnn_tutor::tui::apply(&mut app, AppEvent::Paste(path.display().to_string()));
    code(&mut app, KeyCode::Enter);
    assert_eq!(st(&app).what, "drawn_triangle.png");
    assert_eq!(st(&app).pixels(), image_chw().as_slice());
    key(&mut app, Key::char('o'));
    for c in "/no/such.png".chars() {
        key(&mut app, Key::char(c));
    }
    code(&mut app, KeyCode::Enter);
    assert!(st(&app).notice.is_some(), "a clear note");
    assert_eq!(st(&app).what, "drawn_triangle.png");
}

#[test]
fn a_classroom_session_may_not_open_files() {
    let mut app = results_app(Theme::new(false, true), 80, 24, true);
    key(&mut app, Key::char('i'));
    let hints = hint_keys(TABLE, st(&app));
    assert!(!hints.contains(&cnn_tutor::tui::keys::KeySpec::Char('o')));
    key(&mut app, Key::char('o'));
    assert!(st(&app).path_input.is_none());
    assert_eq!(
        st(&app).notice.as_deref(),
        Some(cnn_tutor::tui::training::RESTRICTED)
    );
}

/// What a key may change, written out (the state's Debug holds every map: too big).
fn summary(app: &App) -> String {
    match app.inspector() {
        None => format!(
            "{:?} help {:?} quit {}",
            std::mem::discriminant(&app.screen()),
            app.help(),
            app.should_quit()
        ),
        Some(s) => format!(
            "{:?} {} {:?} {:?} {:?} {} {} {} {:?} {:?} {:?} {} {:?} {} help {:?} quit {} why {} {:?} {}",
            s.current(),
            s.channel,
            s.cell,
            s.focus,
            s.input_channel,
            s.class,
            s.show_input,
            s.scroll,
            s.path_input,
            s.drawing,
            s.notice,
            s.what,
            s.pixels().iter().map(|&p| u64::from(p)).sum::<u64>(),
            s.help,
            app.help(),
            app.should_quit(),
            s.why_on,
            s.why_map.as_ref().map(|a| (a.method, a.class)),
            s.why.untrained
        ),
    }
}

/// Every binding that applies in the state `build` makes is reached by its keys and
/// changes something (but those in `idle`); every key the hint line shows is bound.
fn walk(name: &str, build: &dyn Fn() -> App, idle: &[Action]) -> usize {
    let app = build();
    let state = st(&app);
    let mut checked = 0;
    for b in TABLE.iter().filter(|b| (b.when)(state)) {
        for spec in b.keys {
            for k in spec.examples() {
                assert_eq!(
                    action_for(state, k),
                    Some(b.action),
                    "{name}: {k:?} reaches {:?}",
                    b.action
                );
                if idle.contains(&b.action) {
                    continue;
                }
                let mut after = build();
                key(&mut after, k);
                assert_ne!(
                    summary(&after),
                    summary(&app),
                    "{name}: {k:?} should {:?}",
                    b.action
                );
                checked += 1;
            }
        }
    }
    for spec in hint_keys(TABLE, state) {
        for k in spec.examples() {
            assert!(
                action_for(state, k).is_some(),
                "{name}: the hint shows {spec:?}, unbound"
            );
        }
    }
    let line: String = cnn_tutor::tui::keys::hints(TABLE, state, Theme::new(false, true).symbols())
        .iter()
        .map(|(k, what)| format!(" {k} {what} "))
        .collect();
    let wide = {
        let mut a = build();
        cnn_tutor::tui::apply(&mut a, AppEvent::Resize(250, 50));
        buffer_text(&render_to_buffer(&a, 250, 50))
    };
    assert!(
        wide.contains(line.trim_end()),
        "{name}: `{line}` in\n{wide}"
    );
    checked
}

fn at(stage: &'static str, focus_cells: bool) -> impl Fn() -> App {
    move || {
        let mut app = inspector_app(Theme::new(false, true), 80, 24, request_with_validation());
        go_to_stage(&mut app, stage);
        code(&mut app, KeyCode::Right);
        if focus_cells {
            code(&mut app, KeyCode::Enter);
            // away from the edges
            let (r, c) = st(&app).cell;
            let side = st(&app).side();
            if r < 9 || c < 9 || r + 9 > side || c + 9 > side {
                for _ in 0..(side / 2) {
                    key(&mut app, Key::char('J'));
                }
                for _ in 0..(side / 16) {
                    key(&mut app, Key::char('K'));
                    key(&mut app, Key::char('H'));
                }
            }
        }
        app
    }
}

#[test]
fn every_inspector_key_does_what_it_says() {
    let mut n = 0;
    n += walk("maps on conv2", &at("conv2", false), &[Action::ScrollUp]);
    n += walk("cells on conv2", &at("conv2", true), &[Action::ScrollUp]);
    n += walk("cells on pool1", &at("pool1", true), &[Action::ScrollUp]);
    n += walk(
        "maps on fc",
        &at("fc", false),
        &[Action::ScrollUp, Action::NextStage],
    );
    let draw = || {
        let mut app = at("conv1", false)();
        key(&mut app, Key::char('d'));
        code(&mut app, KeyCode::Down);
        app
    };
    n += walk("drawing", &draw, &[]);
    let why = || {
        let mut app = at("conv2", false)();
        key(&mut app, Key::char('y'));
        app
    };
    n += walk("why view", &why, &[Action::ScrollUp]);
    assert!(n > 60, "{n} keys checked");
}

#[test]
fn inspector_snapshots() {
    // ASCII at 80x24 on a conv2 cell: the sum, the subtotals and the products all shown
    let mut app = inspector_app(Theme::new(false, true), 80, 24, request());
    go_to_stage(&mut app, "conv2");
    code(&mut app, KeyCode::Enter);
    let text = screen(&app, 80, 24);
    insta::assert_snapshot!("inspector_conv2_ascii_80x24", text);
    // colour at 120x40: the layer's input with the window beside the map
    let mut app = inspector_app(Theme::new(true, false), 120, 40, request());
    go_to_stage(&mut app, "conv2");
    code(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("inspector_conv2_120x40", screen(&app, 120, 40));
    go_to_stage(&mut app, "fc");
    insta::assert_snapshot!("inspector_fc_120x40", screen(&app, 120, 40));
}

#[test]
fn the_architecture_lesson_looks_inside_the_last_model() {
    let mut app = results_app(Theme::new(false, true), 80, 24, false);
    // back to the lessons: the model trained or loaded is remembered
    code(&mut app, KeyCode::Esc);
    app.open_by_id("architecture").expect("architecture lesson");
    let text = screen(&app, 120, 40);
    assert!(text.contains("i look inside the trained model"), "{text}");
    key(&mut app, Key::char('i'));
    assert!(app.inspector().is_some(), "{:?}", app.notice());
    code(&mut app, KeyCode::Esc);
    assert!(app.lesson_state().is_some(), "back in the lesson");
    // without a model there is no such key
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut fresh = App::new(lessons, Theme::new(false, true), Progress::new());
    fresh
        .open_by_id("architecture")
        .expect("architecture lesson");
    key(&mut fresh, Key::char('i'));
    assert!(fresh.inspector().is_none());
    // a saved file is read when the app knows of one
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("model.safetensors");
    std::fs::copy(model(), &path).expect("copy");
    fresh.set_train_prefs(TrainPrefs {
        model_path: path,
        ..TrainPrefs::default()
    });
    fresh.set_saved_model(true);
    key(&mut fresh, Key::char('i'));
    assert!(fresh.inspector().is_some(), "{:?}", fresh.notice());
    assert!(st(&fresh).what.starts_with("a random "));
}
