//! Snapshots of the console's views of where the class struggles and of the raised hands
//! (issue 26), with thirty students at 80x24, in plain ASCII without colour: what a teacher
//! reads on the smallest terminal the console promises.

use std::time::Duration;

use cnn_tutor::tui::attempts::{QuestionFigures, QuestionKey};
use cnn_tutor::tui::console::{
    render, ClassView, Console, HandRow, LessonFigures, Limits, Place, Struggle, StudentRow,
    TrainingStatus, STUCK_MARK,
};
use cnn_tutor::tui::{buffer_text, Key, Theme};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn lesson(step: usize) -> Place {
    Place::Lesson {
        index: 0,
        title: "1. Convolution".into(),
        step,
        steps: 9,
    }
}

/// Thirty students through the convolution lesson: every fifth on one step for long,
/// every seventh wrong three times at its question, hands up from some.
fn class() -> ClassView {
    let students = (1..=30u64)
        .map(|i| StudentRow {
            id: i,
            name: format!("student-{i:02}"),
            login: format!("student-{i:02}"),
            addr: format!("10.0.0.{i}:5000"),
            place: lesson(usize::try_from(i % 4).unwrap() + 2),
            quiz: None,
            training: TrainingStatus::None,
            idle: Duration::from_secs(i * 11),
            on_step: Some(Duration::from_secs(if i % 5 == 0 { 400 + i } else { 30 })),
            connected: Duration::from_secs(1800),
            following: false,
            wrong_here: if i % 7 == 0 { 3 } else { 0 },
            look_alike: None,
        })
        .collect();
    let q = |step, n, tried, right_first, wrong3, wrong: Option<(&str, usize)>| QuestionFigures {
        key: QuestionKey {
            lesson: "convolution".into(),
            step,
            n,
        },
        tried,
        right_first,
        wrong3,
        common_wrong: wrong.map(|(w, n)| (w.to_string(), n)),
    };
    let struggle = Struggle {
        lessons: vec![
            LessonFigures {
                index: 0,
                title: "1. Convolution".into(),
                questions: vec![
                    q(2, 1, 30, 24, 1, Some(("154", 4))),
                    q(3, 1, 28, 12, 6, Some(("-155", 9))),
                    q(3, 2, 25, 20, 0, Some(("0", 2))),
                    q(4, 1, 20, 18, 0, None),
                    q(5, 1, 9, 2, 4, Some(("510", 5))),
                ],
            },
            LessonFigures {
                index: 1,
                title: "2. ReLU".into(),
                questions: vec![q(1, 1, 4, 4, 0, None)],
            },
        ],
    };
    let hands = [(14, "is padding zero or the edge value?", 200), (3, "", 95)]
        .into_iter()
        .chain((20..=30).map(|i| (i, "stuck on the sum", 60 - i)))
        .map(|(id, note, secs)| HandRow {
            id,
            note: note.into(),
            waiting: Duration::from_secs(secs),
        })
        .collect();
    ClassView {
        students,
        teacher: Some("teach".into()),
        teacher_at: Some(lesson(3)),
        limits: Limits {
            sessions: (30, 40),
            trainings: (0, 2),
            idle_timeout: Duration::from_secs(1800),
            stuck_after: STUCK_MARK,
            ..Limits::default()
        },
        in_session: true,
        hands,
        struggle: Some(struggle),
        ..ClassView::default()
    }
}

fn draw(c: &Console) -> String {
    let area = Rect::new(0, 0, 80, 24);
    let mut buf = Buffer::empty(area);
    // plain ASCII, no colour (NO_COLOR)
    render(c, &Theme::new(false, true), area, &mut buf);
    let text = buffer_text(&buf);
    assert!(text.is_ascii(), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80));
    text
}

#[test]
fn the_struggle_view_at_80x24_with_thirty_students() {
    let mut c = Console::new();
    c.update(class());
    c.key(Key::char('w'));
    let text = draw(&c);
    assert!(
        text.contains("1. Convolution (1 of 2 with answers)"),
        "{text}"
    );
    assert!(text.contains("-155 (9)"), "{text}");
    assert!(text.contains("student-05"), "stuck on a step:\n{text}");
    assert!(text.contains("3 wrong here"), "{text}");
    insta::assert_snapshot!("console_struggle_30_80x24", text);
    c.key(Key::new(cnn_tutor::tui::KeyCode::Right));
    let relu = draw(&c);
    assert!(relu.contains("2. ReLU (2 of 2 with answers)"), "{relu}");
}

#[test]
fn the_hand_queue_at_80x24_with_thirty_students() {
    let mut c = Console::new();
    c.update(class());
    c.key(Key::char('h'));
    let text = draw(&c);
    assert!(text.contains("13 in the queue"), "{text}");
    let first = text.lines().find(|l| l.contains("student-14")).unwrap();
    assert!(
        first.contains(" 1 ") && first.contains("is padding"),
        "{first}"
    );
    insta::assert_snapshot!("console_hands_30_80x24", text);
}
