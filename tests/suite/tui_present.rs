//! Presenter mode (issue 26, item 12): `--present` / `P` in a lesson hides the explanation,
//! draws the matrices with bigger cells where the terminal has room, and hides the value
//! the step computes until `v` reveals it.

use cnn_tutor::tui::{apply, App, AppEvent, Key, Progress, Theme};

fn presenting(id: &str, step: usize, w: u16, h: u16) -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("built-in lessons load");
    let mut app = App::new(lessons, Theme::new(true, false), Progress::new());
    apply(&mut app, AppEvent::Resize(w, h));
    app.set_present(true);
    app.open_by_id(id).expect("opens");
    app.open_step(step).expect("step");
    app
}

fn key(app: &mut App, c: char) {
    apply(app, AppEvent::Key(Key::char(c)));
}

#[test]
fn presenter_snapshots_at_80x24_and_160x50() {
    for (w, h) in [(80, 24), (160, 50)] {
        let app = presenting("convolution", 3, w, h);
        let screen = crate::common::screen(&app, w, h);
        insta::assert_snapshot!(format!("present_convolution_3_{w}x{h}"), screen);
        let app = presenting("pooling", 2, w, h);
        let screen = crate::common::screen(&app, w, h);
        insta::assert_snapshot!(format!("present_pooling_2_{w}x{h}"), screen);
    }
}

#[test]
fn bigger_cells_where_there_is_room_and_never_clipped() {
    // 160x50: every grid row takes two screen rows; 80x24: one, the whole grid shown
    let big = crate::common::screen(&presenting("convolution", 3, 160, 50), 160, 50);
    let small = crate::common::screen(&presenting("convolution", 3, 80, 24), 80, 24);
    let rows = |s: &str| {
        s.lines()
            .filter(|l| l.trim_start().starts_with("│ ") && l.contains("255"))
            .count()
    };
    assert_eq!(rows(&small), 6, "{small}");
    assert_eq!(rows(&big), 6, "{big}");
    // the Image panel's height: from its top corner down to the bottom corner below it
    let height = |s: &str| {
        let lines: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
        let top = lines
            .iter()
            .position(|l| l.iter().collect::<String>().contains("Image 6x6"))
            .unwrap();
        let col = lines[top].iter().position(|&c| c == '╭').unwrap();
        let bottom = (top + 1..lines.len())
            .find(|&i| lines[i].get(col) == Some(&'╰'))
            .unwrap();
        bottom - top
    };
    assert_eq!(height(&small), 7, "{small}");
    assert_eq!(height(&big), 12, "{big}");
    // the explanation is not drawn
    assert!(!big.contains("Each pixel is"), "{big}");
    let normal = {
        let mut app = presenting("convolution", 3, 80, 24);
        key(&mut app, 'P');
        assert!(!app.present());
        crate::common::screen(&app, 80, 24)
    };
    assert!(normal.contains("Each pixel is"), "{normal}");
}

#[test]
fn reveal_hides_the_steps_value_until_v_and_then_shows_the_engines_number() {
    let mut app = presenting("convolution", 3, 80, 24);
    // the value the step computes: the engine's, as its formula writes it
    let state = app.lesson_state().unwrap();
    let formula = state.frames[state.step].formula.clone().unwrap();
    let value = formula.rsplit("= ").next().unwrap().to_string();
    assert_eq!(value, "-155");
    let feature_row = |s: &str| {
        s.lines()
            .nth(4)
            .map(|l| l.rsplit('│').nth(1).unwrap_or("").to_string())
            .unwrap()
    };
    let hidden = crate::common::screen(&app, 80, 24);
    assert!(!hidden.contains(&value), "{hidden}");
    assert!(hidden.contains("= ?"), "{hidden}");
    assert_eq!(
        feature_row(&hidden).split_whitespace().collect::<Vec<_>>(),
        ["?", "155", "?", "?", "?", "?"]
    );
    assert!(hidden.contains("v reveal"), "{hidden}");
    key(&mut app, 'v');
    let shown = crate::common::screen(&app, 80, 24);
    assert!(shown.contains(&format!("= {value}")), "{shown}");
    assert_eq!(
        feature_row(&shown).split_whitespace().collect::<Vec<_>>(),
        ["?", "155", &value, "?", "?", "?"]
    );
    assert!(!shown.contains("v reveal"), "{shown}");
    // the next step hides its own value again
    apply(
        &mut app,
        AppEvent::Key(Key::new(cnn_tutor::tui::KeyCode::Right)),
    );
    let next = crate::common::screen(&app, 80, 24);
    assert!(next.contains("= ?"), "{next}");
    assert_eq!(
        feature_row(&next).split_whitespace().collect::<Vec<_>>(),
        ["?", "155", &value, "?", "?", "?"]
    );
}

#[test]
fn present_opens_with_lesson_and_step() {
    let options = cnn_tutor::tui::Options {
        start_lesson: Some("convolution".into()),
        start_step: Some(3),
        present: true,
        ..Default::default()
    };
    let (app, _) = cnn_tutor::tui::build_app(&options, Theme::new(false, true)).unwrap();
    assert!(app.present());
    assert_eq!(app.position(), Some((0, 2)));
    let screen = crate::common::screen(&app, 80, 24);
    assert!(screen.contains("= ?"), "{screen}");
}

/// High contrast: nothing on a presenter's screen is drawn dim or grey (the same step
/// outside presenter mode has dim text), and the value colours stay.
#[test]
fn the_presenters_screen_has_no_dim_or_grey_text() {
    use ratatui::style::{Color, Modifier};
    let dim = |buf: &ratatui::buffer::Buffer| {
        buf.content()
            .iter()
            .filter(|c| c.modifier.contains(Modifier::DIM) || c.fg == Color::DarkGray)
            .count()
    };
    let mut app = presenting("convolution", 3, 120, 40);
    let shown = cnn_tutor::tui::render_to_buffer(&app, 120, 40);
    assert_eq!(dim(&shown), 0);
    assert!(shown
        .content()
        .iter()
        .all(|c| c.modifier.contains(Modifier::BOLD)));
    key(&mut app, 'P');
    assert!(!app.present());
    assert!(dim(&cnn_tutor::tui::render_to_buffer(&app, 120, 40)) > 0);
}
