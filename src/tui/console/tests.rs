use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::view::marks;
use super::*;
use crate::tui::keys::{hint_keys, KeySpec};
use crate::tui::theme::Theme;
use crate::tui::view::buffer_text;

fn row(id: u64, name: &str, place: Place) -> StudentRow {
    StudentRow {
        id,
        name: name.into(),
        login: name
            .trim_end_matches(|c: char| c == '-' || c.is_ascii_digit())
            .into(),
        addr: format!("10.0.0.{id}:5000"),
        place,
        quiz: None,
        training: TrainingStatus::None,
        idle: Duration::from_secs(5),
        on_step: None,
        connected: Duration::from_secs(600),
        following: false,
        look_alike: None,
        wrong_here: 0,
    }
}

fn lesson(index: usize, title: &str, step: usize) -> Place {
    Place::Lesson {
        index,
        title: title.into(),
        step,
        steps: 7,
    }
}

fn class() -> ClassView {
    let mut ada = row(1, "ada", lesson(2, "3. Convolution", 3));
    ada.training = TrainingStatus::Epoch { epoch: 2, of: 10 };
    ada.quiz = Some(QuizTally {
        asked: 5,
        right: 4,
        wrong_in_a_row: 0,
    });
    let mut kim = row(2, "kim", Place::Menu);
    kim.idle = Duration::from_secs(400);
    kim.training = TrainingStatus::Done(0.875);
    let mut bo = row(3, "bo", lesson(0, "1. Pixels", 0));
    bo.on_step = Some(Duration::from_secs(900));
    bo.quiz = Some(QuizTally {
        asked: 4,
        right: 1,
        wrong_in_a_row: 3,
    });
    bo.training = TrainingStatus::Queued(2);
    ClassView {
        students: vec![ada, kim, bo],
        teacher: Some("teach".into()),
        teacher_at: Some(lesson(1, "2. ReLU", 1)),
        limits: Limits {
            sessions: (4, 40),
            trainings: (1, 2),
            queued: 1,
            unauthenticated: (3, 100),
            grace: (Duration::from_secs(30), Some(Duration::from_secs(12))),
            idle_timeout: Duration::from_secs(1800),
            stuck_after: STUCK_MARK,
        },
        in_session: true,
        ..ClassView::default()
    }
}

fn draw(c: &Console, w: u16, h: u16) -> String {
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    render(
        c,
        &Theme::new(false, false),
        Rect::new(0, 0, w, h),
        &mut buf,
    );
    buffer_text(&buf)
}

fn console() -> Console {
    let mut c = Console::new();
    c.update(class());
    c
}

fn line_with<'a>(screen: &'a str, what: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what:?}:\n{screen}"))
}

#[test]
fn every_student_has_a_row_with_each_column_at_80x24_and_120x40() {
    let c = console();
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = draw(&c, w, h);
        assert_eq!(screen.lines().count(), usize::from(h));
        assert!(screen.lines().all(|l| l.chars().count() <= usize::from(w)));
        let ada = line_with(&screen, "ada");
        assert!(ada.contains("3. Convolution 4/7"), "{ada}");
        assert!(ada.contains("4/5"), "tally: {ada}");
        assert!(ada.contains("epoch 2/10"), "{ada}");
        assert!(ada.contains("5s") && ada.contains("10m"), "{ada}");
        let kim = line_with(&screen, "kim");
        assert!(kim.contains("menu") && kim.contains("done 87.5%"), "{kim}");
        assert!(kim.contains(" - "), "no tally is a dash: {kim}");
        // marks: kim idle, bo stuck and wrong three times in a row
        assert!(kim.starts_with(" I "), "{kim}");
        assert!(
            line_with(&screen, "bo ").starts_with(">SW")
                || line_with(&screen, "bo ").starts_with(" SW"),
            "{screen}"
        );
        assert!(line_with(&screen, "bo ").contains("queued 2"));
        // the thresholds and the limits are in the header
        assert!(
            screen.contains("I idle 3m+") && screen.contains("S stuck 5m+ or 3 wrong"),
            "{screen}"
        );
        assert!(screen.contains("W 3+ wrong in a row"));
        let limits = line_with(&screen, "students 4/40");
        assert!(limits.contains("trainings 1/2 (1 queued)"), "{limits}");
        assert!(limits.contains("logging in 3/100"), "{limits}");
        assert!(limits.contains("login grace 30s"), "{limits}");
        if w == 120 {
            assert!(limits.contains("oldest waits 12s"), "{limits}");
        }
        assert!(screen.contains("teacher teach at 2. ReLU 2/7"), "{screen}");
    }
}

#[test]
fn sorting_by_name_lesson_and_idle() {
    let mut c = console();
    let names = |c: &Console| -> Vec<String> { c.order().iter().map(|r| r.name.clone()).collect() };
    assert_eq!(names(&c), ["ada", "bo", "kim"]);
    c.key(Key::char('s'));
    assert_eq!(c.sort, Sort::Lesson);
    assert_eq!(names(&c), ["kim", "bo", "ada"], "menu, lesson 1, lesson 3");
    c.key(Key::char('s'));
    assert_eq!(names(&c), ["kim", "ada", "bo"], "longest idle first");
    assert!(draw(&c, 80, 24).contains("sort: idle"));
}

#[test]
fn many_students_scroll_and_the_selection_stays_shown() {
    let mut view = class();
    view.students = (0..60)
        .map(|i| row(i, &format!("s{i:02}"), Place::Menu))
        .collect();
    let mut c = Console::new();
    c.rows_shown = 17;
    c.update(view);
    for _ in 0..40 {
        c.key(Key::new(KeyCode::Down));
    }
    let screen = draw(&c, 80, 24);
    assert!(screen.contains("s40"), "{screen}");
    assert!(!screen.contains("s00 "), "{screen}");
    assert!(screen.contains("/60"), "{screen}");
}

#[test]
fn addresses_show_on_a_key() {
    let mut c = console();
    assert!(!draw(&c, 80, 24).contains("10.0.0.1"));
    c.key(Key::char('a'));
    assert!(draw(&c, 80, 24).contains("ada 10.0.0.1:5000"));
}

#[test]
fn each_lead_key_gives_its_effect() {
    let mut c = console();
    assert_eq!(c.key(Key::char('b')), vec![ConsoleEffect::BringHere]);
    assert_eq!(c.key(Key::char('l')), vec![ConsoleEffect::Lock(true)]);
    assert!(draw(&c, 80, 24).contains("FOLLOWING LOCKED"));
    assert_eq!(c.key(Key::char('l')), vec![ConsoleEffect::Lock(false)]);
    // a message: letters are text while typing (q does not quit)
    assert!(c.key(Key::char('m')).is_empty());
    for ch in "quiet please".chars() {
        assert!(c.key(Key::char(ch)).is_empty());
    }
    assert!(draw(&c, 80, 24).contains("message for every student: quiet please_"));
    assert_eq!(
        c.key(Key::new(KeyCode::Enter)),
        vec![ConsoleEffect::Message(Some("quiet please".into()))]
    );
    assert_eq!(c.key(Key::char('M')), vec![ConsoleEffect::Message(None)]);
    // end the selected student's session (ada, first by name), with the default goodbye
    assert!(c.key(Key::char('e')).is_empty());
    assert_eq!(
        c.key(Key::new(KeyCode::Enter)),
        vec![ConsoleEffect::End {
            id: 1,
            message: DEFAULT_GOODBYE.into()
        }]
    );
    // stop trainings asks first
    assert!(c.key(Key::char('x')).is_empty());
    assert!(draw(&c, 80, 24).contains("y stops"));
    assert!(c.key(Key::char('n')).is_empty());
    c.key(Key::char('x'));
    assert_eq!(c.key(Key::char('y')), vec![ConsoleEffect::StopTrainings]);
    // look, close, report, lessons, quit
    c.key(Key::new(KeyCode::Down));
    assert_eq!(c.key(Key::char('v')), vec![ConsoleEffect::Mirror(Some(3))]);
    assert_eq!(
        c.key(Key::new(KeyCode::Esc)),
        vec![ConsoleEffect::Mirror(None)]
    );
    assert_eq!(c.key(Key::char('r')), vec![ConsoleEffect::Report]);
    assert_eq!(
        c.key(Key::new(KeyCode::Tab)),
        vec![ConsoleEffect::ToLessons]
    );
    assert_eq!(c.key(Key::char('q')), vec![ConsoleEffect::Quit]);
}

/// One client flooding the class with sessions: `E` on one of them ends every session of
/// its address (`a`) or of its login name (`n`); any other key ends none.
#[test]
fn end_every_session_of_an_address_or_a_name() {
    let mut c = Console::new();
    let mut students: Vec<StudentRow> = (1..=6)
        .map(|i| {
            let mut r = row(i, if i == 1 { "sam" } else { "sam-2" }, Place::Menu);
            r.name = if i == 1 {
                "sam".into()
            } else {
                format!("sam-{i}")
            };
            r.addr = format!("192.168.0.66:{}", 40000 + i);
            r
        })
        .collect();
    let mut kim = row(7, "kim", Place::Menu);
    kim.addr = "192.168.0.66:41000".into();
    let mut sam_home = row(8, "sam", Place::Menu);
    sam_home.name = "sam-8".into();
    sam_home.addr = "[2001:db8::1]:5000".into();
    students.extend([kim, sam_home]);
    c.update(ClassView {
        students,
        ..ClassView::default()
    });
    // the first by name is kim; down to sam
    c.key(Key::new(KeyCode::Down));
    assert_eq!(c.selected_row().unwrap().name, "sam");
    assert!(c.key(Key::char('E')).is_empty());
    let screen = draw(&c, 80, 24);
    assert!(
        screen.contains("a: from 192.168.0.66 (7)  n: named sam (7)"),
        "{screen}"
    );
    let effects = c.key(Key::char('a'));
    let [ConsoleEffect::EndAll { ids, what, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(ids, &[1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(what, "address 192.168.0.66");
    c.key(Key::char('E'));
    let effects = c.key(Key::char('n'));
    let [ConsoleEffect::EndAll { ids, what, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(ids, &[1, 2, 3, 4, 5, 6, 8]);
    assert_eq!(what, "name sam");
    c.key(Key::char('E'));
    assert!(c.key(Key::char('x')).is_empty());
    assert!(draw(&c, 80, 24).contains("no session ended"));
    assert_eq!(host_of("[2001:db8::1]:5000"), "2001:db8::1");
    assert_eq!(host_of("unknown"), "unknown");
}

#[test]
fn bring_here_without_a_teacher_lesson_says_so() {
    let mut c = console();
    c.class.teacher_at = None;
    assert!(c.key(Key::char('b')).is_empty());
    assert!(c.notice.as_deref().unwrap().contains("open a lesson first"));
}

#[test]
fn every_hinted_key_is_bound_and_does_something() {
    let c = console();
    for spec in hint_keys(CONSOLE, &c) {
        for key in spec.examples() {
            let mut probe = c.clone();
            let effects = probe.key(key);
            let changed = !effects.is_empty()
                || probe.prompt != c.prompt
                || probe.selected != c.selected
                || probe.notice != c.notice
                || probe.show_addr != c.show_addr
                || probe.sort != c.sort
                || probe.view != c.view;
            assert!(
                changed || spec == KeySpec::Code(KeyCode::Up),
                "{spec:?} did nothing"
            );
        }
    }
}

#[test]
fn names_and_messages_from_clients_are_escaped() {
    let mut view = class();
    view.students[0].name = "ev\x1b]0;pwned\x07il".into();
    view.message = Some("hi\x1b[2J".into());
    let mut c = Console::new();
    c.update(view);
    let screen = draw(&c, 120, 40);
    assert!(!screen.contains('\x1b') && !screen.contains('\x07'));
    assert!(
        screen.contains("ev\\e]0;pwned\\x07il") || screen.contains("ev\\e]0;pwned"),
        "{screen}"
    );
    assert!(screen.contains("message up: hi\\e[2J"), "{screen}");
}

#[test]
fn the_mirror_shows_the_students_screen_read_only() {
    let mut c = console();
    c.key(Key::char('v'));
    let mut screen = Buffer::empty(Rect::new(0, 0, 100, 30));
    screen.set_string(0, 0, "ADA'S OWN SCREEN", ratatui::style::Style::new());
    c.class.mirror = Some(Mirror {
        name: "ada".into(),
        screen: Some(screen),
    });
    let out = draw(&c, 80, 24);
    assert!(out.contains("looking at ada's screen"), "{out}");
    assert!(
        out.lines().nth(1).unwrap().starts_with("ADA'S OWN SCREEN"),
        "{out}"
    );
    assert!(out.contains("their screen is 100x30"), "{out}");
    // keys other than Esc do not reach the student: they act on the console only
    assert!(c.key(Key::char('j')).is_empty());
}

#[test]
fn durations_are_short() {
    assert_eq!(short_duration(Duration::from_secs(12)), "12s");
    assert_eq!(short_duration(Duration::from_secs(250)), "4m");
    assert_eq!(short_duration(Duration::from_secs(3900)), "1h05");
}

/// On the server's own terminal (`serve --console`) q ends the class for everyone: it asks
/// first; Ctrl-C does not ask.
#[test]
fn quitting_the_servers_console_asks_first() {
    let mut c = Console::new();
    let mut view = class();
    view.in_session = false;
    c.update(view);
    assert!(c.key(Key::char('q')).is_empty());
    assert!(draw(&c, 80, 24).contains("end the class for everyone? y ends it"));
    assert!(c.key(Key::char('n')).is_empty());
    assert!(draw(&c, 80, 24).contains("the class goes on"));
    c.key(Key::char('q'));
    assert_eq!(c.key(Key::char('y')), vec![ConsoleEffect::Quit]);
    let ctrl_c = Key {
        ctrl: true,
        ..Key::char('c')
    };
    assert_eq!(c.key(ctrl_c), vec![ConsoleEffect::Quit]);
}

#[test]
fn with_a_roster_the_absent_are_listed_and_the_selection_stays_shown() {
    let mut view = class();
    view.students = (0..30)
        .map(|i| row(i, &format!("s{i:02}"), Place::Menu))
        .collect();
    view.absent = Some((0..25).map(|i| format!("away{i:02}")).collect());
    let mut c = Console::new();
    c.rows_shown = 17; // 24 rows less the head (4) and the bottom (3)
    c.update(view);
    assert_eq!(c.list_rows(), 16, "the absent line takes a row of the list");
    for _ in 0..29 {
        c.key(Key::new(KeyCode::Down));
    }
    let screen = draw(&c, 80, 24);
    let absent = line_with(&screen, "absent (25): away00, away01");
    assert!(absent.trim_end().ends_with("more"), "{screen}");
    assert!(absent.chars().count() <= 80);
    // the last student, selected, is still on the screen above the hints
    assert!(line_with(&screen, "s29").starts_with('▶'), "{screen}");
    // everyone here: said so
    c.class.absent = Some(Vec::new());
    assert!(draw(&c, 80, 24).contains("absent: nobody"));
    // without a roster, no line
    c.class.absent = None;
    assert!(!draw(&c, 80, 24).contains("absent"));
}

/// Thirty students: at 80x24 and 130x40 every column head shows whole ("online"
/// included) and the "rows a-b of n" label sits after them, covering none.
#[test]
fn thirty_students_keep_every_column_head() {
    let mut view = class();
    view.students = (1..=30)
        .map(|i| row(i, &format!("sam-{i}"), lesson(2, "3. Convolution", 3)))
        .collect();
    let mut c = Console::new();
    c.update(view);
    for (w, h) in [(80, 24), (130, 40)] {
        let text = draw(&c, w, h);
        let head = text
            .lines()
            .find(|l| l.contains("lesson, step"))
            .unwrap_or_else(|| panic!("{w}x{h}: no header\n{text}"));
        for col in ["name", "turn", "training", "idle", "online"] {
            assert!(head.contains(col), "{w}x{h}: {col} in {head:?}\n{text}");
        }
        // the list scrolls at 80x24 (all thirty fit at 130x40)
        assert_eq!(head.contains(" 1-17/30"), h == 24, "{w}x{h}: {head:?}");
        assert!(text.contains("sam-1 "), "{text}");
        // every name whole, and the lesson with its step
        assert!(
            text.contains("sam-10 ") && text.contains("3. Convolution 4/7"),
            "{text}"
        );
    }
}

/// `B` brings only the selected student, `X` stops only their training; a student on the
/// training screen stays, and one with no training is told so, with no effect.
#[test]
fn one_student_can_be_brought_or_have_their_training_stopped() {
    let mut view = class();
    view.students[1].place = Place::Training;
    let mut c = Console::new();
    c.update(view);
    // sorted by name: ada (epoch 2/10, in a lesson), bo (queued), kim (training screen)
    c.selected = Some(1);
    assert_eq!(c.key(Key::char('B')), vec![ConsoleEffect::BringOne(1)]);
    assert!(draw(&c, 100, 30).contains("bringing ada to your lesson and step"));
    assert_eq!(c.key(Key::char('X')), vec![ConsoleEffect::StopOne(1)]);
    c.selected = Some(3);
    assert_eq!(c.key(Key::char('X')), vec![ConsoleEffect::StopOne(3)]);
    c.selected = Some(2);
    assert!(c.key(Key::char('B')).is_empty());
    assert!(draw(&c, 100, 30).contains("kim is on the training screen and stays there"));
    // kim's run is done: nothing to stop
    assert!(c.key(Key::char('X')).is_empty());
    assert!(draw(&c, 100, 30).contains("kim has no training running or queued"));
}

#[test]
fn a_look_alike_name_is_marked_and_says_whose_name_it_reads_as() {
    let mut view = class();
    let mut fake = row(4, "t\u{0435}ach", Place::Menu);
    fake.look_alike = Some("teach".into());
    view.students.push(fake);
    let mut c = Console::new();
    c.update(view);
    let screen = draw(&c, 80, 24);
    assert!(
        line_with(&screen, "ach  ").contains("~t\u{0435}ach"),
        "{screen}"
    );
    assert!(!line_with(&screen, "ada").contains('~'), "{screen}");
    assert!(screen.contains("~ look-alike"), "{screen}");
    c.selected = Some(4);
    let screen = draw(&c, 120, 40);
    let status = line_with(&screen, "looks like teach");
    assert!(
        status.contains("(has U+0435)") && status.contains("(the teacher's name)"),
        "{status}"
    );
}

/// Stuck: on one step for the threshold (not while following the teacher there), or
/// three wrong tries at a question of that step; longest on their step first. The
/// durations are the clock: `serve` measures them.
#[test]
fn stuck_students_are_found_with_why() {
    let after = Duration::from_secs(5 * 60);
    let at = |id, name: &str, secs: u64| {
        let mut r = row(id, name, lesson(0, "1. Convolution", 2));
        r.on_step = Some(Duration::from_secs(secs));
        r
    };
    let fresh = at(1, "ada", 299);
    let long = at(2, "bo", 301);
    let mut follower = at(3, "cy", 900);
    follower.following = true;
    let mut wrong = at(4, "di", 10);
    wrong.wrong_here = 3;
    let mut both = at(5, "ed", 1200);
    both.wrong_here = 4;
    let rows = vec![fresh, long, follower, wrong, both];
    let found: Vec<(&str, String)> = stuck(&rows, after)
        .into_iter()
        .map(|(r, why)| (r.name.as_str(), why))
        .collect();
    assert_eq!(
        found,
        vec![
            ("ed", "20m on this step, 4 wrong here".to_string()),
            ("bo", "5m on this step".to_string()),
            ("di", "3 wrong here".to_string()),
        ]
    );
    // the same rows a minute later (the clock moved): ada is stuck too
    let later: Vec<StudentRow> = rows
        .iter()
        .cloned()
        .map(|mut r| {
            r.on_step = r.on_step.map(|d| d + Duration::from_secs(60));
            r
        })
        .collect();
    assert_eq!(stuck(&later, after).len(), 4);
    // the S mark follows the same rule
    assert!(marks(&rows[3], after).contains('S'));
    assert!(!marks(&rows[0], after).contains('S'));
}

fn hands_class() -> Console {
    let mut view = class();
    view.hands = vec![
        HandRow {
            id: 3,
            note: "why 155?\x1b[2J".into(),
            waiting: Duration::from_secs(130),
        },
        HandRow {
            id: 1,
            note: String::new(),
            waiting: Duration::from_secs(20),
        },
    ];
    let mut c = Console::new();
    c.update(view);
    c
}

/// `h` opens the queue in order; Enter answers the selected hand (that student only),
/// `d` lowers it, `H` sends a hint to everyone at its step, `v` mirrors it, Esc goes back.
#[test]
fn the_hand_queue_answers_lowers_hints_and_mirrors() {
    let mut c = hands_class();
    assert!(draw(&c, 80, 24).contains("2 hand(s) up: h"));
    assert!(c.key(Key::char('h')).is_empty());
    assert_eq!(c.view, View::Hands);
    let screen = draw(&c, 80, 24);
    let first = line_with(&screen, "bo ");
    assert!(first.contains(" 1 ") && first.contains("2m"), "{screen}");
    assert!(first.contains("why 155?"), "{screen}");
    assert!(line_with(&screen, "ada").contains(" 2 "), "{screen}");
    assert!(!screen.contains("kim"), "kim has no hand up:\n{screen}");
    // the first hand is selected: answer it
    assert_eq!(c.selected, Some(3));
    c.key(Key::new(KeyCode::Enter));
    for ch in "look at row 2".chars() {
        c.key(Key::char(ch));
    }
    assert!(draw(&c, 80, 24).contains("answer bo (only they see it): look at row 2_"));
    assert_eq!(
        c.key(Key::new(KeyCode::Enter)),
        vec![ConsoleEffect::Answer {
            id: 3,
            text: "look at row 2".into()
        }]
    );
    // a hint to bo's step (lesson 0, step 0)
    c.key(Key::char('H'));
    for ch in "pad first".chars() {
        c.key(Key::char(ch));
    }
    assert_eq!(
        c.key(Key::new(KeyCode::Enter)),
        vec![ConsoleEffect::HintStep {
            at: (0, 0),
            text: "pad first".into()
        }]
    );
    c.key(Key::new(KeyCode::Down));
    assert_eq!(c.selected, Some(1));
    assert_eq!(c.key(Key::char('d')), vec![ConsoleEffect::Lower(1)]);
    assert_eq!(c.key(Key::char('v')), vec![ConsoleEffect::Mirror(Some(1))]);
    c.key(Key::new(KeyCode::Esc));
    assert!(c.key(Key::new(KeyCode::Esc)).is_empty());
    assert_eq!(c.view, View::Class);
}
