//! "Your turn" (issue 14): what each kind asks and the engine's answers, the lesson
//! screen's flow (y, the hidden total, right, wrong, hints, three tries, Esc, edits), the
//! tally in the progress file, and the worksheet.

use cnn_tutor::lesson::quiz::{Answer, Question};
use cnn_tutor::lesson::Lesson;
use cnn_tutor::tui::{
    buffer_text, render_to_buffer, App, AppEvent, Key, KeyCode, Outcome, Progress, Theme,
};

fn lesson(id: &str) -> Lesson {
    let lessons = cnn_tutor::lesson::builtin().expect("built-in lessons load");
    lessons.into_iter().find(|l| l.id() == id).expect("lesson")
}

fn questions(id: &str) -> Vec<Question> {
    let l = lesson(id);
    let frames = l.frames().expect("frames");
    l.questions(&frames)
}

fn numbers(qs: &[Question]) -> Vec<f32> {
    qs.iter()
        .filter_map(|q| match q.answer {
            Answer::Number(v) => Some(v),
            _ => None,
        })
        .collect()
}

#[test]
fn convolution_asks_every_feature_map_cell_and_the_app_a_sample() {
    let qs = questions("convolution");
    assert_eq!(
        numbers(&qs),
        [
            155.0, -155.0, 155.0, -155.0, -155.0, 310.0, -155.0, 155.0, 310.0, 155.0, 310.0, 0.0,
            -155.0, -155.0, -155.0, 0.0, -155.0, 310.0
        ]
    );
    // the last two, on the picture step: the map's min and max, on worksheets only
    assert!(qs[16].ask.contains("smallest") && !qs[16].in_app);
    assert!(qs[17].ask.contains("largest") && !qs[17].in_app);
    assert_eq!(qs[0].step, 1, "window 1 is step 2");
    let in_app: Vec<usize> = qs.iter().filter(|q| q.in_app).map(|q| q.step).collect();
    assert_eq!(in_app, [1, 2, 3, 4, 8, 12, 16]);
    assert!(
        qs[0].hints[0].contains("255 x 1 = 255, 255 x -1 = -255"),
        "{:?}",
        qs[0].hints
    );
    assert!(qs[0].working.ends_with("= 155"), "{}", qs[0].working);
}

#[test]
fn relu_pooling_flatten_fully_connected_and_dropout_ask_their_own() {
    // relu: every output cell of the 6x6 map that is not 0 (a cell of 0 stays 0)
    let qs = questions("relu");
    assert_eq!(qs.len(), 14);
    let inner: Vec<f32> = qs
        .iter()
        .take(4)
        .map(|q| match q.answer {
            Answer::Number(v) => v,
            _ => f32::NAN,
        })
        .collect();
    assert_eq!(
        inner,
        [155.0, 0.0, 155.0, 0.0],
        "row 2: 155 -155 155 -155 after ReLU"
    );
    assert!(
        qs.iter().filter(|q| q.in_app).count() < 36 / 2,
        "the app asks a sample"
    );
    assert!(qs.iter().all(|q| !q.in_app || !q.ask.contains(" holds 0:")));
    // pooling: each window's max, all nine
    let qs = questions("pooling");
    assert_eq!(
        numbers(&qs),
        [155.0, 155.0, 0.0, 310.0, 310.0, 155.0, 0.0, 0.0, 0.0]
    );
    assert!(qs.iter().all(|q| q.in_app));
    // flatten: the index of each highlighted cell
    let qs = questions("flatten");
    assert_eq!(numbers(&qs), (0..18).map(|i| i as f32).collect::<Vec<_>>());
    assert!(
        qs[9].ask.starts_with("Map 2, row 1, column 1"),
        "{}",
        qs[9].ask
    );
    // fully connected: each score, then the winning class
    let qs = questions("fully-connected");
    assert_eq!(qs.len(), 4);
    let scores = numbers(&qs);
    assert_eq!(scores.len(), 3);
    assert!((scores[0] + 0.3).abs() < 1e-5, "{scores:?}");
    assert!((scores[1] - 0.7).abs() < 1e-5, "{scores:?}");
    assert!((scores[2] - 1.7).abs() < 1e-5, "{scores:?}");
    assert_eq!(
        qs[3].answer,
        Answer::Choice {
            options: vec!["circle".into(), "square".into(), "triangle".into()],
            right: 2
        }
    );
    // dropout: the scale and the expected number of maps dropped (first step, before the
    // draw is shown), then what each kept map's largest value becomes
    let qs = questions("dropout");
    assert_eq!(qs[0].answer, Answer::Number(2.0));
    assert_eq!(qs[0].step, 0);
    assert_eq!(qs[1].answer, Answer::Number(2.0), "4 maps x p 0.5");
    assert_eq!(qs[1].step, 0);
    assert!(qs[1].ask.contains("on average"), "{}", qs[1].ask);
    assert!(qs.len() > 2, "the kept maps are asked");
    for q in &qs[2..] {
        assert!(q.step > 0);
        let Answer::Number(v) = q.answer else {
            panic!("a number")
        };
        assert!(q
            .working
            .ends_with(&format!("= {}", cnn_tutor::lesson::fmt_num(v))));
    }
    // training: the plan's count of weights, then two "explain" questions
    let qs = questions("train");
    let plan = cnn_tutor::nn::arch::Plan::course(3);
    assert_eq!(qs[0].answer, Answer::Number(plan.param_count() as f32));
    assert!(qs[0]
        .working
        .ends_with(&format!("= {}", plan.param_count())));
    assert_eq!(qs.len(), 3);
    for q in &qs[1..] {
        assert!(
            matches!(q.answer, Answer::Choice { right: 1, .. }),
            "{:?}",
            q.answer
        );
    }
    // the whole network: flatten's length predicted before it is shown
    let qs = questions("architecture");
    assert_eq!(qs.len(), 1);
    let Answer::Number(n) = qs[0].answer else {
        panic!("a number")
    };
    assert!(qs[0].working.ends_with(&format!("= {n}")));
    let l = cnn_tutor::lesson::builtin()
        .unwrap()
        .into_iter()
        .find(|l| l.id() == "architecture")
        .unwrap();
    let frames = l.frames().unwrap();
    let flat = frames
        .iter()
        .find(|f| f.heading.starts_with("Stage 5"))
        .and_then(|f| f.formula.clone())
        .unwrap();
    assert!(flat.contains(&format!("-> {n} values")), "{flat}");
    assert!(frames[qs[0].step].heading.starts_with("Stage 4"));
}

fn app() -> App {
    let lessons = cnn_tutor::lesson::builtin().expect("built-in lessons load");
    let mut app = App::new(lessons, Theme::new(false, true), Progress::new());
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(100, 30));
    app
}

fn key(app: &mut App, code: KeyCode) {
    cnn_tutor::tui::apply(app, AppEvent::Key(Key::new(code)));
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        cnn_tutor::tui::apply(app, AppEvent::Key(Key::char(c)));
    }
}

fn screen(app: &App) -> String {
    buffer_text(&render_to_buffer(app, 100, 30))
}

#[test]
fn your_turn_hides_the_total_and_checks_what_is_typed() {
    let mut app = app();
    app.open_by_id("convolution").expect("opens");
    typed(&mut app, "y");
    assert!(app.your_turn());
    key(&mut app, KeyCode::Right);
    assert_eq!(app.lesson_state().expect("open").step, 1);
    let text = screen(&app);
    assert!(
        !text.contains("155"),
        "the first window's total is hidden:\n{text}"
    );
    assert!(text.contains("(100 x 1) = ?"), "{text}");
    assert!(text.contains("Your turn: Window 1 of 16"), "{text}");
    // - and h go to the answer, not to the speed or the previous step
    let speed = app.lesson_state().expect("open").speed;
    typed(&mut app, "-1");
    assert_eq!(app.lesson_state().expect("open").quiz.input, "-1");
    assert_eq!(app.lesson_state().expect("open").speed, speed);
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, "155");
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("Right: 155"), "{text}");
    assert!(text.contains("= 155"), "revealed:\n{text}");
    assert!(
        text.contains("1/1 right"),
        "the tally in the status line:\n{text}"
    );
    assert_eq!(app.open_question(), None);
    // the next window: a wrong answer is told so and stays hidden
    key(&mut app, KeyCode::Right);
    typed(&mut app, "99");
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("Not quite: try again"), "{text}");
    assert!(!text.contains("-155"), "still hidden:\n{text}");
    assert!(app.open_question().is_some());
    assert!(text.contains("1/2 right"), "{text}");
    // hints: the products, then the sum of the first few; h is not "previous step"
    typed(&mut app, "h");
    assert_eq!(app.lesson_state().expect("open").step, 2);
    assert!(screen(&app).contains("Hint: The products one by one: 255 x 1 = 255"));
    typed(&mut app, "h");
    assert!(screen(&app).contains("The first 5 of the 9 terms add up to"));
    // not a number: told, not a try
    typed(&mut app, "1-2");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("`1-2` is not a number"));
    assert_eq!(app.lesson_state().expect("open").quiz.tries, 1);
    // three wrong tries: the answer with its working
    for _ in 0..2 {
        typed(&mut app, "1");
        key(&mut app, KeyCode::Enter);
    }
    let state = app.lesson_state().expect("open");
    assert_eq!(state.quiz.outcomes[1], Some(Outcome::Shown));
    let text = screen(&app);
    assert!(text.contains("The answer: -155"), "{text}");
    assert!(text.contains("= -155"), "{text}");
    // Esc skips the next one (and Esc with nothing open goes back to the menu)
    key(&mut app, KeyCode::Right);
    assert!(app.open_question().is_some());
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.open_question(), None);
    assert!(
        app.lesson_state().is_some(),
        "Esc skipped, it did not leave"
    );
    assert!(screen(&app).contains("Skipped: 155"));
    let t = app.quiz_tally_of("convolution");
    assert_eq!((t.asked, t.right, t.first_try), (2, 1, 1));
    assert_eq!(app.progress().get("convolution").quiz, t);
    key(&mut app, KeyCode::Esc);
    assert!(app.lesson_state().is_none(), "back on the menu");
    let menu = screen(&app);
    assert!(menu.contains("1/2 right"), "{menu}");
}

#[test]
fn windows_the_app_does_not_ask_show_as_usual_and_y_turns_it_off() {
    let mut app = app();
    app.open_by_id("convolution").expect("opens");
    typed(&mut app, "y");
    for _ in 0..4 {
        key(&mut app, KeyCode::Right);
        key(&mut app, KeyCode::Esc);
    }
    key(&mut app, KeyCode::Right);
    // window 5 is not asked: stepping on shows it
    assert_eq!(app.lesson_state().expect("open").step, 5);
    assert_eq!(app.open_question(), None);
    assert!(screen(&app).contains("= -155"));
    // playing stops at the next question
    typed(&mut app, "p");
    for _ in 0..200 {
        cnn_tutor::tui::apply(&mut app, AppEvent::Tick);
    }
    let state = app.lesson_state().expect("open");
    assert_eq!(state.step, 8, "window 8 is asked");
    assert!(!state.playing);
    typed(&mut app, "y");
    assert!(!app.your_turn());
    assert_eq!(app.open_question(), None);
    assert!(screen(&app).contains("= 155"));
}

#[test]
fn questions_follow_an_edit() {
    let mut app = app();
    app.open_by_id("convolution").expect("opens");
    typed(&mut app, "y");
    // the filter's centre weight 0 becomes 1: window 1 now adds the centre pixel, 255
    typed(&mut app, "e");
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Right);
    typed(&mut app, "1");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Right);
    let q = app.open_question().expect("asked").clone();
    assert_eq!(q.answer, Answer::Number(410.0));
    typed(&mut app, "155");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("Not quite"));
    typed(&mut app, "410");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("Right: 410"));
    let t = app.quiz_tally_of("convolution");
    assert_eq!((t.asked, t.right, t.first_try), (1, 1, 0));
}

#[test]
fn a_choice_and_a_decimal_in_the_fully_connected_lesson() {
    let mut app = app();
    app.open_by_id("fully-connected").expect("opens");
    typed(&mut app, "y");
    key(&mut app, KeyCode::Right);
    typed(&mut app, "-.3");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("Right: -0.3"), "{}", screen(&app));
    key(&mut app, KeyCode::End);
    let text = screen(&app);
    assert!(
        text.contains("Which class does the network predict?"),
        "{text}"
    );
    assert!(text.contains("The prediction: ?"), "{text}");
    typed(&mut app, "3");
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("Right: triangle"), "{text}");
    assert!(
        text.contains("Your turn in this lesson: 2 of 2 right"),
        "{text}"
    );
}

#[test]
fn the_tally_is_saved_in_the_progress_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("progress.json");
    let mut app = app();
    app.open_by_id("pooling").expect("opens");
    typed(&mut app, "y");
    key(&mut app, KeyCode::Right);
    typed(&mut app, "155");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Right);
    typed(&mut app, "0");
    let turn = cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Enter)));
    assert!(
        turn.save_progress,
        "the front end is asked to save the progress"
    );
    app.progress().save(&path).expect("saves");
    let text = std::fs::read_to_string(&path).expect("reads");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let quiz = &json["lessons"]["pooling"]["quiz"];
    assert_eq!(quiz["asked"], 2, "{text}");
    assert_eq!(quiz["right"], 1, "{text}");
    assert_eq!(quiz["first_try"], 1, "{text}");
    let (back, note) = Progress::load(&path);
    assert_eq!(note, None);
    assert_eq!(back.get("pooling").quiz.asked, 2);
}

#[test]
fn the_worksheet_blanks_every_feature_map_value_until_the_answers() {
    let l = lesson("convolution");
    let text = cnn_tutor::lesson::plain::worksheet(&l).expect("worksheet");
    let (sheet, key) = text.split_once("\nAnswers\n").expect("an answer key");
    for v in ["155", "310"] {
        let shows = sheet
            .split(|c: char| !(c.is_ascii_digit() || c == '-'))
            .any(|w| w.trim_start_matches('-') == v);
        assert!(!shows, "{v} shows before the answers:\n{sheet}");
    }
    assert!(sheet.contains("= __1__"));
    assert!(sheet.contains("<__1__>"));
    assert_eq!(sheet.matches("Question ").count(), 18);
    // the picture step leaves out the rescaled grid and the picture (they give the map away)
    assert!(!sheet.contains("Scaled to 0..255"), "{sheet}");
    let answers: Vec<&str> = key
        .lines()
        .filter_map(|l| l.trim().split_once(". "))
        .map(|(_, rest)| rest.split(':').next().unwrap_or(""))
        .take(4)
        .collect();
    assert_eq!(answers, ["155", "-155", "155", "-155"]);
    assert!(
        key.contains("155  -155   155  -155"),
        "the map's rows:\n{key}"
    );
    // every lesson makes a worksheet; the plain lesson itself is unchanged by it
    for l in cnn_tutor::lesson::builtin().expect("lessons") {
        let w = cnn_tutor::lesson::plain::worksheet(&l).expect("worksheet");
        let asks = !l.questions(&l.frames().expect("frames")).is_empty();
        assert_eq!(w.contains("\nAnswers\n"), asks, "{}", l.id());
    }
    assert!(cnn_tutor::lesson::plain::lesson(&l, None)
        .expect("plain")
        .contains("= 155"));
}

#[test]
fn the_worksheet_flag_on_the_command_line() {
    let bin = env!("CARGO_BIN_EXE_cnn-tutor");
    let out = std::process::Command::new(bin)
        .args(["lesson", "convolution", "--plain", "--worksheet"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\nAnswers\n") && text.contains("<__1__>"),
        "{text}"
    );
    let out = std::process::Command::new(bin)
        .args(["lesson", "convolution", "--worksheet"])
        .output()
        .expect("runs");
    assert!(!out.status.success(), "--worksheet needs --plain");
    let out = std::process::Command::new(bin)
        .args([
            "lesson",
            "convolution",
            "--plain",
            "--worksheet",
            "--step",
            "2",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--worksheet prints the whole lesson"));
}

/// issue 23: keys typed into a field belong to it: `q` while a question is open (or a
/// number is being edited) neither quits nor loses what was typed; `h` is only ever a
/// hint, never "previous step" once the question is answered; Ctrl-C still quits.
#[test]
fn q_and_h_in_an_open_question_belong_to_it() {
    let mut app = app();
    app.open_by_id("convolution").expect("opens");
    typed(&mut app, "y");
    key(&mut app, KeyCode::Right);
    typed(&mut app, "15");
    typed(&mut app, "q");
    assert!(!app.should_quit(), "q does not quit while answering");
    assert_eq!(app.lesson_state().expect("open").quiz.input, "15");
    assert!(
        !screen(&app).contains("q quit"),
        "the hint line offers no quit"
    );
    typed(&mut app, "5");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.open_question(), None, "155 was right");
    // answered: h does not step back
    typed(&mut app, "h");
    assert_eq!(app.lesson_state().expect("open").step, 1);
    // the number editor: q is no quit while a number is typed; Esc, then q quits
    typed(&mut app, "y");
    typed(&mut app, "e");
    assert!(app.lesson_state().expect("open").edit.is_some());
    typed(&mut app, "1q");
    assert!(!app.should_quit());
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    assert!(app.lesson_state().expect("open").edit.is_none());
    typed(&mut app, "q");
    assert!(app.should_quit());
    let mut app2 = self::app();
    app2.open_by_id("convolution").expect("opens");
    typed(&mut app2, "y");
    key(&mut app2, KeyCode::Right);
    cnn_tutor::tui::apply(&mut app2, AppEvent::Key(Key::ctrl('c')));
    assert!(app2.should_quit(), "Ctrl-C always quits");
}
