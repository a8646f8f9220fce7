//! The key tables walked: on every screen, in states that represent it, every binding that
//! applies is the one its keys reach and does what its label says; every key the hint line
//! shows is in the table and changes something; every key the help lists is bound.

use cnn_tutor::tui::help::{HelpAction, HelpState, HELP};
use cnn_tutor::tui::keys::{action_for, hint_keys, hints, Binding, KeySpec};
use cnn_tutor::tui::lesson_screen::{EditAction, LessonAction, EDIT, LESSON};
use cnn_tutor::tui::menu::{MenuAction, MenuState, MENU};
use cnn_tutor::tui::training::{OverTrainingAction, PhaseKind, TrainPrefs, OVER_TRAINING};
use cnn_tutor::tui::LessonState;
use cnn_tutor::tui::{
    buffer_text, render_to_buffer, App, AppEvent, Key, KeyCode, Progress, Screen, Theme,
};

fn fresh() -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("built-in lessons load");
    let mut app = App::new(lessons, Theme::new(false, false), Progress::new());
    // training started from a test reads a folder that does not exist, and stops at once
    app.set_train_prefs(TrainPrefs {
        data_dir: std::env::temp_dir().join("cnn-tutor-tui-keys-no-such-folder"),
        model_path: std::env::temp_dir().join("cnn-tutor-tui-keys-no-such-folder/m"),
        ..TrainPrefs::default()
    });
    app
}

fn press(app: &mut App, key: Key) {
    cnn_tutor::tui::apply(app, AppEvent::Key(key));
}

fn code(app: &mut App, code: KeyCode) {
    press(app, Key::new(code));
}

/// A state to walk, built fresh for every key pressed in it.
struct Case {
    name: &'static str,
    build: fn() -> App,
    /// The focused part can scroll further down (so the scroll-down keys must move it).
    scrolls: bool,
    /// Keys the hint line shows that do nothing in this state, and why that is right.
    idle: &'static [(KeySpec, &'static str)],
}

impl Case {
    fn new(name: &'static str, build: fn() -> App) -> Self {
        Case {
            name,
            build,
            scrolls: false,
            idle: &[],
        }
    }
}

fn lesson_at_middle(id: &str) -> App {
    let mut app = fresh();
    app.open_by_id(id).expect("opens");
    let n = app.lesson_state().expect("open").frames.len();
    for _ in 0..n / 2 {
        code(&mut app, KeyCode::Right);
    }
    app
}

fn menu_cases() -> Vec<Case> {
    vec![
        Case::new("menu, third lesson selected, a notice", || {
            let mut app = fresh();
            code(&mut app, KeyCode::Down);
            code(&mut app, KeyCode::Down);
            app.set_notice("a notice");
            app
        }),
        Case {
            idle: &[(KeySpec::Ctrl('r'), "the classroom session takes it")],
            ..Case::new("menu, classroom student", || {
                let mut app = fresh();
                app.set_follow(Some(false));
                code(&mut app, KeyCode::Down);
                app
            })
        },
        Case {
            idle: &[(KeySpec::Ctrl('r'), "the classroom session takes it")],
            ..Case::new("menu, following the teacher", || {
                let mut app = fresh();
                app.set_follow(Some(true));
                code(&mut app, KeyCode::Down);
                app
            })
        },
    ]
}

fn lesson_cases() -> Vec<Case> {
    vec![
        Case::new("convolution, middle step", || {
            lesson_at_middle("convolution")
        }),
        Case::new("convolution, playing", || {
            let mut app = lesson_at_middle("convolution");
            press(&mut app, Key::char('p'));
            app
        }),
        Case::new("convolution, following the teacher", || {
            let mut app = lesson_at_middle("convolution");
            app.set_follow(Some(true));
            app
        }),
        Case {
            scrolls: true,
            ..Case::new("convolution, 60x20, panels scrolled", || {
                let mut app = fresh();
                cnn_tutor::tui::apply(&mut app, AppEvent::Resize(60, 20));
                app.open_by_id("convolution").expect("opens");
                code(&mut app, KeyCode::Right);
                code(&mut app, KeyCode::Tab);
                // the scroll keys' limits are those of the last frame drawn
                render_to_buffer(&app, 60, 20);
                code(&mut app, KeyCode::Down);
                code(&mut app, KeyCode::Down);
                app
            })
        },
        Case::new("dropout, middle step", || lesson_at_middle("dropout")),
        Case::new("architecture, middle step", || {
            lesson_at_middle("architecture")
        }),
        Case::new("relu, middle step", || lesson_at_middle("relu")),
        Case::new("backprop, middle step", || lesson_at_middle("backprop")),
        Case::new("backprop, two updates", || {
            let mut app = lesson_at_middle("backprop");
            press(&mut app, Key::new(KeyCode::Char('>')));
            app
        }),
        Case::new("convolution, your turn, a question open", || your_turn("")),
        Case::new("convolution, your turn, 15 typed", || your_turn("15")),
        Case::new("convolution, your turn, answered", || {
            let mut app = your_turn("155");
            code(&mut app, KeyCode::Enter);
            app
        }),
        Case::new("convolution, your turn, every hint given", || {
            let mut app = your_turn("");
            press(&mut app, Key::char('h'));
            press(&mut app, Key::char('h'));
            app
        }),
        Case {
            idle: &[
                (
                    KeySpec::Code(KeyCode::Right),
                    "two steps: the middle is the last",
                ),
                (
                    KeySpec::Code(KeyCode::End),
                    "two steps: the middle is the last",
                ),
            ],
            ..Case::new("train lesson", || lesson_at_middle("train"))
        },
    ]
}

/// The convolution lesson with "your turn" on, at window 1 (asked), `typed` typed.
fn your_turn(typed: &str) -> App {
    let mut app = fresh();
    app.open_by_id("convolution").expect("opens");
    press(&mut app, Key::char('y'));
    code(&mut app, KeyCode::Right);
    for c in typed.chars() {
        press(&mut app, Key::char(c));
    }
    app
}

fn editing(typed: &str) -> App {
    let mut app = lesson_at_middle("convolution");
    press(&mut app, Key::char('e'));
    code(&mut app, KeyCode::Down);
    code(&mut app, KeyCode::Right);
    for c in typed.chars() {
        press(&mut app, Key::char(c));
    }
    app
}

fn edit_cases() -> Vec<Case> {
    vec![
        Case {
            idle: &[(KeySpec::Code(KeyCode::Enter), "set: nothing typed yet")],
            ..Case::new("editing, nothing typed", || editing(""))
        },
        Case::new("editing, 2 typed", || editing("2")),
        Case::new("editing, following the teacher", || {
            let mut app = editing("1");
            app.set_follow(Some(true));
            app
        }),
    ]
}

fn help_cases() -> Vec<Case> {
    vec![
        Case::new("help, scrolled one line, 60x20", || {
            let mut app = fresh();
            cnn_tutor::tui::apply(&mut app, AppEvent::Resize(60, 20));
            press(&mut app, Key::char('?'));
            code(&mut app, KeyCode::Down);
            app
        }),
        Case::new("help, following the teacher", || {
            let mut app = fresh();
            cnn_tutor::tui::apply(&mut app, AppEvent::Resize(60, 20));
            app.set_follow(Some(true));
            press(&mut app, Key::char('?'));
            code(&mut app, KeyCode::Down);
            app
        }),
    ]
}

fn edit_state(app: &App) -> Option<&cnn_tutor::tui::EditState> {
    app.lesson_state().and_then(|s| s.edit.as_ref())
}

fn scroll(app: &App) -> (u16, u16) {
    app.lesson_state()
        .map_or((0, 0), |s| (s.text_scroll, s.panel_scroll))
}

fn values(app: &App) -> Vec<f32> {
    let Some(s) = app.lesson_state() else {
        return Vec::new();
    };
    let lesson = &app.lessons()[s.lesson];
    let mut v = Vec::new();
    for (t, target) in lesson.edit_targets().iter().enumerate() {
        for r in 0..target.rows {
            for c in 0..target.cols {
                v.push(lesson.value(t, r, c));
            }
        }
    }
    v
}

fn notice_has(app: &App, part: &str) -> bool {
    app.notice().is_some_and(|n| n.contains(part))
}

fn follow_toggled(b: &App, a: &App) -> bool {
    a.follow().is_some() && a.follow() != b.follow()
}

fn menu_effect(action: MenuAction, b: &App, a: &App) -> bool {
    let last = b.lessons().len() - 1;
    match action {
        MenuAction::Help => a.help() == Some(0),
        MenuAction::Quit => a.should_quit(),
        MenuAction::Follow => follow_toggled(b, a),
        MenuAction::Up => a.selected() == b.selected().saturating_sub(1),
        MenuAction::Down => a.selected() == (b.selected() + 1).min(last),
        MenuAction::First => a.selected() == 0,
        MenuAction::Last => a.selected() == last,
        MenuAction::Open => a.lesson_state().is_some_and(|s| s.lesson == b.selected()),
        MenuAction::ClearNotice => a.notice().is_none(),
        // the classroom session takes Ctrl-R before the app: the app itself does nothing
        MenuAction::Hand => {
            a.selected() == b.selected() && !a.should_quit() && a.lesson_state().is_none()
        }
    }
}

fn quiz_of(app: &App) -> cnn_tutor::tui::QuizState {
    app.lesson_state()
        .map(|s| (*s.quiz).clone())
        .unwrap_or_default()
}

fn lesson_effect(case: &Case, action: LessonAction, key: Key, b: &App, a: &App) -> bool {
    let Some(before) = b.lesson_state() else {
        return false;
    };
    let after = a.lesson_state();
    let step = after.map(|s| s.step);
    let last = before.frames.len() - 1;
    let fastest = cnn_tutor::tui::SPEEDS_MS.len() - 1;
    let lesson = |app: &App| app.lessons()[before.lesson].clone();
    // a lesson that re-rolls draws random drops (the clone's re-roll is thrown away)
    let drops = lesson(b).reroll();
    let (t0, p0) = (before.text_scroll, before.panel_scroll);
    let focused = |s: (u16, u16)| match before.focus {
        cnn_tutor::tui::Focus::Text => s.0,
        cnn_tutor::tui::Focus::Panels => s.1,
    };
    match action {
        LessonAction::Help => a.help() == Some(0),
        LessonAction::Quit => a.should_quit(),
        LessonAction::Follow => follow_toggled(b, a),
        LessonAction::Present => a.present() != b.present(),
        LessonAction::Reveal => after.is_some_and(|s| s.revealed && !before.revealed),
        LessonAction::TrainNow => a
            .training()
            .is_some_and(|t| t.phase.kind() != PhaseKind::Settings),
        LessonAction::TrainSettings => a
            .training()
            .is_some_and(|t| t.phase.kind() == PhaseKind::Settings),
        LessonAction::Inspect => a.inspector().is_some(),
        LessonAction::InspectHowTo => a.notice().is_some_and(|n| n.contains("lesson 9")),
        LessonAction::Next => step == Some((before.step + 1).min(last)),
        LessonAction::Previous => step == Some(before.step.saturating_sub(1)),
        LessonAction::First => step == Some(0),
        LessonAction::Last => step == Some(last),
        LessonAction::PlayPause => after.is_some_and(|s| s.playing != before.playing),
        LessonAction::Faster => after.is_some_and(|s| s.speed == (before.speed + 1).min(fastest)),
        LessonAction::Slower => after.is_some_and(|s| s.speed == before.speed.saturating_sub(1)),
        LessonAction::Focus => after.is_some_and(|s| s.focus != before.focus),
        LessonAction::ScrollUp | LessonAction::PageUp => {
            let (was, now) = (focused((t0, p0)), focused(scroll(a)));
            now < was || was == 0 && now == 0
        }
        LessonAction::ScrollDown | LessonAction::PageDown => {
            let (was, now) = (focused((t0, p0)), focused(scroll(a)));
            now > was || !case.scrolls && now == was
        }
        LessonAction::Back => matches!(a.screen(), Screen::Menu),
        LessonAction::Edit => {
            edit_state(a).is_some() || notice_has(a, "nothing to edit in this lesson")
        }
        LessonAction::NextPreset => {
            (notice_has(a, "filter: ") && values(a) != values(b))
                || (lesson(b).presets().is_empty() && notice_has(a, "no preset filters"))
        }
        LessonAction::Reroll => {
            if drops {
                lesson(a).seed() != lesson(b).seed() && notice_has(a, "new random drops")
            } else if lesson(b).edit_targets().is_empty() {
                a.notice() == b.notice()
            } else {
                notice_has(a, "numbers reset to the lesson's own")
            }
        }
        LessonAction::YourTurn => a.your_turn() != b.your_turn(),
        LessonAction::AnswerType => {
            let KeyCode::Char(c) = key.code else {
                return false;
            };
            quiz_of(a).input == format!("{}{c}", quiz_of(b).input)
        }
        LessonAction::AnswerDelete => {
            quiz_of(a).input.len() == quiz_of(b).input.len().saturating_sub(1)
        }
        LessonAction::AnswerCheck => {
            // checked: right, wrong, or told what to type; never nothing
            let (qa, qb) = (quiz_of(a), quiz_of(b));
            qa.feedback.is_some() && (qa.feedback != qb.feedback || qa.outcomes != qb.outcomes)
        }
        LessonAction::AnswerHint => {
            quiz_of(a).hints == quiz_of(b).hints + 1 || notice_has(a, "no more hints")
        }
        LessonAction::AnswerSkip => {
            b.open_question().is_some()
                && a.open_question().is_none()
                && quiz_of(a)
                    .outcomes
                    .contains(&Some(cnn_tutor::tui::Outcome::Skipped))
        }
        LessonAction::LowerP | LessonAction::RaiseP => {
            let p = |app: &App| lesson(app).dropout_p();
            let moved = if action == LessonAction::LowerP {
                p(a) < p(b)
            } else {
                p(a) > p(b)
            };
            if drops {
                notice_has(a, "dropout p = ") && moved
            } else {
                p(a) == p(b) && a.notice() == b.notice()
            }
        }
        LessonAction::NextTarget => match lesson(b).target_class() {
            Some(was) => lesson(a).target_class() != Some(was) && notice_has(a, "target class: "),
            None => a.notice() == b.notice(),
        },
        LessonAction::MoreUpdates | LessonAction::FewerUpdates => {
            let n = |app: &App| lesson(app).updates();
            if !lesson(b).capabilities().training_step {
                n(a) == n(b) && a.notice() == b.notice()
            } else if action == LessonAction::MoreUpdates {
                n(a) == n(b) + 1 && notice_has(a, "update step")
            } else if n(b) == 1 {
                n(a) == 1 && notice_has(a, "(the limit)")
            } else {
                n(a) == n(b) - 1 && notice_has(a, "update step")
            }
        }
    }
}

fn edit_effect(action: EditAction, key: Key, b: &App, a: &App) -> bool {
    let (Some(before), after) = (edit_state(b), edit_state(a)) else {
        return false;
    };
    let moved = |dr: isize, dc: isize| {
        after.is_some_and(|e| {
            e.row as isize == before.row as isize + dr
                && e.col as isize == before.col as isize + dc
                && e.input.is_empty()
        })
    };
    match action {
        EditAction::Help => a.help() == Some(0),
        EditAction::Quit => a.should_quit(),
        EditAction::Follow => follow_toggled(b, a),
        EditAction::NextMatrix | EditAction::PreviousMatrix => {
            after.is_some_and(|e| e.target != before.target)
        }
        EditAction::Up => moved(-1, 0),
        EditAction::Down => moved(1, 0),
        EditAction::Left => moved(0, -1),
        EditAction::Right => moved(0, 1),
        EditAction::RowStart => after.is_some_and(|e| e.col == 0) && before.col != 0,
        EditAction::RowEnd => after.is_some_and(|e| e.col > before.col),
        EditAction::Type => {
            let KeyCode::Char(c) = key.code else {
                return false;
            };
            after.is_some_and(|e| e.input == format!("{}{c}", before.input))
        }
        EditAction::Set => {
            // "2" typed: the cell becomes 2; nothing typed: nothing happens
            let s = a.lesson_state().expect("open");
            let v = a.lessons()[s.lesson].value(before.target, before.row, before.col);
            if before.input.is_empty() {
                values(a) == values(b)
            } else {
                after.is_some_and(|e| e.input.is_empty())
                    && before.input.parse::<f32>().ok() == Some(v)
            }
        }
        EditAction::DeleteChar => {
            after.is_some_and(|e| e.input.len() == before.input.len().saturating_sub(1))
        }
        EditAction::ClearOrStop => match after {
            Some(e) => e.input.is_empty() && !before.input.is_empty(),
            None => before.input.is_empty(),
        },
        EditAction::NextPreset => notice_has(a, "filter: ") && values(a) != values(b),
        EditAction::Reset => notice_has(a, "numbers reset to the lesson's own"),
    }
}

fn help_effect(action: HelpAction, b: &App, a: &App) -> bool {
    let (Some(before), after) = (b.help(), a.help()) else {
        return false;
    };
    match action {
        HelpAction::Quit => a.should_quit(),
        HelpAction::Follow => follow_toggled(b, a) && after == Some(before),
        HelpAction::Close => after.is_none(),
        HelpAction::Up | HelpAction::PageUp | HelpAction::Top => after.is_some_and(|s| s < before),
        HelpAction::Down | HelpAction::PageDown | HelpAction::Bottom => {
            after.is_some_and(|s| s > before)
        }
    }
}

/// The menu's state (its table's `when`s read it).
fn menu(app: &App) -> &MenuState {
    app.menu().expect("the menu")
}

/// The open lesson's state.
fn lesson(app: &App) -> &LessonState {
    app.lesson_state().expect("a lesson is open")
}

/// The help overlay's state.
fn help(app: &App) -> &HelpState {
    app.help_state().expect("the help is open")
}

/// Walk one table in one case: every binding that applies is reached by each of its keys
/// and has its effect; every key the hints show does something. `view` is the screen the
/// table is typed over.
fn walk<A: Copy + PartialEq + std::fmt::Debug, S>(
    table: &[Binding<A, S>],
    case: &Case,
    view: fn(&App) -> &S,
    effect: impl Fn(A, Key, &App, &App) -> bool,
) -> usize {
    let state = (case.build)();
    let mut checked = 0;
    for binding in table.iter().filter(|b| (b.when)(view(&state))) {
        for spec in binding.keys {
            for key in spec.examples() {
                assert_eq!(
                    action_for(table, view(&state), key),
                    Some(binding.action),
                    "{}: {key:?} reaches {:?} (no earlier binding takes it)",
                    case.name,
                    binding.action
                );
                let mut after = (case.build)();
                press(&mut after, key);
                assert!(
                    effect(binding.action, key, &state, &after),
                    "{}: {key:?} should {:?}",
                    case.name,
                    binding.action
                );
                checked += 1;
            }
        }
    }
    let shown = hint_keys(table, view(&state));
    assert!(!shown.is_empty(), "{}: the hint line shows keys", case.name);
    for spec in shown {
        if case.idle.iter().any(|(k, _)| *k == spec) {
            continue;
        }
        for key in spec.examples() {
            assert!(
                action_for(table, view(&state), key).is_some(),
                "{}: the hint shows {spec:?}, which nothing here binds",
                case.name
            );
            let mut after = (case.build)();
            press(&mut after, key);
            assert!(
                format!("{after:?}") != format!("{state:?}"),
                "{}: the hint shows {spec:?}, which changes nothing",
                case.name
            );
        }
    }
    // what is drawn is the table's hint line (all of it, on a wide terminal)
    let line: String = hints(table, view(&state), state.theme().symbols())
        .iter()
        .map(|(k, what)| format!(" {k} {what} "))
        .collect();
    let screen = buffer_text(&render_to_buffer(&state, 250, 50));
    assert!(
        screen.contains(line.trim_end()),
        "{}: `{line}` in\n{screen}",
        case.name
    );
    checked
}

#[test]
fn every_menu_key_does_what_it_says() {
    let n: usize = menu_cases()
        .iter()
        .map(|c| walk(MENU, c, menu, |a, _, b, af| menu_effect(a, b, af)))
        .sum();
    assert!(n >= 14, "{n} presses checked");
}

#[test]
fn every_lesson_key_does_what_it_says() {
    let n: usize = lesson_cases()
        .iter()
        .map(|c| {
            walk(LESSON, c, lesson, |a, k, b, af| {
                lesson_effect(c, a, k, b, af)
            })
        })
        .sum();
    assert!(n >= 100, "{n} presses checked");
}

#[test]
fn every_editor_key_does_what_it_says() {
    let n: usize = edit_cases()
        .iter()
        .map(|c| walk(EDIT, c, lesson, edit_effect))
        .sum();
    assert!(n >= 40, "{n} presses checked");
}

#[test]
fn every_help_key_does_what_it_says() {
    let n: usize = help_cases()
        .iter()
        .map(|c| walk(HELP, c, help, |a, _, b, af| help_effect(a, b, af)))
        .sum();
    assert!(n >= 12, "{n} presses checked");
}

/// A classroom student following the teacher stops with `f` on the training screen too.
#[test]
fn f_stops_following_on_the_training_screen() {
    let mut app = lesson_at_middle("train");
    code(&mut app, KeyCode::Enter);
    assert!(app.training().is_some());
    assert_eq!(
        action_for(OVER_TRAINING, &app.facts(), Key::char('f')),
        None
    );
    app.set_follow(Some(true));
    assert_eq!(
        action_for(OVER_TRAINING, &app.facts(), Key::char('f')),
        Some(OverTrainingAction::Follow)
    );
    press(&mut app, Key::char('f'));
    assert_eq!(app.follow(), Some(false));
    assert!(app.training().is_some(), "still on the training screen");
}

/// The help lists only keys its screen's table binds.
#[test]
fn every_key_in_the_help_is_bound() {
    fn check<A, S>(table: &[Binding<A, S>], name: &str) {
        for help in table.iter().filter_map(|b| b.help.as_ref()) {
            for spec in help.label.keys {
                let bound = spec.examples().into_iter().all(|key| {
                    table
                        .iter()
                        .any(|b| b.keys.iter().any(|k: &KeySpec| k.matches(key)))
                });
                assert!(bound, "{name}: help shows {spec:?} ({})", help.label.text);
            }
        }
    }
    check(MENU, "menu");
    check(LESSON, "lesson");
    check(EDIT, "editor");
    // the overlay's own hint is its Close binding
    let mut app = fresh();
    press(&mut app, Key::char('?'));
    let text = buffer_text(&render_to_buffer(&app, 80, 24));
    assert!(text.contains(" Esc or ? closes "), "{text}");
}
