//! Runs kept and compared (issue 24 item 3): `cnn-tutor train` twice with two
//! architectures, then `runs --json`, `runs show`, `runs compare`; a bad record skipped
//! with one warning; the app trains twice, lists the runs, marks two and overlays their
//! curves, and opens a run's results again; snapshots of the Runs view from made-up
//! records at 80x24 and 120x40, ASCII without colour.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::screen;
use cnn_tutor::backend::DeviceChoice;
use cnn_tutor::train::runs::{RunConfig, RunRecord, RECORD_FILE};
use cnn_tutor::train::EpochReport;
use cnn_tutor::tui::training::{Phase, RunsView, TrainPrefs, TrainSettings};
use cnn_tutor::tui::{App, AppEvent, Key, KeyCode, Progress, Theme};

/// The course's net and a small one, with PyTorch's parameter counts for 3 classes on
/// 3x128x128 (from `tests/fixtures/arch/plans.json`, made by `make_arch_plans.py`).
fn pytorch_params(text: &str) -> u64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arch/plans.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = all["valid"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["normalised"] == text && c["input"] == serde_json::json!([3, 128, 128]))
        .unwrap_or_else(|| panic!("{text} in plans.json"));
    assert_eq!(case["classes"], 3);
    case["params"].as_u64().unwrap()
}

const COURSE: &str = "conv(12,3) maxpool(2) relu conv(12,3) maxpool(2) relu conv(24,3) dropout2d(0.2) relu dropout(0.5) flatten linear";
const SMALL: &str =
    "conv(16,3,stride=2,pad=0) relu maxpool(3,stride=2) flatten linear(10) sigmoid linear";

fn bin(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"));
    c.env("NO_COLOR", "1").env("CNN_TUTOR_STATE_DIR", state);
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn train(state: &Path, data: &Path, out: &Path, extra: &[&str]) {
    let o = bin(state)
        .args(["train", "--json", "--device", "cpu", "--threads", "2"])
        .args(["--batch-size", "8", "--data"])
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let (so, se) = text(&o);
    assert!(o.status.success(), "{so}\n{se}");
    let last: Value = serde_json::from_str(so.lines().last().unwrap()).unwrap();
    assert!(last["run"].is_string(), "{last}");
}

#[test]
fn two_headless_runs_are_listed_shown_and_compared() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let data = tmp.path().join("shapes");
    cnn_tutor::data::generate(&data, 12, 3).unwrap();
    train(
        &state,
        &data,
        &tmp.path().join("a.safetensors"),
        &["--epochs", "2"],
    );
    let sgd = [
        "--epochs",
        "3",
        "--arch",
        SMALL,
        "--optimizer",
        "sgd",
        "--lr",
        "0.01",
    ];
    train(&state, &data, &tmp.path().join("b.safetensors"), &sgd);

    let o = bin(&state).args(["runs", "--json"]).output().unwrap();
    let (so, se) = text(&o);
    assert!(o.status.success() && se.is_empty(), "{se}");
    let runs: Value = serde_json::from_str(&so).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{so}");
    for (r, (arch, epochs)) in runs.iter().zip([(COURSE, 2), (SMALL, 3)]) {
        assert_eq!(r["config"]["arch"], arch);
        assert_eq!(r["config"]["params"].as_u64(), Some(pytorch_params(arch)));
        assert_eq!(
            r["config"]["classes"],
            serde_json::json!(["circle", "square", "triangle"])
        );
        let e = r["epochs"].as_array().unwrap();
        assert_eq!(e.len(), epochs);
        for (i, ep) in e.iter().enumerate() {
            assert_eq!(ep["epoch"], i + 1);
            for k in [
                "train_loss",
                "val_loss",
                "val_accuracy",
                "train_images_per_second",
            ] {
                assert!(ep[k].as_f64().is_some_and(f64::is_finite), "{k}: {ep}");
            }
        }
        assert!(r["confusion"].as_array().is_some_and(|m| m.len() == 3));
        assert_eq!(r["model"], true);
        assert_eq!(r["stopped"], false);
        assert_eq!(
            r["config"]["device"].as_str().map(|d| d.starts_with("cpu")),
            Some(true)
        );
    }
    assert_eq!(runs[1]["config"]["optimizer"], "sgd");
    assert_eq!(runs[1]["config"]["lr"], 0.01);
    let ids: Vec<String> = runs
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_ne!(ids[0], ids[1]);
    // the kept weights are the run's: a checkpoint of its network
    let kept = state.join("runs").join(&ids[1]).join("model.safetensors");
    let (net, _) = cnn_tutor::nn::checkpoint::load(&kept).unwrap();
    assert_eq!(net.plan.arch.to_string(), SMALL);

    // the table lists both
    let o = bin(&state).arg("runs").output().unwrap();
    let (so, _) = text(&o);
    assert!(
        so.contains(&ids[0]) && so.contains(&ids[1]) && so.contains("course"),
        "{so}"
    );

    // compare: both, the settings that differ marked
    let o = bin(&state)
        .args(["runs", "compare", &ids[0], &ids[1]])
        .output()
        .unwrap();
    let (so, se) = text(&o);
    assert!(o.status.success(), "{se}");
    assert!(so.contains(&ids[0]) && so.contains(&ids[1]), "{so}");
    for diff in ["* arch", "* params", "* epochs", "* lr", "* optimizer"] {
        assert!(so.contains(diff), "{diff}: {so}");
    }
    assert!(so.contains("  batch_size"), "{so}");
    let o = bin(&state)
        .args(["runs", "compare", "--json", &ids[0], &ids[1]])
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(2));
    let diffs: Vec<&str> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        diffs.contains(&"arch") && diffs.contains(&"optimizer") && !diffs.contains(&"seed"),
        "{diffs:?}"
    );

    // show: every epoch and the confusion matrix
    let o = bin(&state)
        .args(["runs", "show", &ids[1]])
        .output()
        .unwrap();
    let (so, _) = text(&o);
    assert!(
        so.contains("Confusion matrix") && so.contains(SMALL),
        "{so}"
    );
    // one row per epoch: the epoch and its five figures
    let rows = so.lines().filter(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() == 6 && w[0].parse::<usize>().is_ok()
    });
    assert_eq!(rows.count(), 3, "{so}");

    // an unknown id: one line, exit 2
    for args in [
        &["runs", "show", "20000101-000000-1"][..],
        &["runs", "compare", &ids[0], "nope"],
    ] {
        let o = bin(&state).args(args).output().unwrap();
        let (so, se) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {se}");
        assert!(so.is_empty());
        assert_eq!(se.lines().count(), 1, "{se}");
        assert!(se.starts_with("error: no run"), "{se}");
    }

    // a record cut short is skipped with one warning naming it; the other is listed
    let cut = state.join("runs").join(&ids[0]).join(RECORD_FILE);
    let whole = std::fs::read_to_string(&cut).unwrap();
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let o = bin(&state).args(["runs", "--json"]).output().unwrap();
    let (so, se) = text(&o);
    assert!(o.status.success());
    assert_eq!(se.lines().count(), 1, "{se}");
    assert!(
        se.starts_with("warning: skipped run record") && se.contains(&ids[0]),
        "{se}"
    );
    let v: Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    let o = bin(&state)
        .args(["runs", "show", &ids[0]])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o).1.lines().count(), 1);
}

fn press(app: &mut App, code: KeyCode) {
    cnn_tutor::tui::apply(app, AppEvent::Key(Key::new(code)));
}

fn wait_for_results(app: &mut App) {
    let start = Instant::now();
    while app.training().is_some_and(|t| t.is_running()) {
        cnn_tutor::tui::apply(app, AppEvent::Tick);
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "training finishes"
        );
    }
    cnn_tutor::tui::apply(app, AppEvent::Tick);
    assert!(
        app.training().and_then(|t| t.results()).is_some(),
        "results"
    );
}

/// The app: train, train again with one more epoch, open the runs, mark both: the chart's
/// legend names both runs; Enter opens a run's results again without training.
#[test]
fn the_app_keeps_both_runs_and_overlays_their_curves() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("shapes");
    cnn_tutor::data::generate(&data, 10, 7).unwrap();
    let prefs = TrainPrefs {
        settings: TrainSettings {
            epochs: 1,
            batch_size: 5,
            lr: 0.001,
            device: DeviceChoice::Cpu,
            seed: 3,
            ..TrainSettings::default()
        },
        data_dir: data,
        model_path: tmp.path().join("m.safetensors"),
        runs_dir: Some(tmp.path().join("runs")),
        ..TrainPrefs::default()
    };
    let lessons = cnn_tutor::lesson::builtin().unwrap();
    let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
    app.set_train_prefs(prefs);
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(80, 24));
    app.open_by_id("train").unwrap();
    press(&mut app, KeyCode::Char('s'));
    wait_for_results(&mut app);
    // saving the model notes where in the run's record
    press(&mut app, KeyCode::Char('w'));
    // again, with one change: 2 epochs (the form opens on Epochs)
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Char('s'));
    wait_for_results(&mut app);
    press(&mut app, KeyCode::Char('R'));
    let t = app.training().unwrap();
    let Phase::Runs(v) = &t.phase else {
        panic!("the runs: {:?}", t.phase.kind())
    };
    let records = v.records.as_ref().expect("listed");
    assert_eq!(records.len(), 2);
    assert_eq!(
        records.iter().map(|r| r.epochs.len()).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(records
        .iter()
        .all(|r| r.model && r.config.front_end == "app"));
    let saved = std::fs::canonicalize(tmp.path().join("m.safetensors")).unwrap();
    assert_eq!(records[0].saved, Some(saved.display().to_string()));
    assert_eq!(records[1].saved, None);
    // newest first: #2 on top; mark it and #1
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char(' '));
    for (w, h) in [(80, 24), (120, 40)] {
        cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
        let s = screen(&app, w, h);
        assert!(s.is_ascii(), "{s}");
        assert!(
            s.contains("A #2 course lr0.001") && s.contains("B #1 course lr0.001"),
            "{s}"
        );
        assert!(s.contains("Validation accuracy"), "{s}");
    }
    // open #1 again: its evaluation, read from its kept weights and its own split
    press(&mut app, KeyCode::Enter);
    let t = app.training().unwrap();
    let r = t.results().expect("the run's results");
    assert_eq!(r.reports.len(), 1, "its loss history");
    assert!(r.evaluation.dataset.is_some(), "{:?}", t.notice);
    assert!(t.notice.as_deref().unwrap_or("").contains("opened again"));
    // and back to the runs, then back to the results it came from
    press(&mut app, KeyCode::Char('R'));
    press(&mut app, KeyCode::Esc);
    assert!(app.training().unwrap().results().is_some());
}

fn made_up(n: usize, arch: &str, epochs: usize, lr: f64) -> RunRecord {
    let config = cnn_tutor::train::TrainConfig {
        arch: cnn_tutor::nn::arch::Arch::parse(arch).unwrap(),
        epochs,
        lr,
        data_dir: "data/shapes".into(),
        ..Default::default()
    };
    let classes = ["circle", "square", "triangle"].map(String::from);
    let plan = cnn_tutor::nn::arch::Plan::new(&config.arch, [3, 128, 128], 3).unwrap();
    let rc = RunConfig::of(
        &config,
        plan.param_count(),
        "cpu (2 threads)",
        (840, 360),
        &classes,
        "app",
    );
    let reports = (1..=epochs)
        .map(|e| {
            let x = e as f64 * lr * 300.0;
            EpochReport {
                epoch: e,
                train_loss: 1.1 * (-0.5 * x).exp(),
                val_loss: 1.0 * (-0.4 * x).exp() + 0.03 * e as f64,
                val_accuracy: 1.0 - 0.6 * (-0.7 * x).exp(),
                val_correct: 0,
                val_size: 360,
                train_images_per_second: 400.0,
                seconds: 2.5,
            }
        })
        .collect();
    let mut r = RunRecord::stopped(rc, reports, 2.5 * epochs as f64 + n as f64);
    r.stopped = false;
    r.model = true;
    r.id = format!("20261207-1200{n:02}-1");
    r
}

/// The Runs view drawn from made-up records: the list, and two runs marked overlaid.
#[test]
fn runs_view_snapshots() {
    let records = vec![
        made_up(1, COURSE, 5, 0.001),
        made_up(2, cnn_tutor::nn::presets::PRESETS[1].text, 5, 0.003),
        made_up(3, SMALL, 3, 0.002),
    ];
    for (w, h) in [(80, 24), (120, 40)] {
        let lessons = cnn_tutor::lesson::builtin().unwrap();
        let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
        cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
        app.open_by_id("train").unwrap();
        press(&mut app, KeyCode::Enter);
        let t = app.training_mut().unwrap();
        let mut v = RunsView::new(None);
        v.set_records(records.clone());
        t.phase = Phase::Runs(Box::new(v));
        let s = screen(&app, w, h);
        assert!(s.is_ascii());
        insta::assert_snapshot!(format!("runs_list_{w}x{h}"), s);
        // sort by accuracy, mark the two best
        press(&mut app, KeyCode::Char('s'));
        press(&mut app, KeyCode::Char(' '));
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Char(' '));
        let s = screen(&app, w, h);
        assert!(s.is_ascii());
        insta::assert_snapshot!(format!("runs_overlay_{w}x{h}"), s);
    }
}

/// From the settings, `R` opens the runs (none kept here) and Esc goes back to them.
#[test]
fn the_runs_open_from_the_settings_and_close_back() {
    let lessons = cnn_tutor::lesson::builtin().unwrap();
    let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
    app.open_by_id("train").unwrap();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('R'));
    let t = app.training().unwrap();
    assert!(matches!(&t.phase, Phase::Runs(v) if v.records.as_ref().is_some_and(Vec::is_empty)));
    assert!(screen(&app, 80, 24).contains("No runs kept yet"));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.training().unwrap().phase, Phase::Settings(_)));
}

/// A run stopped after a whole epoch is kept as stopped: the epochs it finished, no
/// model, no confusion matrix; one stopped before any epoch is not kept.
#[test]
fn a_run_stopped_after_an_epoch_is_kept_as_stopped() {
    use cnn_tutor::train::TrainEvent;
    use cnn_tutor::tui::training::{spawn_worker_kept, WorkerMsg};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("shapes");
    cnn_tutor::data::generate(&data, 10, 7).unwrap();
    let runs = tmp.path().join("runs");
    let settings = TrainSettings {
        epochs: 50,
        batch_size: 5,
        lr: 0.001,
        device: DeviceChoice::Cpu,
        seed: 3,
        ..TrainSettings::default()
    };
    let (rx, handle) =
        spawn_worker_kept(&settings, data, Some(1), 64, None, Some(runs.clone())).unwrap();
    let start = Instant::now();
    loop {
        let m = rx.recv_timeout(Duration::from_secs(60)).expect("an event");
        if matches!(m, WorkerMsg::Train(TrainEvent::Epoch(_))) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60));
    }
    handle.cancel();
    handle.join();
    let (kept, warnings) = cnn_tutor::train::runs::load_all(&runs);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(kept.len(), 1);
    let r = &kept[0];
    assert!(r.stopped && !r.model && r.confusion.is_none(), "{r:?}");
    assert!((1..50).contains(&r.epochs.len()), "{}", r.epochs.len());
    assert_eq!(r.config.epochs, 50);
    assert!(!runs.join(&r.id).join("model.safetensors").exists());
}

/// A run's network with a strided first convolution opens again: its filters tab samples
/// the smaller maps from their own size (it indexed past them before).
#[test]
fn the_filters_of_a_strided_first_convolution_are_drawn() {
    use cnn_tutor::nn::arch::{Arch, Plan};
    use cnn_tutor::tui::training::Filters;
    let plan = Plan::new(&Arch::parse(SMALL).unwrap(), [3, 128, 128], 3).unwrap();
    let net = cnn_tutor::nn::net::Net::new(plan, 1);
    let image = vec![128u8; 3 * 128 * 128];
    let f = Filters::for_image(None, &net, Some(&image));
    assert_eq!(f.filters, 16);
    assert_eq!(f.maps.len(), 1 + 16, "the picture and one map per filter");
}

/// `cnn-tutor train` stopped by Ctrl-C (SIGINT) after a whole epoch: exit code 130, a
/// line saying so, and its epochs kept as a stopped run without a model.
#[cfg(unix)]
#[test]
fn a_headless_run_stopped_by_ctrl_c_is_kept_as_stopped() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let data = tmp.path().join("data");
    cnn_tutor::data::generate(&data, 6, 7).unwrap();
    let mut child = bin(&state)
        .args(["train", "--json", "--epochs", "1000", "--batch-size", "6"])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(tmp.path().join("m.safetensors"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    // wait for the first whole epoch, then interrupt as a terminal's Ctrl-C does
    let mut epochs = 0;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("\"val_loss\"") {
            epochs += 1;
            break;
        }
    }
    assert_eq!(epochs, 1, "no epoch line");
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("stopped after") && err.contains("kept as run"),
        "{err}"
    );
    let o = bin(&state).args(["runs", "--json"]).output().unwrap();
    let runs: Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["stopped"], true, "{}", runs[0]);
    let kept = runs[0]["epochs"].as_array().unwrap().len();
    assert!((1..1000).contains(&kept), "{kept}");
    assert!(!tmp.path().join("m.safetensors").exists());
}
