//! Snapshots of every screen of the app, drawn into ratatui's `TestBackend` at 80x24 and
//! 120x40 (and 40x12 for the too-small message). The snapshots are plain text: what a person
//! would read on the screen.

use cnn_tutor::tui::{buffer_text, render, App, AppEvent, Key, KeyCode, Progress, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn app() -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("built-in lessons load");
    App::new(lessons, Theme::new(true, false), Progress::new())
}

/// Draw through a real `Terminal<TestBackend>`, as the app does.
fn screen(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal.draw(|f| render(app, f)).expect("draw");
    buffer_text(terminal.backend().buffer())
}

fn press(app: &mut App, keys: &[KeyCode]) {
    for k in keys {
        cnn_tutor::tui::apply(app, AppEvent::Key(Key::new(*k)));
    }
}

fn open(id: &str, w: u16, h: u16) -> App {
    let mut app = app();
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
    app.open_by_id(id).expect("lesson opens");
    app
}

#[test]
fn menu() {
    for (w, h) in SIZES {
        let mut app = app();
        cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
        insta::assert_snapshot!(format!("menu_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn menu_with_progress_marks() {
    let mut app = app();
    let ids: Vec<String> = app.lessons().iter().map(|l| l.id().to_string()).collect();
    // finish the first lesson, visit the second
    app.open_by_id(&ids[0]).expect("opens");
    press(&mut app, &[KeyCode::End, KeyCode::Esc, KeyCode::Down]);
    app.open_by_id(&ids[1]).expect("opens");
    press(&mut app, &[KeyCode::Esc]);
    insta::assert_snapshot!("menu_marks_80x24", screen(&app, 80, 24));
}

#[test]
fn every_lesson_first_and_middle_step() {
    let ids: Vec<String> = app().lessons().iter().map(|l| l.id().to_string()).collect();
    for id in &ids {
        for (w, h) in SIZES {
            let mut app = open(id, w, h);
            insta::assert_snapshot!(format!("{id}_first_{w}x{h}"), screen(&app, w, h));
            let n = app.lesson_state().expect("open").frames.len();
            for _ in 0..n / 2 {
                press(&mut app, &[KeyCode::Right]);
            }
            insta::assert_snapshot!(format!("{id}_middle_{w}x{h}"), screen(&app, w, h));
        }
    }
}

/// The occlusion lesson's finished map beside the picture (issue 25, item 6).
#[test]
fn occlusion_map_80x24() {
    let mut app = open("occlusion", 80, 24);
    let n = app.lesson_state().expect("open").frames.len();
    for _ in 0..n - 2 {
        press(&mut app, &[KeyCode::Right]);
    }
    insta::assert_snapshot!("occlusion_map_80x24", screen(&app, 80, 24));
}

#[test]
fn convolution_first_window_shows_155() {
    for (w, h) in SIZES {
        let mut app = open("convolution", w, h);
        // step forward until the first output cell is written
        let mut seen = false;
        for _ in 0..4 {
            press(&mut app, &[KeyCode::Right]);
            let text = screen(&app, w, h);
            if text.contains("= 155") {
                seen = true;
                insta::assert_snapshot!(format!("convolution_window1_{w}x{h}"), text);
                break;
            }
        }
        assert!(seen, "no step shows the first window's sum 155 at {w}x{h}");
    }
}

#[test]
fn help_overlay() {
    for (w, h) in SIZES {
        let mut app = open("convolution", w, h);
        cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char('?')));
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn too_small_message() {
    let app = app();
    let text = screen(&app, 40, 12);
    assert!(text.contains("40 x 12"), "{text}");
    insta::assert_snapshot!("too_small_40x12", text);
}

#[test]
fn edit_mode() {
    for (w, h) in SIZES {
        let mut app = open("convolution", w, h);
        press(&mut app, &[KeyCode::Right, KeyCode::Right]);
        cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char('e')));
        press(&mut app, &[KeyCode::Right, KeyCode::Down]);
        cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::char('3')));
        insta::assert_snapshot!(format!("edit_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn ascii_and_no_colour_convolution() {
    let mut app = open("convolution", 80, 24);
    app.set_theme(Theme::new(false, true));
    press(&mut app, &[KeyCode::Right, KeyCode::Right]);
    insta::assert_snapshot!("convolution_ascii_80x24", screen(&app, 80, 24));
}

#[test]
fn narrow_terminal_stacks_and_scrolls_panels() {
    let mut app = open("convolution", 60, 20);
    press(&mut app, &[KeyCode::Right]);
    insta::assert_snapshot!("convolution_window1_60x20", screen(&app, 60, 20));
    // Tab gives the panels the scroll keys; the feature map comes into view
    press(
        &mut app,
        &[KeyCode::Tab, KeyCode::Down, KeyCode::Down, KeyCode::Down],
    );
    let text = screen(&app, 60, 20);
    assert!(text.contains("155"), "{text}");
    insta::assert_snapshot!("convolution_window1_60x20_scrolled", text);
}
