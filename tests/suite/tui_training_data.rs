//! The training screen's Data field: Enter opens a path box, Tab completes it from the
//! file system, Enter reads the folder (its preview and warnings replace the old ones),
//! a folder that is not there keeps the box open saying so, and the choice outlives the
//! screen. A classroom session cannot select the field.

use std::path::Path;

use crate::common::screen;
use cnn_tutor::tui::training::{Effect, Need, SettingField, TrainPrefs};
use cnn_tutor::tui::{App, AppEvent, Key, KeyCode, Progress, Theme};
use image::{GrayImage, Luma};

/// `classes` folders of `per_class` grey 16x16 PNGs.
fn folder(root: &Path, classes: &[&str], per_class: usize) {
    for (k, name) in classes.iter().enumerate() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..per_class {
            let img = GrayImage::from_pixel(16, 16, Luma([(k * 40 + i) as u8]));
            img.save(dir.join(format!("{i}.png"))).unwrap();
        }
    }
}

fn press(app: &mut App, code: KeyCode) {
    cnn_tutor::tui::apply(app, AppEvent::Key(Key::new(code)));
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        cnn_tutor::tui::apply(app, AppEvent::Key(Key::char(c)));
    }
}

fn app_with(prefs: TrainPrefs) -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("lessons");
    let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
    app.set_train_prefs(prefs);
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(80, 24));
    app.open_by_id("train").expect("train lesson");
    press(&mut app, KeyCode::Enter);
    assert!(app.training().is_some(), "on the training screen");
    app
}

fn selected(app: &App) -> SettingField {
    match &app.training().unwrap().phase {
        cnn_tutor::tui::training::Phase::Settings(f) => f.selected(),
        _ => panic!("not on the settings"),
    }
}

#[test]
fn the_data_field_types_completes_and_reads_another_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    folder(&root.join("first"), &["cats", "dogs"], 6);
    folder(&root.join("digits"), &["one", "two", "three", "four"], 3);
    std::fs::create_dir(root.join("digits-empty")).unwrap();
    let mut app = app_with(TrainPrefs {
        data_dir: root.join("first"),
        ..TrainPrefs::default()
    });
    assert_eq!(app.training().unwrap().data.classes.len(), 2);
    // the form opens on Epochs, so Enter still starts the seed's run; Data is one up
    assert_eq!(selected(&app), SettingField::Epochs);
    press(&mut app, KeyCode::Up);
    assert_eq!(selected(&app), SettingField::Data);
    let text = screen(&app, 80, 24);
    assert!(text.contains("Data"), "{text}");
    assert!(text.contains("first"), "{text}");
    assert!(text.contains("Enter type a folder"), "{text}");

    // Enter opens the box with the folder in it; Ctrl-W takes off the last part
    press(&mut app, KeyCode::Enter);
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::ctrl('w')));
    typed(&mut app, "dig");
    // two folders start with "dig": Tab completes what they share and lists them
    press(&mut app, KeyCode::Tab);
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("digits-empty/") && text.contains("digits/"),
        "{text}"
    );
    assert!(text.contains("data folder:"), "{text}");
    typed(&mut app, "/");
    // a typo first: the box stays open and says so
    typed(&mut app, "x");
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 80, 24);
    assert!(text.contains("digits/x_  (no such folder)"), "{text}");
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Enter);
    let t = app.training().unwrap();
    assert_eq!(t.prefs.data_dir, root.join("digits/"));
    assert_eq!(t.data.classes.len(), 4);
    assert!(
        t.data.warnings.iter().any(|w| w.contains("fewer than 5")),
        "the new folder's warnings: {:?}",
        t.data.warnings
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("training on"), "{text}");
    assert!(text.contains("four (3)"), "{text}");

    // Esc in the box keeps the folder
    press(&mut app, KeyCode::Enter);
    typed(&mut app, "zzz");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.training().unwrap().prefs.data_dir, root.join("digits/"));
    assert!(
        app.training().is_some(),
        "Esc closed the box, not the screen"
    );

    // the choice outlives the screen
    press(&mut app, KeyCode::Esc);
    assert!(app.training().is_none());
    press(&mut app, KeyCode::Enter);
    let t = app.training().expect("back on the training screen");
    assert_eq!(t.prefs.data_dir, root.join("digits/"));
    assert_eq!(t.data.classes.len(), 4);
}

#[test]
fn a_folder_of_files_is_refused_and_a_paste_goes_into_the_box() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    folder(&root.join("first"), &["a", "b"], 5);
    folder(&root.join("second"), &["x", "y", "z"], 5);
    std::fs::write(root.join("notes.txt"), "x").unwrap();
    let mut app = app_with(TrainPrefs {
        data_dir: root.join("first"),
        ..TrainPrefs::default()
    });
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::ctrl('u')));
    cnn_tutor::tui::apply(
        &mut app,
        AppEvent::Paste(root.join("notes.txt").display().to_string()),
    );
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("notes.txt_  ("),
        "the path's end shows: {text}"
    );
    assert!(text.contains("(not a folder)"), "{text}");
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::ctrl('u')));
    cnn_tutor::tui::apply(
        &mut app,
        AppEvent::Paste(root.join("second").display().to_string()),
    );
    press(&mut app, KeyCode::Enter);
    let t = app.training().unwrap();
    assert_eq!(t.prefs.data_dir, root.join("second"));
    let names: Vec<&str> = t.data.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["x", "y", "z"]);
}

#[test]
fn a_classroom_session_cannot_choose_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("class-data");
    folder(&data, &["a", "b"], 5);
    let mut app = app_with(TrainPrefs {
        data_dir: data.clone(),
        restricted: true,
        ..TrainPrefs::default()
    });
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    assert_eq!(
        selected(&app),
        SettingField::Epochs,
        "Data cannot be selected"
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("class-data (the class's folder)"), "{text}");
    assert!(!text.contains("type a folder"), "{text}");
    assert!(
        !text.contains(&tmp.path().display().to_string()),
        "no server path: {text}"
    );
    // and the effects behind it are refused there, whoever asks
    let prefs = &app.training().unwrap().prefs;
    for effect in [
        Effect::ChooseData(tmp.path().to_path_buf()),
        Effect::Complete {
            text: "/".into(),
            dirs_only: true,
        },
    ] {
        assert_eq!(effect.need(), Some(Need::ReadFile));
        let done = cnn_tutor::tui::training::effects::run(prefs, effect);
        assert!(
            matches!(done, cnn_tutor::tui::training::Done::Refused(_)),
            "{done:?}"
        );
    }
}

#[test]
fn question_mark_lists_the_training_keys_and_esc_closes_only_the_list() {
    let tmp = tempfile::tempdir().unwrap();
    folder(&tmp.path().join("first"), &["a", "b"], 5);
    let mut app = app_with(TrainPrefs {
        data_dir: tmp.path().join("first"),
        ..TrainPrefs::default()
    });
    assert!(
        screen(&app, 80, 24).contains("? help"),
        "the hint line keeps ? help"
    );
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char('?')));
    assert!(app.help().is_some());
    // it opens on the training keys, even where it is one column that scrolls
    let text = screen(&app, 80, 24);
    assert!(text.contains("Training: settings"), "{text}");
    assert!(app.help() > Some(0), "scrolled to them: {:?}", app.help());
    let text = screen(&app, 120, 40);
    assert!(text.contains("Training: settings"), "{text}");
    assert!(text.contains("Data: type a folder"), "{text}");
    // keys go to the list while it is open: Esc closes it, and the screen stays
    press(&mut app, KeyCode::Esc);
    assert!(app.help().is_none());
    assert!(app.training().is_some(), "still on the training screen");
}

#[test]
fn a_classroom_results_screen_offers_no_files_and_names_no_server_paths() {
    use cnn_tutor::nn::net::Net;
    use cnn_tutor::train::{ConfusionMatrix, EpochReport, Summary, TrainEvent};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("class-data");
    folder(&data, &["a", "b"], 5);
    let mut app = app_with(TrainPrefs {
        data_dir: data,
        model_path: tmp.path().join("students").join("ada.safetensors"),
        restricted: true,
        ..TrainPrefs::default()
    });
    let t = app.training_mut().unwrap();
    t.begin();
    let report = EpochReport {
        epoch: 1,
        train_loss: 0.5,
        val_loss: 0.4,
        val_accuracy: 1.0,
        val_correct: 3,
        val_size: 3,
        train_images_per_second: 100.0,
        seconds: 1.0,
    };
    t.apply_event(TrainEvent::Epoch(report.clone()));
    t.apply_event(TrainEvent::Finished(Box::new(Summary {
        epochs: vec![report],
        saved: None,
        seconds: 1.0,
        confusion: ConfusionMatrix::new(2),
        classes: vec!["a".into(), "b".into()],
        net: Net::course(3, 2),
        meta: Default::default(),
        growth: None,
    })));
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char('4')));
    let text = screen(&app, 80, 24);
    assert!(text.contains("random validation image"), "{text}");
    assert!(!text.contains("o to type"), "o is off here:\n{text}");
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char('w')));
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("model saved as ada.safetensors on the server"),
        "{text}"
    );
    assert!(!text.contains(&tmp.path().display().to_string()), "{text}");
    assert!(tmp.path().join("students/ada.safetensors").is_file());
}

/// The Network field steps through the presets with the arrows (both ways round), says
/// what the chosen one changes, and the run it starts trains that network.
#[test]
fn the_network_field_chooses_a_preset_that_the_run_trains() {
    use cnn_tutor::nn::presets::PRESETS;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    folder(&data, &["a", "b"], 5);
    let mut app = app_with(TrainPrefs {
        data_dir: data,
        ..TrainPrefs::default()
    });
    for _ in 0..5 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(selected(&app), SettingField::Network);
    let text = screen(&app, 80, 24);
    assert!(text.contains("Network        the course's net"), "{text}");
    press(&mut app, KeyCode::Left);
    let last = PRESETS.len() - 1;
    assert_eq!(app.training().unwrap().prefs.settings.network, last);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right);
    let settings = &app.training().unwrap().prefs.settings;
    assert_eq!(settings.network, 1);
    let text = screen(&app, 80, 24);
    assert!(text.contains(PRESETS[1].name), "{text}");
    assert!(text.contains("half the filters"), "{text}");
    let config = settings.config("d".into(), None);
    assert_eq!(config.arch.to_string(), PRESETS[1].text);
    // the weights line counts the chosen network's weights for the data's two classes
    let text = screen(&app, 120, 40);
    let plan = cnn_tutor::nn::arch::Plan::new(&config.arch, cnn_tutor::nn::arch::DEFAULT_INPUT, 2)
        .unwrap();
    assert!(
        text.contains(&format!("= {}", plan.param_count())),
        "{text}"
    );
}
