//! The training screen: the worker's event stream on a tiny generated data set, cancelling
//! mid-epoch, keys during training, and the whole flow from the `train` lesson's `s` key to
//! the confusion matrix.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::worker::collect;

use cnn_tutor::backend::{self, DeviceChoice};
use cnn_tutor::train::{self, Outcome, TrainConfig, TrainEvent};
use cnn_tutor::tui::training::{
    spawn_worker, Phase, PhaseKind, Stop, TrainPrefs, TrainSettings, WorkerMsg,
};
use cnn_tutor::tui::{
    buffer_text, render_to_buffer, App, AppEvent, Key, KeyCode, Progress, Screen, Theme,
};

/// A data folder with `per_class` images of each shape.
fn tiny_data(dir: &Path, per_class: usize) -> std::path::PathBuf {
    let data = dir.join("shapes");
    cnn_tutor::data::generate(&data, per_class, 7).expect("tiny data set");
    data
}

fn settings(epochs: usize, batch_size: usize) -> TrainSettings {
    TrainSettings {
        epochs,
        batch_size,
        lr: 0.001,
        device: DeviceChoice::Cpu,
        seed: 3,
        ..TrainSettings::default()
    }
}

#[test]
fn event_stream_of_a_short_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tiny_data(tmp.path(), 10);
    let (rx, handle) =
        spawn_worker(&settings(1, 5), data.clone(), None, None).expect("worker starts");
    let msgs = collect(&rx, Duration::from_secs(60));
    handle.join();

    let loaded = msgs
        .iter()
        .position(|m| matches!(m, WorkerMsg::Loaded { .. }))
        .expect("Loaded");
    let started = msgs
        .iter()
        .position(|m| matches!(m, WorkerMsg::Train(TrainEvent::Started { .. })))
        .expect("Started");
    assert!(loaded < started);
    let Some(WorkerMsg::Train(TrainEvent::Started {
        train_size,
        val_size,
        batches_per_epoch,
        classes,
        ..
    })) = msgs.get(started)
    else {
        unreachable!()
    };
    assert_eq!((*train_size, *val_size), (21, 9));
    assert_eq!(*batches_per_epoch, 5);
    assert_eq!(classes, &["circle", "square", "triangle"]);
    let batches: Vec<(usize, usize, f64)> = msgs
        .iter()
        .filter_map(|m| match m {
            WorkerMsg::Train(TrainEvent::Batch {
                epoch, batch, loss, ..
            }) => Some((*epoch, *batch, *loss)),
            _ => None,
        })
        .collect();
    assert_eq!(batches.len(), 5);
    assert!(batches.iter().all(|b| b.0 == 1 && b.2.is_finite()));
    assert_eq!(
        batches.iter().map(|b| b.1).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let reports: Vec<_> = msgs
        .iter()
        .filter_map(|m| match m {
            WorkerMsg::Train(TrainEvent::Epoch(r)) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 1);
    let preds = msgs
        .iter()
        .find_map(|m| match m {
            WorkerMsg::Predictions(p) => Some(p.clone()),
            _ => None,
        })
        .expect("Predictions");
    assert_eq!(preds.len(), 9);
    let Some(WorkerMsg::Train(TrainEvent::Finished(summary))) = msgs.last() else {
        panic!("the stream ends with Finished: {:?}", msgs.last());
    };
    assert!(summary.saved.is_none(), "the screen never saves on its own");
    assert_eq!(summary.confusion.total(), 9);
    assert_eq!(summary.confusion.correct(), reports[0].val_correct);

    // the same numbers as the headless loop, configured as `cnn-tutor train` does it
    // (its --lr is an f32)
    let config = TrainConfig {
        data_dir: data.clone(),
        epochs: 1,
        batch_size: 5,
        lr: f64::from(0.001f32),
        seed: 3,
        device: DeviceChoice::Cpu,
        threads: None,
        out: None,
        ..TrainConfig::default()
    };
    let (mut be, _) = backend::select(DeviceChoice::Cpu, None).expect("cpu");
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let ds = std::sync::Arc::new(cnn_tutor::data::load_folder(&data).expect("loads"));
    let run = train::Prepared::new(config, ds).expect("prepared");
    let outcome = train::run(&run, be.as_mut(), &cancel, &mut |_| {}).expect("runs");
    let Outcome::Finished(headless) = outcome else {
        panic!("finished")
    };
    assert_eq!(headless.epochs[0].train_loss, reports[0].train_loss);
    assert_eq!(headless.epochs[0].val_loss, reports[0].val_loss);
    assert_eq!(headless.confusion, summary.confusion);
}

#[test]
fn cancel_mid_epoch_returns_within_a_batch() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tiny_data(tmp.path(), 20);
    let (rx, handle) = spawn_worker(&settings(3, 2), data, None, None).expect("worker starts");
    // wait for the first batch
    let start = Instant::now();
    loop {
        let m = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a batch comes");
        if matches!(m, WorkerMsg::Train(TrainEvent::Batch { .. })) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60));
    }
    handle.cancel();
    let rest = collect(&rx, Duration::from_secs(20));
    // the receiver may lag the worker by a few queued batches, never by the
    // rest of the 21-batch epoch (train::run's own test counts exactly)
    let more_batches = rest
        .iter()
        .filter(|m| matches!(m, WorkerMsg::Train(TrainEvent::Batch { .. })))
        .count();
    assert!(more_batches < 20, "{more_batches} batches after cancel");
    assert!(
        matches!(
            rest.last(),
            Some(WorkerMsg::Train(TrainEvent::Cancelled { epochs_done: 0 }))
        ),
        "{:?}",
        rest.last()
    );
    assert!(!rest
        .iter()
        .any(|m| matches!(m, WorkerMsg::Train(TrainEvent::Epoch(_)))));
    handle.join();
}

fn app_with(prefs: TrainPrefs, w: u16, h: u16) -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, Theme::new(true, false), Progress::new());
    app.set_train_prefs(prefs);
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
    app.open_by_id("train").expect("train lesson");
    app
}

fn press(app: &mut App, code: KeyCode) {
    cnn_tutor::tui::apply(app, AppEvent::Key(Key::new(code)));
}

#[test]
fn s_in_the_lesson_trains_and_ends_on_the_confusion_matrix() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prefs = TrainPrefs {
        settings: settings(1, 5),
        data_dir: tiny_data(tmp.path(), 10),
        model_path: tmp.path().join("models/m.safetensors"),
        ..TrainPrefs::default()
    };
    let mut app = app_with(prefs.clone(), 120, 40);
    press(&mut app, KeyCode::Char('s'));
    assert!(matches!(app.screen(), Screen::Training(_)));
    let start = Instant::now();
    while app.training().is_some_and(|t| t.is_running()) {
        cnn_tutor::tui::apply(&mut app, AppEvent::Tick);
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "training finishes"
        );
    }
    // the last messages may still be queued: one more tick takes them
    cnn_tutor::tui::apply(&mut app, AppEvent::Tick);
    let t = app.training().expect("still on the training screen");
    let results = t.results().expect("the results");
    assert!(results.evaluation.predictions.is_some());
    let text = buffer_text(&render_to_buffer(&app, 120, 40));
    assert!(text.contains("Confusion matrix"), "{text}");
    for class in ["circle", "square", "triangle"] {
        assert!(text.contains(class), "{class} named: {text}");
    }
    // save: written once, then asked before overwriting
    press(&mut app, KeyCode::Char('w'));
    assert!(prefs.model_path.exists());
    // its metadata is what `cnn-tutor train` writes (one builder): split and data too
    let (_, meta) = cnn_tutor::nn::checkpoint::load(&prefs.model_path).expect("it loads");
    let get = |k: &str| meta.settings.get(k).cloned();
    assert_eq!(get("train_size").as_deref(), Some("21"));
    assert_eq!(get("val_size").as_deref(), Some("9"));
    assert_eq!(get("data"), Some(prefs.data_dir.display().to_string()));
    assert_eq!(get("epochs").as_deref(), Some("1"));
    assert!(get("val_accuracy").is_some());
    assert!(get("trained_by").is_some_and(|b| b.ends_with("(app)")));
    assert_eq!(meta.classes, ["circle", "square", "triangle"]);
    press(&mut app, KeyCode::Char('w'));
    let t = app.training().expect("screen");
    assert!(t.results().is_some_and(|r| r.confirm_overwrite));
    assert!(t.notice.as_deref().unwrap_or("").contains("overwrite"));
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(
        app.training().and_then(|t| t.notice.clone()).as_deref(),
        Some("not saved")
    );
    // predict a random shape: probabilities sum to 1
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('n'));
    let p = app
        .training()
        .and_then(|t| t.results().and_then(|r| r.predict.shown.clone()))
        .expect("a prediction");
    let sum: f32 = p.probs.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "{sum}");
    // a bad path is a notice, not a panic
    press(&mut app, KeyCode::Char('o'));
    for c in "/no/such.png".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert!(app.training().and_then(|t| t.notice.clone()).is_some());
    // Esc returns to the lesson
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.screen(), Screen::Lesson(_)));
}

#[test]
fn keys_during_training() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prefs = TrainPrefs {
        settings: settings(5, 2),
        data_dir: tiny_data(tmp.path(), 20),
        model_path: tmp.path().join("m.safetensors"),
        ..TrainPrefs::default()
    };
    // p pauses and resumes; Esc cancels and returns to the lesson
    let mut app = app_with(prefs.clone(), 80, 24);
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('p'));
    assert!(app.training().is_some_and(|t| t.paused()));
    press(&mut app, KeyCode::Char('p'));
    assert!(app.training().is_some_and(|t| !t.paused()));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.screen(), Screen::Lesson(_)));
    assert!(app.notice().unwrap_or("").contains("cancelled"));
    assert!(
        !prefs.model_path.exists(),
        "a cancelled run writes no model"
    );

    // q quits at once
    let mut app = app_with(prefs.clone(), 80, 24);
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit());

    // Enter opens the settings; arrows change them; Esc goes back keeping them
    let mut app = app_with(prefs, 80, 24);
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.training().map(|t| t.phase.kind()),
        Some(PhaseKind::Settings)
    );
    press(&mut app, KeyCode::Right); // epochs 5 -> 6
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Char('0'));
    press(&mut app, KeyCode::Down); // batch size typed: 10
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('x')); // ignored
    press(&mut app, KeyCode::Char('9'));
    press(&mut app, KeyCode::Char('9'));
    press(&mut app, KeyCode::Char('9'));
    press(&mut app, KeyCode::Enter); // seed 999
    let s = app
        .training()
        .map(|t| t.prefs.settings.clone())
        .expect("screen");
    assert_eq!((s.epochs, s.batch_size, s.seed), (6, 10, 999));
    press(&mut app, KeyCode::Up); // device
    press(&mut app, KeyCode::Up); // lr
    press(&mut app, KeyCode::Char('0'));
    press(&mut app, KeyCode::Char('.'));
    press(&mut app, KeyCode::Char('.'));
    press(&mut app, KeyCode::Enter);
    assert!(app
        .training()
        .and_then(|t| t.notice.clone())
        .is_some_and(|n| n.contains("`0..`: learning rate must be between 0.000001 and 1")));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.screen(), Screen::Lesson(_)));
}

#[test]
fn pause_holds_the_worker_between_batches() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tiny_data(tmp.path(), 20);
    let (rx, handle) = spawn_worker(&settings(3, 2), data, None, None).expect("worker starts");
    let start = Instant::now();
    loop {
        let m = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a batch comes");
        if matches!(m, WorkerMsg::Train(TrainEvent::Batch { .. })) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60));
    }
    // paused, the worker stops after the batch it is on
    handle.set_paused(true);
    // drain what the batch in flight sends (however slow this machine is) ...
    let drained = Instant::now();
    while rx.recv_timeout(Duration::from_millis(500)).is_ok() {
        assert!(drained.elapsed() < Duration::from_secs(60), "never paused");
    }
    // ... then nothing more comes
    std::thread::sleep(Duration::from_millis(300));
    let while_paused = rx
        .try_iter()
        .filter(|m| matches!(m, WorkerMsg::Train(TrainEvent::Batch { .. })))
        .count();
    assert_eq!(while_paused, 0, "no batches while paused");
    // resumed, it carries on; cancelled while paused it still ends
    handle.set_paused(false);
    let m = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("more events");
    assert!(matches!(m, WorkerMsg::Train(_)));
    handle.set_paused(true);
    handle.cancel();
    let rest = collect(&rx, Duration::from_secs(20));
    assert!(matches!(
        rest.last(),
        Some(WorkerMsg::Train(TrainEvent::Cancelled { .. }))
    ));
    handle.join();
}

#[test]
fn odd_events_do_not_panic() {
    let mut t = cnn_tutor::tui::training::TrainingState::new(TrainPrefs::default());
    t.begin();
    t.apply_event(TrainEvent::Batch {
        epoch: 0,
        batch: 0,
        images_done: 10_000,
        loss: f64::NAN,
        images_per_second: 0.0,
    });
    t.apply_event(TrainEvent::Failed("boom".into()));
    assert!(
        matches!(&t.phase, Phase::Stopped(_, Stop::Failed(e)) if e == "boom"),
        "{:?}",
        t.phase.kind()
    );
    // to the settings, then keys that change nothing there
    for k in [
        KeyCode::Char('e'),
        KeyCode::Char('x'),
        KeyCode::Left,
        KeyCode::Up,
    ] {
        t.key(Key::new(k));
    }
    assert_eq!(t.phase.kind(), PhaseKind::Settings);
}

#[test]
fn a_classroom_session_opens_and_loads_no_files() {
    use cnn_tutor::tui::training::{Results, RESTRICTED};
    let tmp = tempfile::tempdir().expect("tmp");
    for restricted in [false, true] {
        let prefs = TrainPrefs {
            restricted,
            model_path: tmp.path().join("missing.safetensors"),
            ..TrainPrefs::default()
        };
        let mut app = app_with(prefs, 100, 30);
        press(&mut app, KeyCode::Enter); // the settings step
        press(&mut app, KeyCode::Char('L'));
        let notice = app.training().and_then(|t| t.notice.clone());
        if restricted {
            assert_eq!(notice.as_deref(), Some(RESTRICTED));
        } else {
            assert!(notice.is_some_and(|n| n.starts_with("cannot load")));
        }
        let t = app.training_mut().expect("training screen");
        let net = cnn_tutor::nn::net::Net::course(1, 3);
        t.phase = Phase::Results(Box::new(Results::loaded(net, Default::default(), 1)));
        press(&mut app, KeyCode::Char('o'));
        let t = app.training().expect("training screen");
        assert_eq!(
            t.results().is_some_and(|r| r.predict.path_input.is_some()),
            !restricted,
            "restricted={restricted}"
        );
    }
}

#[test]
fn a_classroom_sessions_effects_are_refused_or_redirected_in_one_place() {
    use cnn_tutor::nn::net::Net;
    use cnn_tutor::tui::training::{effects, Done, Effect, RESTRICTED};
    let tmp = tempfile::tempdir().expect("tmp");
    let own = tmp.path().join("students/ann.safetensors");
    let save = |overwrite| Effect::Save {
        net: Box::new(Net::course(1, 3)),
        meta: Default::default(),
        overwrite,
        run: None,
    };
    let classroom = TrainPrefs {
        restricted: true,
        model_path: own.clone(),
        ..TrainPrefs::default()
    };
    // nothing the student names is read on the server
    assert!(matches!(
        effects::run(&classroom, Effect::Load),
        Done::Refused(RESTRICTED)
    ));
    let image = tmp.path().join("no-such.png");
    assert!(matches!(
        effects::run(&classroom, Effect::ReadImage(image.clone())),
        Done::Refused(RESTRICTED)
    ));
    // saving goes to the student's own file, asking before it overwrites
    assert!(matches!(effects::run(&classroom, save(false)), Done::Saved(p) if p == own));
    assert!(matches!(effects::run(&classroom, save(false)), Done::Exists(p) if p == own));
    assert!(matches!(
        effects::run(&classroom, save(true)),
        Done::Saved(_)
    ));
    // the local app does both
    let local = TrainPrefs {
        model_path: own,
        ..TrainPrefs::default()
    };
    assert!(matches!(
        effects::run(&local, Effect::Load),
        Done::Loaded(..)
    ));
    assert!(matches!(
        effects::run(&local, Effect::ReadImage(image)),
        Done::NoImage(_)
    ));
}

/// The screen in each of its places (and, `restricted`, as a classroom session has it).
fn every_place(restricted: bool) -> Vec<(String, cnn_tutor::tui::training::TrainingState)> {
    use cnn_tutor::tui::training::{Results, ResultsTab, TrainingState};
    let prefs = TrainPrefs {
        restricted,
        ..TrainPrefs::default()
    };
    let fresh = || TrainingState::new(prefs.clone());
    let mut out = vec![("settings".to_string(), fresh())];
    let mut t = fresh();
    t.begin();
    out.push(("running".into(), t));
    let mut t = fresh();
    t.begin();
    t.key(Key::new(KeyCode::Char('p')));
    assert!(t.paused());
    out.push(("paused".into(), t));
    for (name, end) in [
        ("cancelled", TrainEvent::Cancelled { epochs_done: 0 }),
        ("failed", TrainEvent::Failed("boom".into())),
    ] {
        let mut t = fresh();
        t.begin();
        t.apply_event(end);
        out.push((name.into(), t));
    }
    // the runs kept, two listed (none read from disk here)
    let mut t = fresh();
    t.key(Key::new(KeyCode::Char('R')));
    if let Phase::Runs(v) = &mut t.phase {
        let (runs, _) = cnn_tutor::train::runs::load_all(Path::new("/nonexistent"));
        v.set_records(runs);
    }
    assert!(matches!(t.phase, Phase::Runs(_)));
    out.push(("runs".into(), t));
    for tab in ResultsTab::ALL {
        let mut t = fresh();
        let net = cnn_tutor::nn::net::Net::course(1, 3);
        let mut r = Results::loaded(net, Default::default(), 1);
        r.tab = tab;
        t.phase = Phase::Results(Box::new(r));
        out.push((tab.title().into(), t));
    }
    out
}

/// The key table, walked: in every place each key of a binding that applies does that
/// binding's action (no earlier binding takes it), every key a hint shows does
/// something, every place has a way back and out, and a classroom session's hints leave
/// out the keys it refuses.
#[test]
fn the_key_table_holds_in_every_place() {
    use cnn_tutor::tui::keys;
    use cnn_tutor::tui::training::actions::{action_for, Action, TABLE};
    use cnn_tutor::tui::training::ResultsTab;
    let sym = Theme::new(false, true).symbols();
    for restricted in [false, true] {
        for (place, st) in every_place(restricted) {
            for b in TABLE.iter().filter(|b| (b.when)(&st)) {
                for key in b.keys.iter().flat_map(|k| k.examples()) {
                    assert_eq!(action_for(&st, key), Some(b.action), "{key:?} in {place}");
                }
            }
            for spec in keys::hint_keys(TABLE, &st) {
                for key in spec.examples() {
                    assert!(action_for(&st, key).is_some(), "{key:?} in {place}");
                }
            }
            assert_eq!(action_for(&st, Key::new(KeyCode::Esc)), Some(Action::Back));
            assert_eq!(
                action_for(&st, Key::new(KeyCode::Char('q'))),
                Some(Action::Quit)
            );
            assert_eq!(action_for(&st, Key::ctrl('c')), Some(Action::Quit));
            let hints = keys::hints(TABLE, &st, sym);
            assert!(hints.iter().any(|(k, _)| k == "Esc"), "{place}: {hints:?}");
            let refused = hints.iter().any(|(k, _)| k == "L" || k == "o");
            // `L` on the settings and every results tab, `o` on the predict tab
            let offers = place == "settings" || ResultsTab::ALL.iter().any(|t| t.title() == place);
            assert_eq!(refused, offers && !restricted, "{place}: {hints:?}");
        }
    }
}

/// issue 23: `L` loads a model and shows it whole: the loss history its file records, its
/// evaluation on its own validation split (read again from the folder it trained on), and
/// a header that says it was loaded, not "done 0s".
#[test]
fn a_loaded_model_is_evaluated_on_its_own_split_with_its_loss_history() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("shapes");
    cnn_tutor::data::generate(&data, 3, 5).expect("data");
    let model = tmp.path().join("m.safetensors");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
        .env("CNN_TUTOR_STATE_DIR", crate::common::scratch_state())
        .args([
            "train",
            "--device",
            "cpu",
            "--epochs",
            "2",
            "--batch-size",
            "4",
        ])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .output()
        .expect("trains");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, meta) = cnn_tutor::nn::checkpoint::load(&model).expect("loads");
    let history = cnn_tutor::train::history_from_meta(&meta.settings);
    assert_eq!(history.len(), 2, "{:?}", meta.settings);
    assert_eq!(history[1].epoch, 2);
    let acc: f64 = meta.settings["val_accuracy"].parse().unwrap();
    assert!((history[1].val_accuracy - acc).abs() < 1e-6);

    let prefs = TrainPrefs {
        model_path: model,
        ..TrainPrefs::default()
    };
    // the app's L: the file, then its evaluation
    let mut app = app_with(prefs.clone(), 80, 24);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('L'));
    let st = app.training_mut().expect("training screen");
    let r = st.results().expect("results");
    assert!(r.loaded);
    assert_eq!(r.reports.len(), 2);
    let m = r.evaluation.confusion.as_ref().expect("evaluated");
    // 9 images: int(0.7 x 9) = 6 trained on, the 3 others validated on
    assert_eq!(m.total(), 3);
    assert!(
        (m.accuracy() - acc).abs() < 1e-6,
        "the file's own validation accuracy"
    );
    let text = crate::common::screen(&app, 80, 24);
    assert!(text.contains("loaded from its file"), "{text}");
    // the filters tab: the last filter selected stays in view, marked
    press(&mut app, KeyCode::Char('3'));
    for _ in 0..11 {
        press(&mut app, KeyCode::Right);
    }
    let text = crate::common::screen(&app, 80, 24);
    assert!(text.contains("[12]") && text.contains("of 12"), "{text}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("the file does not keep it"), "{text}");
    assert!(!text.contains("done"), "{text}");
}

/// The front ends' way (`Pace`): `L` with no model file is handed to the pace's worker
/// thread; the screen keeps answering meanwhile, and the outcome ("cannot load") arrives
/// through `Pace::collect` on a later turn, the same as `apply` gives at once.
#[test]
fn a_front_end_runs_a_blocking_effect_off_its_thread_and_collects_it() {
    use cnn_tutor::tui::Pace;
    let tmp = tempfile::tempdir().expect("tmp");
    let prefs = TrainPrefs {
        model_path: tmp.path().join("none.safetensors"),
        data_dir: tiny_data(tmp.path(), 4),
        ..TrainPrefs::default()
    };
    // the outcome as the tests' synchronous `apply` gives it
    let mut sync = app_with(prefs.clone(), 80, 24);
    press(&mut sync, KeyCode::Enter);
    press(&mut sync, KeyCode::Char('L'));
    let want = crate::common::screen(&sync, 80, 24);
    assert!(want.contains("none.safetensors"), "{want}");

    let mut app = app_with(prefs, 80, 24);
    let mut pace = Pace::new();
    pace.event(&mut app, AppEvent::Key(Key::new(KeyCode::Enter)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // what the screen's opening asked (devices, the data's preview) comes back first
    while std::time::Instant::now() < deadline {
        pace.collect(&mut app);
        std::thread::sleep(std::time::Duration::from_millis(20));
        if pace.wait() > std::time::Duration::from_millis(10) {
            break;
        }
    }
    let before = crate::common::screen(&app, 80, 24);
    pace.event(&mut app, AppEvent::Key(Key::new(KeyCode::Char('L'))));
    // the load ran (or runs) on the worker: nothing of it is on the screen until collected
    assert_eq!(crate::common::screen(&app, 80, 24), before);
    assert!(
        pace.wait() <= std::time::Duration::from_millis(10),
        "an outcome is awaited"
    );
    let mut got = String::new();
    let mut turns = 0;
    while std::time::Instant::now() < deadline {
        let turn = pace.collect(&mut app);
        turns += 1;
        if turn.redraw {
            got = crate::common::screen(&app, 80, 24);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(turns >= 1);
    assert_ne!(got, before);
    assert_eq!(
        got, want,
        "the outcome arrived through collect, as apply gives it"
    );
}

/// On the Network field the lower panel is the chosen network's table: each layer's
/// output, parameters and FLOPs from its plan, the totals, and a timed epoch; left/right
/// change it with the plan.
#[test]
fn the_network_field_shows_the_plans_table() {
    use cnn_tutor::nn::arch::{Arch, Plan, DEFAULT_INPUT};
    use cnn_tutor::nn::presets::PRESETS;
    let tmp = tempfile::tempdir().expect("tmp");
    let prefs = TrainPrefs {
        data_dir: tiny_data(tmp.path(), 4),
        model_path: tmp.path().join("m.safetensors"),
        ..TrainPrefs::default()
    };
    let mut app = app_with(prefs, 120, 40);
    press(&mut app, KeyCode::Enter);
    for _ in 0..5 {
        press(&mut app, KeyCode::Down);
    }
    let text = crate::common::screen(&app, 120, 40);
    assert!(text.contains("The network"), "{text}");
    let plan = Plan::course(3);
    assert!(text.contains("77,991"), "{text}");
    assert_eq!(plan.param_count(), 77_991);
    assert!(text.contains("s per epoch on this CPU"), "{text}");
    press(&mut app, KeyCode::Right);
    let t = app.training().unwrap();
    let n = t.prefs.settings.network;
    let p = Plan::new(&Arch::parse(PRESETS[n].text).unwrap(), DEFAULT_INPUT, 3).unwrap();
    let text = crate::common::screen(&app, 120, 40);
    let total = p.param_count().to_string();
    let grouped: String = total
        .chars()
        .rev()
        .collect::<Vec<_>>()
        .chunks(3)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(",")
        .chars()
        .rev()
        .collect();
    assert!(text.contains(&grouped), "{grouped}: {text}");
}

/// The layer editor: Enter on the Network field opens it; keys change a number, add,
/// move and delete layers, and the table follows the plan after every change; an
/// impossible network names its layer and cannot be started; `r` brings back the
/// course's net; it fits 80x24 and keeps the selected layer in view.
#[test]
fn the_layer_editor_changes_the_network_and_refuses_one_that_cannot_run() {
    use cnn_tutor::nn::arch::{Arch, Plan, DEFAULT_INPUT};
    let tmp = tempfile::tempdir().expect("tmp");
    let prefs = TrainPrefs {
        data_dir: tiny_data(tmp.path(), 4),
        model_path: tmp.path().join("m.safetensors"),
        ..TrainPrefs::default()
    };
    let mut app = app_with(prefs, 80, 24);
    press(&mut app, KeyCode::Enter);
    for _ in 0..5 {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    let text = crate::common::screen(&app, 80, 24);
    assert!(text.contains("edit its layers"), "{text}");
    // more filters in the first convolution: the table and the total follow the plan
    press(&mut app, KeyCode::Right);
    let arch = app.training().unwrap().prefs.settings.arch();
    assert_eq!(arch.layers[0].to_string(), "conv(16,3)");
    let plan = Plan::new(&arch, DEFAULT_INPUT, 3).unwrap();
    let text = crate::common::screen(&app, 80, 24);
    assert!(text.contains("16x128x128"), "{text}");
    let total = plan.param_count();
    assert_ne!(total, 77_991);
    let grouped = format!("{},{:03}", total / 1000, total % 1000);
    assert!(text.contains(&grouped), "{grouped}: {text}");
    assert!(text.contains("edited (from the course's net)"), "{text}");
    // add a batch norm after it (the eighth in the list), then move it down and back
    press(&mut app, KeyCode::Char('a'));
    for _ in 0..7 {
        press(&mut app, KeyCode::Right);
    }
    press(&mut app, KeyCode::Enter);
    let arch = app.training().unwrap().prefs.settings.arch();
    assert_eq!(arch.layers[1].to_string(), "batchnorm");
    press(&mut app, KeyCode::Char('J'));
    let arch = app.training().unwrap().prefs.settings.arch();
    assert_eq!(arch.layers[2].to_string(), "batchnorm");
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(
        app.training().unwrap().prefs.settings.arch().layers.len(),
        12
    );
    // a typed number out of range is refused where it is typed, with the reason
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    for c in "999".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    let text = crate::common::screen(&app, 80, 24);
    assert!(text.contains("filters 999 refused"), "{text}");
    // delete the flatten: the linear layer now meets maps, the plan names it
    for _ in 0..10 {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char('x'));
    let arch = app.training().unwrap().prefs.settings.arch();
    let err = Plan::new(&arch, DEFAULT_INPUT, 3).unwrap_err().to_string();
    let text = crate::common::screen(&app, 80, 24);
    assert!(text.contains("Cannot start: layer 11"), "{err}\n{text}");
    // the last layer is in view (the table scrolls)
    assert!(text.contains("11 linear"), "{text}");
    // close the editor and try to start: refused, still on the settings
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('s'));
    let text = crate::common::screen(&app, 80, 24);
    assert!(
        text.contains("This network cannot start: layer 11"),
        "{text}"
    );
    assert!(app.training().unwrap().run().is_none());
    // r in the editor: the course's net again
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('r'));
    let s = &app.training().unwrap().prefs.settings;
    assert_eq!(s.arch(), Arch::course());
    assert!(s.edited.is_none());
}

/// Every built-in experiment opens the lab with its setup: Enter on its first step
/// gives the settings its first run fixes, and on its second step those of the run
/// with the change.
#[test]
fn every_experiment_opens_the_lab_with_its_setup() {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let experiments: Vec<_> = lessons
        .iter()
        .filter(|l| l.kind() == "experiment")
        .collect();
    assert!(experiments.len() >= 6, "{}", experiments.len());
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tiny_data(tmp.path(), 4);
    for l in experiments {
        for step in 0..2 {
            let setup = l.lab_setup(step).expect("an experiment has a setup");
            let mut app = app_with(
                TrainPrefs {
                    data_dir: data.clone(),
                    model_path: tmp.path().join("m.safetensors"),
                    ..TrainPrefs::default()
                },
                80,
                24,
            );
            app.open_by_id(l.id()).expect("the experiment opens");
            for _ in 0..step {
                press(&mut app, KeyCode::Right);
            }
            press(&mut app, KeyCode::Enter);
            let s = &app.training().expect("the lab opened").prefs.settings;
            let id = l.id();
            assert_eq!(
                s.arch(),
                setup
                    .arch
                    .clone()
                    .unwrap_or_else(cnn_tutor::nn::arch::Arch::course),
                "{id} step {step}"
            );
            assert_eq!(s.epochs, setup.epochs.unwrap_or(5), "{id}");
            assert_eq!(s.lr, setup.lr.unwrap_or(0.001), "{id}");
            assert_eq!(s.augment, setup.augment.unwrap_or(false), "{id}");
            assert_eq!(s.train_share, setup.train_share.unwrap_or(1.0), "{id}");
            let text = crate::common::screen(&app, 80, 24);
            assert!(
                text.contains(&format!("Epochs         {}", s.epochs)),
                "{id}: {text}"
            );
        }
    }
}

/// The lab's settings (issue 24): optimizer, momentum (with SGD only), weight decay,
/// augmentation and train share reach the run's configuration; a changed value shows its
/// default, `d` restores the selected one and `D` all; a value out of range is refused
/// with the reason; a network over the memory limit does not start.
#[test]
fn the_lab_settings_show_defaults_reset_and_reach_the_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prefs = TrainPrefs {
        data_dir: tiny_data(tmp.path(), 4),
        model_path: tmp.path().join("m.safetensors"),
        ..TrainPrefs::default()
    };
    let mut app = app_with(prefs, 80, 24);
    press(&mut app, KeyCode::Enter);
    let settings = |app: &App| app.training().map(|t| t.prefs.settings.clone()).unwrap();
    let notice = |app: &App| {
        app.training()
            .and_then(|t| t.notice.clone())
            .unwrap_or_default()
    };
    // Epochs .. Network, then Optimizer
    for _ in 0..6 {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Right);
    assert!(settings(&app).sgd);
    let text = crate::common::screen(&app, 80, 24);
    assert!(
        text.contains("Optimizer      SGD with momentum  (default Adam)"),
        "{text}"
    );
    assert!(text.contains("d default"), "{text}");
    press(&mut app, KeyCode::Down); // momentum, shown with SGD
    press(&mut app, KeyCode::Left);
    assert_eq!(settings(&app).momentum, 0.8);
    press(&mut app, KeyCode::Down); // weight decay
    for c in ['2', '.', '5'] {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(notice(&app), "`2.5`: weight decay must be between 0 and 1");
    for c in ['0', '.', '0', '1'] {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Down); // augment
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Down); // train share
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Left);
    let s = settings(&app);
    assert_eq!(
        (s.weight_decay, s.augment, s.train_share),
        (0.01, true, 0.8)
    );
    let text = crate::common::screen(&app, 80, 24);
    assert!(
        text.contains("Train share    80%  (default 100%)"),
        "{text}"
    );
    let config = s.config(tmp.path().into(), Some(1));
    assert_eq!(
        config.optimizer,
        cnn_tutor::train::OptimizerChoice::Sgd { momentum: 0.8 }
    );
    assert_eq!(
        (config.weight_decay, config.augment, config.train_share),
        (0.01, true, 0.8)
    );
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(settings(&app).train_share, 1.0);
    // back to Adam: the momentum row goes, and up skips it
    for _ in 0..4 {
        press(&mut app, KeyCode::Up);
    }
    press(&mut app, KeyCode::Char('d'));
    assert!(!settings(&app).sgd);
    press(&mut app, KeyCode::Down);
    assert_eq!(
        app.training().and_then(|t| match &t.phase {
            cnn_tutor::tui::training::Phase::Settings(f) => Some(f.selected()),
            _ => None,
        }),
        Some(cnn_tutor::tui::training::SettingField::WeightDecay)
    );
    press(&mut app, KeyCode::Char('D'));
    assert_eq!(settings(&app), TrainSettings::default());

    // the batch-norm preset at batches of 1000 would pass 2 GB: refused where it starts
    let t = app.training_mut().unwrap();
    t.prefs.settings.network = 7;
    t.prefs.settings.batch_size = 1000;
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(
        app.training().map(|t| t.phase.kind()),
        Some(PhaseKind::Settings)
    );
    let n = notice(&app);
    assert!(
        n.contains("would need about") && n.contains("over the limit of 2048 MB"),
        "{n}"
    );
}
