//! What keys do to the app's state, and what every screen may draw: no colour under
//! NO_COLOR, only ASCII in ASCII mode.

use cnn_tutor::lesson::frame::Panel;
use cnn_tutor::tui::{
    render_to_buffer, App, AppEvent, Focus, Key, KeyCode, Progress, Screen, Theme, SPEEDS_MS,
    TICK_MS,
};
use ratatui::style::Color;

fn app_with(theme: Theme) -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("built-in lessons load");
    App::new(lessons, theme, Progress::new())
}

fn fresh() -> App {
    app_with(Theme::new(true, false))
}

fn key(app: &mut App, code: KeyCode) {
    cnn_tutor::tui::apply(app, AppEvent::Key(Key::new(code)));
}

fn ch(app: &mut App, c: char) {
    cnn_tutor::tui::apply(app, AppEvent::Key(Key::char(c)));
}

fn step(app: &App) -> usize {
    app.lesson_state().expect("a lesson is open").step
}

fn frame_count(app: &App) -> usize {
    app.lesson_state().expect("a lesson is open").frames.len()
}

#[test]
fn menu_keys_choose_and_open() {
    let mut app = fresh();
    assert!(matches!(app.screen(), Screen::Menu));
    key(&mut app, KeyCode::Down);
    ch(&mut app, 'j');
    assert_eq!(app.selected(), 2);
    ch(&mut app, 'k');
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.selected(), 0, "stops at the top");
    key(&mut app, KeyCode::End);
    assert_eq!(app.selected(), app.lessons().len() - 1);
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::Enter);
    let state = app.lesson_state().expect("Enter opens the lesson");
    assert_eq!(state.lesson, 0);
    assert_eq!(state.step, 0);
    assert!(app.progress().get(app.lessons()[0].id()).visited);
}

#[test]
fn stepping_keys() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    let n = frame_count(&app);
    key(&mut app, KeyCode::Right);
    assert_eq!(step(&app), 1);
    ch(&mut app, ' ');
    ch(&mut app, 'l');
    assert_eq!(step(&app), 3);
    key(&mut app, KeyCode::Left);
    ch(&mut app, 'b');
    assert_eq!(step(&app), 1);
    // h is only ever "hint" (issue 23), never "previous step"
    ch(&mut app, 'h');
    assert_eq!(step(&app), 1);
    key(&mut app, KeyCode::End);
    assert_eq!(step(&app), n - 1);
    key(&mut app, KeyCode::Right);
    assert_eq!(step(&app), n - 1, "stays on the last step");
    assert!(app.progress().get("convolution").finished);
    key(&mut app, KeyCode::Home);
    assert_eq!(step(&app), 0);
    key(&mut app, KeyCode::Left);
    assert_eq!(step(&app), 0, "stays on the first step");
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.screen(), Screen::Menu));
    assert!(!app.should_quit());
}

#[test]
fn q_and_ctrl_c_quit_everywhere() {
    let mut app = fresh();
    ch(&mut app, 'q');
    assert!(app.should_quit());

    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    ch(&mut app, 'e');
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::ctrl('c')));
    assert!(app.should_quit(), "Ctrl-C quits even while editing");

    let mut app = fresh();
    ch(&mut app, '?');
    assert!(app.help().is_some());
    cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::ctrl('c')));
    assert!(app.should_quit(), "Ctrl-C quits from the help");
}

#[test]
fn help_opens_and_closes() {
    let mut app = fresh();
    app.open_by_id("relu").expect("opens");
    ch(&mut app, '?');
    assert!(app.help().is_some());
    key(&mut app, KeyCode::Right);
    assert_eq!(step(&app), 0, "keys go to the help while it is open");
    key(&mut app, KeyCode::Esc);
    assert!(app.help().is_none());
    assert!(app.lesson_state().is_some(), "Esc closes only the help");
}

#[test]
fn play_steps_on_ticks_and_speed_changes() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    let speed = app.lesson_state().expect("open").speed;
    let ticks = SPEEDS_MS[speed] / TICK_MS;
    ch(&mut app, 'p');
    assert!(app.lesson_state().expect("open").playing);
    for _ in 0..ticks {
        cnn_tutor::tui::apply(&mut app, AppEvent::Tick);
    }
    assert_eq!(step(&app), 1);
    ch(&mut app, '+');
    assert_eq!(app.lesson_state().expect("open").speed, speed + 1);
    ch(&mut app, '-');
    ch(&mut app, '-');
    assert_eq!(app.lesson_state().expect("open").speed, speed - 1);
    ch(&mut app, 'p');
    assert!(!app.lesson_state().expect("open").playing);
    for _ in 0..100 {
        cnn_tutor::tui::apply(&mut app, AppEvent::Tick);
    }
    assert_eq!(step(&app), 1, "paused: ticks do nothing");
    // playing stops at the end
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Left);
    ch(&mut app, 'p');
    for _ in 0..1000 {
        cnn_tutor::tui::apply(&mut app, AppEvent::Tick);
    }
    let state = app.lesson_state().expect("open");
    assert_eq!(state.step, state.frames.len() - 1);
    assert!(!state.playing);
}

#[test]
fn tab_moves_focus() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    assert_eq!(app.lesson_state().expect("open").focus, Focus::Text);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.lesson_state().expect("open").focus, Focus::Panels);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.lesson_state().expect("open").focus, Focus::Text);
}

/// All numbers of all frames' grids, flattened.
fn all_values(app: &App) -> Vec<Option<f32>> {
    let state = app.lesson_state().expect("open");
    state
        .frames
        .iter()
        .flat_map(|f| &f.panels)
        .filter_map(|p| match p {
            Panel::Grid(g) => Some(g.cells.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The value of cell (row, col) of the current step's grid whose label starts with `label`.
fn grid_value(app: &App, label: &str, row: usize, col: usize) -> Option<f32> {
    let state = app.lesson_state().expect("open");
    state.frames[state.step]
        .panels
        .iter()
        .find_map(|p| match p {
            Panel::Grid(g) if g.label.starts_with(label) => g.get(row, col),
            _ => None,
        })
}

#[test]
fn editing_a_filter_weight_changes_the_output() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    let targets = app.lessons()[0].edit_targets();
    let filter = targets
        .iter()
        .position(|t| t.name == "filter")
        .expect("the filter is editable");
    let before = all_values(&app);
    // the first window: (255 x 1) + ... = 155, written at row 1, column 1 of the feature map
    key(&mut app, KeyCode::Right);
    assert_eq!(grid_value(&app, "Feature map", 1, 1), Some(155.0));
    let old = app.lessons()[0].value(filter, 0, 0);
    assert_eq!(old, 1.0);
    ch(&mut app, 'e');
    assert!(app.lesson_state().expect("open").edit.is_some());
    while app
        .lesson_state()
        .expect("open")
        .edit
        .as_ref()
        .map(|e| e.target)
        != Some(filter)
    {
        key(&mut app, KeyCode::Tab);
    }
    // the filter's top-left weight 1 becomes 2: the sum gains one more 255
    ch(&mut app, '2');
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.lessons()[0].value(filter, 0, 0), 2.0);
    assert_eq!(grid_value(&app, "Feature map", 1, 1), Some(410.0));
    assert_ne!(before, all_values(&app), "every result recomputes");
    assert_eq!(step(&app), 1, "editing keeps the step");
    // Backspace and Esc: typing is cleared first, then editing ends
    ch(&mut app, '1');
    key(&mut app, KeyCode::Backspace);
    ch(&mut app, '9');
    key(&mut app, KeyCode::Esc);
    assert!(app.lesson_state().expect("open").edit.is_some());
    assert_eq!(app.lessons()[0].value(filter, 0, 0), 2.0);
    key(&mut app, KeyCode::Esc);
    assert!(app.lesson_state().expect("open").edit.is_none());
    // r resets to the lesson's numbers
    ch(&mut app, 'r');
    assert_eq!(app.lessons()[0].value(filter, 0, 0), old);
    assert_eq!(all_values(&app), before);
    assert_eq!(grid_value(&app, "Feature map", 1, 1), Some(155.0));
}

#[test]
fn bad_numbers_are_refused_with_a_note() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    ch(&mut app, 'e');
    let t = app
        .lesson_state()
        .and_then(|s| s.edit.as_ref())
        .expect("editing")
        .target;
    let old = app.lessons()[0].value(t, 0, 0);
    for c in "1-.".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.lessons()[0].value(t, 0, 0), old);
    assert!(app.notice().is_some_and(|n| n.contains("not a number")));
    for c in "99999999".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.lessons()[0].value(t, 0, 0), old);
    assert!(app.notice().is_some_and(|n| n.contains("between")));
}

#[test]
fn edit_cursor_stays_inside_the_target_and_tab_switches_target() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    let targets = app.lessons()[0].edit_targets();
    ch(&mut app, 'e');
    let editing = |app: &App| {
        app.lesson_state()
            .expect("open")
            .edit
            .clone()
            .expect("editing")
    };
    let first = editing(&app).target;
    assert_eq!(
        targets[first].name, "filter",
        "editing starts on the filter"
    );
    for _ in 0..20 {
        key(&mut app, KeyCode::Right);
        key(&mut app, KeyCode::Down);
    }
    let edit = editing(&app);
    assert_eq!(
        (edit.row, edit.col),
        (targets[first].rows - 1, targets[first].cols - 1)
    );
    key(&mut app, KeyCode::Tab);
    let edit = editing(&app);
    assert_ne!(edit.target, first, "Tab switches to the image");
    assert!(edit.row < targets[edit.target].rows && edit.col < targets[edit.target].cols);
    key(&mut app, KeyCode::BackTab);
    assert_eq!(editing(&app).target, first);
}

#[test]
fn presets_cycle() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    let presets = app.lessons()[0].presets();
    assert!(!presets.is_empty(), "the convolution lesson offers filters");
    let before = all_values(&app);
    ch(&mut app, 'f');
    assert!(app.notice().is_some_and(|n| n.contains(&presets[0])));
    assert_ne!(all_values(&app), before);
}

fn text(buf: &ratatui::buffer::Buffer) -> String {
    buf.content().iter().map(|c| c.symbol()).collect()
}

/// In a classroom with a teacher, the key hints say what `f` does: follow on the menu,
/// and while following, stop following (instead of cycling the lesson's filters).
#[test]
fn hints_say_what_f_does_for_a_classroom_student() {
    let mut app = fresh();
    assert!(!text(&render_to_buffer(&app, 100, 30)).contains("follow teacher"));
    app.set_follow(Some(false));
    assert!(text(&render_to_buffer(&app, 100, 30)).contains("f follow teacher"));
    app.open_by_id("convolution").expect("opens");
    let lesson = text(&render_to_buffer(&app, 100, 30));
    assert!(lesson.contains("f filters") && !lesson.contains("stop following"));
    app.set_follow(Some(true));
    let lesson = text(&render_to_buffer(&app, 100, 30));
    assert!(lesson.contains("f stop following") && !lesson.contains("f filters"));
    key(&mut app, KeyCode::Esc);
    assert!(text(&render_to_buffer(&app, 100, 30)).contains("f stop following"));
}

/// Every screen the app can show for the built-in lessons: the menu, every step of every
/// lesson, the help, at two sizes.
fn every_screen(theme: Theme, mut check: impl FnMut(&str, &ratatui::buffer::Buffer)) {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = app_with(theme);
        check("menu", &render_to_buffer(&app, w, h));
        ch(&mut app, '?');
        check("help", &render_to_buffer(&app, w, h));
        key(&mut app, KeyCode::Esc);
        let ids: Vec<String> = app.lessons().iter().map(|l| l.id().to_string()).collect();
        for id in ids {
            app.open_by_id(&id).expect("opens");
            for s in 0..frame_count(&app) {
                check(&format!("{id} step {s}"), &render_to_buffer(&app, w, h));
                key(&mut app, KeyCode::Right);
            }
            if id == "convolution" {
                ch(&mut app, 'e');
                check("edit", &render_to_buffer(&app, w, h));
                key(&mut app, KeyCode::Esc);
            }
            key(&mut app, KeyCode::Esc);
        }
        check("too small", &render_to_buffer(&app, 40, 12));
    }
}

#[test]
fn no_color_draws_no_colour() {
    every_screen(Theme::new(false, false), |name, buf| {
        for cell in &buf.content {
            assert!(
                cell.fg == Color::Reset && cell.bg == Color::Reset,
                "{name}: coloured cell {:?} ({:?} on {:?})",
                cell.symbol(),
                cell.fg,
                cell.bg
            );
        }
    });
}

#[test]
fn no_color_keeps_highlights_visible() {
    let mut app = app_with(Theme::new(false, false));
    app.open_by_id("convolution").expect("opens");
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Right);
    let buf = render_to_buffer(&app, 80, 24);
    let marked = buf
        .content
        .iter()
        .filter(|c| {
            !c.modifier.is_empty() && c.symbol().trim().chars().any(|ch| ch.is_ascii_digit())
        })
        .count();
    assert!(marked > 0, "window and emphasis are drawn bold/reversed");
    let text = cnn_tutor::tui::buffer_text(&buf);
    assert!(
        text.contains('[') && text.contains(']'),
        "the window has brackets"
    );
}

#[test]
fn ascii_mode_draws_only_ascii() {
    every_screen(Theme::new(true, true), |name, buf| {
        for cell in &buf.content {
            assert!(
                cell.symbol().is_ascii(),
                "{name}: non-ASCII symbol {:?}",
                cell.symbol()
            );
        }
    });
}

#[test]
fn unknown_lesson_id_is_an_error_naming_the_ids() {
    let mut app = fresh();
    let err = app.open_by_id("nope").expect_err("unknown id");
    let msg = err.to_string();
    assert!(msg.contains("nope") && msg.contains("convolution"), "{msg}");
}

#[test]
fn resize_is_remembered_and_small_sizes_draw_a_message() {
    let mut app = fresh();
    assert!(cnn_tutor::tui::apply(&mut app, AppEvent::Resize(50, 15)).redraw);
    assert_eq!(app.size(), (50, 15));
    let text = cnn_tutor::tui::buffer_text(&render_to_buffer(&app, 50, 15));
    assert!(text.contains("50 x 15"), "{text}");
    // the tiniest terminals do not panic
    for (w, h) in [(0, 0), (1, 1), (5, 2), (59, 40), (200, 19)] {
        let _ = render_to_buffer(&app, w, h);
    }
}

#[test]
fn dropout_keys_reroll_and_change_p() {
    let mut app = fresh();
    app.open_by_id("dropout").expect("opens");
    let i = app
        .lessons()
        .iter()
        .position(|l| l.id() == "dropout")
        .expect("dropout lesson");
    let p = app.lessons()[i].dropout_p();
    ch(&mut app, ']');
    assert!((app.lessons()[i].dropout_p() - (p + 0.1)).abs() < 1e-6);
    assert!(app.notice().is_some_and(|n| n.contains("p =")));
    ch(&mut app, '[');
    ch(&mut app, '[');
    assert!((app.lessons()[i].dropout_p() - (p - 0.1)).abs() < 1e-6);
    let seed = app.lessons()[i].seed();
    ch(&mut app, 'r');
    assert_ne!(app.lessons()[i].seed(), seed, "r draws new drops");
    // + and - stay the play speed here too
    let speed = app.lesson_state().expect("open").speed;
    ch(&mut app, '+');
    assert_eq!(app.lesson_state().expect("open").speed, speed + 1);
}

#[test]
fn edit_cursor_is_drawn_in_the_grid() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    let plain = render_to_buffer(&app, 80, 24);
    ch(&mut app, 'e');
    let editing = render_to_buffer(&app, 80, 24);
    let reversed_or_coloured = |buf: &ratatui::buffer::Buffer| {
        buf.content
            .iter()
            .filter(|c| c.bg == Color::Magenta)
            .count()
    };
    assert_eq!(reversed_or_coloured(&plain), 0);
    // the cursor cell in the lesson's grid and in the editor
    assert!(reversed_or_coloured(&editing) >= 2);
}

#[test]
fn the_train_lesson_shows_its_frames() {
    let mut app = fresh();
    app.open_by_id("train").expect("opens");
    assert!(frame_count(&app) >= 1);
    let text = cnn_tutor::tui::buffer_text(&render_to_buffer(&app, 80, 24));
    assert!(text.contains("Training"), "{text}");
}

#[test]
fn the_app_can_move_to_another_thread() {
    // an SSH server runs one App per connection on its own task
    fn assert_send<T: Send + 'static>() {}
    assert_send::<App>();
    assert_send::<AppEvent>();
}

#[test]
fn a_lesson_reopens_where_it_was_left() {
    let mut app = fresh();
    key(&mut app, KeyCode::Enter);
    for _ in 0..3 {
        key(&mut app, KeyCode::Right);
    }
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Enter);
    assert_eq!(step(&app), 3, "back at the step it was left at");
    // a finished lesson starts over
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Enter);
    assert_eq!(step(&app), 0);
}

#[test]
fn resizing_a_real_terminal_redraws_cleanly() {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    key(&mut app, KeyCode::Right);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    for (w, h) in [(80, 24), (40, 12), (120, 40), (80, 24)] {
        terminal.backend_mut().resize(w, h);
        cnn_tutor::tui::apply(&mut app, AppEvent::Resize(w, h));
        terminal.autoresize().expect("resize");
        terminal
            .draw(|f| cnn_tutor::tui::render(&app, f))
            .expect("draw");
        let text = cnn_tutor::tui::buffer_text(terminal.backend().buffer());
        if w < 60 {
            assert!(text.contains("40 x 12"), "{text}");
            assert!(!text.contains("155"), "nothing of the lesson shows through");
        } else {
            assert!(text.contains("= 155"), "{text}");
            assert!(!text.contains("too small"));
        }
    }
}

/// issue 23: `i` in the whole-network lesson with no model says how to get one, and a
/// notice has a row of its own: the hint line keeps every key at 80x24.
#[test]
fn inspect_without_a_model_says_how_and_the_hints_stay() {
    let mut app = fresh();
    app.open_by_id("architecture").expect("opens");
    let before = crate::common::screen(&app, 80, 24);
    let hint_line = before.lines().last().unwrap().to_string();
    assert!(hint_line.contains("? help"), "{before}");
    ch(&mut app, 'i');
    assert!(
        app.notice()
            .is_some_and(|n| n.contains("lesson 9") && n.contains("(L)")),
        "{:?}",
        app.notice()
    );
    let after = crate::common::screen(&app, 80, 24);
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(lines[lines.len() - 1], hint_line, "{after}");
    assert!(
        lines[lines.len() - 2].contains("no model to look inside yet"),
        "{after}"
    );
    assert!(
        !lines[lines.len() - 2].contains('…'),
        "the notice is whole: {after}"
    );
}

/// issue 23: a decimal weight widens the feature map and pushes it below the other
/// panels at 80x24; the panels scroll so that the value just written stays on screen.
#[test]
fn the_value_just_written_stays_on_screen_after_an_edit() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    for _ in 0..13 {
        key(&mut app, KeyCode::Right);
    }
    ch(&mut app, 'e');
    for c in "1.5".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    // the editor still open below the panels
    assert!(app.lesson_state().expect("open").edit.is_some());
    let screen = crate::common::screen(&app, 80, 24);
    // window 13 writes -105 at row 5 of the feature map: that row is on screen
    assert!(screen.contains("Window 13 of 16"), "{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.contains("│    ? -105    ?    ?    ?    ? │")),
        "{screen}"
    );
}

/// The row of the screen with the feature map's title, and where the title starts.
fn feature_map_at(screen: &str) -> Option<(usize, usize)> {
    screen
        .lines()
        .enumerate()
        .find_map(|(y, l)| l.find("Feature map").map(|x| (y, l[..x].chars().count())))
}

/// issue 23 #18: at 80x24 a decimal weight and a six-digit pixel leave the panels where
/// they were: the feature map keeps its place and its size, wholly on screen, and shows
/// the sum just written (compactly when it is wider than its cell).
#[test]
fn edits_never_move_the_feature_map_at_80x24() {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    key(&mut app, KeyCode::Right);
    let before = crate::common::screen(&app, 80, 24);
    let (y0, x0) = feature_map_at(&before).expect("the feature map is on screen");
    let width_of = |screen: &str, y: usize| screen.lines().nth(y).map(|l| l.chars().count());
    // a weight of 1.5, then the image's first pixel 999999
    ch(&mut app, 'e');
    for c in "1.5".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Tab);
    for _ in 0..5 {
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Left);
    }
    for c in "999999".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    let state = app.lesson_state().expect("open");
    let conv = &state.frames[state.step];
    let sum = conv.panels.iter().find_map(|p| match p {
        cnn_tutor::lesson::frame::Panel::Grid(g) if g.label.starts_with("Feature map") => g
            .emphasis
            .first()
            .and_then(|&(r, c)| g.cells[r * g.cols + c]),
        _ => None,
    });
    let sum = sum.expect("the window's sum");
    let formula = conv.formula.clone().unwrap_or_default();
    assert!(formula.starts_with("(999999 x 1.5)"), "{formula}");
    for (screen, what) in [
        (crate::common::screen(&app, 80, 24), "editing"),
        (
            {
                key(&mut app, KeyCode::Esc);
                crate::common::screen(&app, 80, 24)
            },
            "after editing",
        ),
    ] {
        let (y, x) = feature_map_at(&screen).expect("the feature map is on screen");
        assert_eq!((y, x), (y0, x0), "{what}: it did not move\n{screen}");
        let lines: Vec<&str> = screen.lines().collect();
        // its six rows and its bottom border are on screen, in the same columns
        for dy in 1..=7 {
            let border = lines[y + dy].chars().nth(x0 - 2);
            let want = if dy == 7 { '╰' } else { '│' };
            assert_eq!(
                border,
                Some(want),
                "{what}: row {dy} of the panel\n{screen}"
            );
        }
        assert_eq!(width_of(&screen, y), width_of(&before, y0));
        // the sum just written, compactly: its value in millions
        let shown = cnn_tutor::lesson::fmt_cell(sum, 4);
        assert!(shown.ends_with('M'), "{shown}");
        assert!(
            lines[y + 2].contains(&format!(" {shown} ")),
            "{what}\n{screen}"
        );
    }
}
