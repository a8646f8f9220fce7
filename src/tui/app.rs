//! The app's state and how events change it. Nothing here draws or touches the terminal or
//! the disk: front ends feed [`AppEvent`]s to [`App::handle`], draw with
//! [`super::view::render`], and save [`App::progress`] when [`App::take_progress_changed`]
//! says so.

use std::collections::BTreeMap;

use crate::lesson::quiz::{Question, Verdict};
use crate::lesson::Lesson;
use crate::lesson::Step;

use super::bindings::{
    EditAction, HelpAction, LessonAction, MenuAction, OverTrainingAction, EDIT, HELP, LESSON, MENU,
    OVER_TRAINING,
};
use super::event::{AppEvent, Key, KeyCode, TICK_MS};
use super::inspector::{InspectorState, Outcome as InspectorOutcome};
use super::keys::action_for;
use super::progress::{Progress, QuizTally};
use super::theme::Theme;
use super::training::{KeyOutcome, TrainPrefs, TrainingState};

/// Automatic stepping intervals, slowest first (milliseconds per step).
pub const SPEEDS_MS: [u64; 6] = [3000, 2000, 1000, 600, 300, 150];
/// The interval chosen at start (index into [`SPEEDS_MS`]).
pub const DEFAULT_SPEED: usize = 2;

/// Which screen is showing.
#[derive(Debug)]
pub enum Screen {
    /// The lesson list.
    Menu,
    /// One lesson, stepping through its frames.
    Lesson(LessonState),
    /// Training the real network (from the `train` lesson), and its results.
    Training(Box<TrainingState>),
    /// Inside the trained network (from the training results or the architecture
    /// lesson), and the screen to go back to.
    Inspector(Box<InspectorState>, Box<Screen>),
}

/// Which part of the lesson screen the scroll keys move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The explanation text.
    Text,
    /// The panels (matrices, images, bars).
    Panels,
}

/// The number being edited in a lesson's matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditState {
    /// Index into the lesson's edit targets.
    pub target: usize,
    /// Cursor row.
    pub row: usize,
    /// Cursor column.
    pub col: usize,
    /// What has been typed so far.
    pub input: String,
}

/// State of an open lesson.
#[derive(Debug)]
pub struct LessonState {
    /// Index into [`App::lessons`].
    pub lesson: usize,
    /// The lesson's frames, recomputed after every edit.
    pub frames: Vec<Step>,
    /// The current frame (0-based).
    pub step: usize,
    /// Automatic stepping is on.
    pub playing: bool,
    /// Index into [`SPEEDS_MS`].
    pub speed: usize,
    /// Milliseconds since the last automatic step.
    pub elapsed_ms: u64,
    /// What the scroll keys move.
    pub focus: Focus,
    /// First text line shown.
    pub text_scroll: u16,
    /// First panel row shown.
    pub panel_scroll: u16,
    /// Editing a matrix, when on.
    pub edit: Option<EditState>,
    /// The last preset applied (for `f` to cycle).
    pub preset: Option<usize>,
    /// "Your turn": the lesson's questions and how the open one is going.
    pub quiz: Box<QuizState>,
}

/// Wrong tries after which the answer is shown, with its working.
pub const MAX_TRIES: u8 = 3;

/// "Your turn" in an open lesson: its questions (from its kind, for its current frames)
/// and the learner's answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuizState {
    /// The lesson's questions, recomputed with its frames; the app asks those `in_app`.
    pub questions: Vec<Question>,
    /// Per question: how it ended, once it has (an open question has none).
    pub outcomes: Vec<Option<Outcome>>,
    /// What has been typed for the open question.
    pub input: String,
    /// Wrong tries at the open question.
    pub tries: u8,
    /// Hints given for the open question.
    pub hints: usize,
    /// What the last check said.
    pub feedback: Option<Feedback>,
}

impl QuizState {
    fn new(questions: Vec<Question>) -> Self {
        QuizState {
            outcomes: vec![None; questions.len()],
            questions,
            ..QuizState::default()
        }
    }
}

/// How a question ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered right (at the first try, or later).
    Right {
        /// At the first try.
        first_try: bool,
    },
    /// Three wrong tries: the answer was shown.
    Shown,
    /// Skipped (Esc).
    Skipped,
}

/// What the last check of an answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// Right (drawn as good news) or not.
    pub right: bool,
    /// The lines to show ("Right: 155"; "Not quite: try again"; the worked answer).
    pub lines: Vec<String>,
}

/// The whole app: lessons, progress, the screen, the help overlay, a notice line.
#[derive(Debug)]
pub struct App {
    theme: Theme,
    lessons: Vec<Lesson>,
    /// Each lesson's opening text (its first step), shown in the menu.
    intros: Vec<Vec<String>>,
    /// Per lesson, the step to reopen it at (where the learner left it in this run).
    resume: Vec<usize>,
    progress: Progress,
    progress_changed: bool,
    screen: Screen,
    selected: usize,
    help: Option<u16>,
    notice: Option<String>,
    quit: bool,
    size: (u16, u16),
    /// Settings and paths of the training screen (kept between visits).
    train_prefs: TrainPrefs,
    /// In a classroom with a teacher: whether this student follows the teacher (`None`:
    /// no teacher to follow). `f` toggles it; the session does the following.
    follow: Option<bool>,
    /// The last model the training screen showed (trained or loaded), for the inspector.
    last_model: Option<(crate::nn::net::Net, Vec<String>)>,
    /// A saved model file exists at the training screen's model path (the front end says).
    saved_model: bool,
    /// "Your turn" is on (`y`): stepping forward asks before it reveals.
    your_turn: bool,
    /// "Your turn" answers of this run, per lesson id.
    quiz_session: BTreeMap<String, QuizTally>,
    /// Wrong answers since the last right one (the teacher's console marks a run of them).
    quiz_wrong_in_a_row: u32,
}

impl App {
    /// An app on the menu with these lessons and this progress.
    pub fn new(lessons: Vec<Lesson>, theme: Theme, progress: Progress) -> Self {
        let intros = lessons
            .iter()
            .map(|l| {
                l.frames()
                    .ok()
                    .and_then(|f| f.into_iter().next())
                    .map(|f| f.text)
                    .unwrap_or_default()
            })
            .collect();
        App {
            theme,
            resume: vec![0; lessons.len()],
            lessons,
            intros,
            progress,
            progress_changed: false,
            screen: Screen::Menu,
            selected: 0,
            help: None,
            notice: None,
            quit: false,
            size: (80, 24),
            train_prefs: TrainPrefs::default(),
            follow: None,
            last_model: None,
            saved_model: false,
            your_turn: false,
            quiz_session: BTreeMap::new(),
            quiz_wrong_in_a_row: 0,
        }
    }

    /// Open the lesson with this id (as `cnn-tutor lesson ID` does). Unknown id: an error
    /// naming the known ids.
    pub fn open_by_id(&mut self, id: &str) -> crate::Result<()> {
        let Some(i) = self.lessons.iter().position(|l| l.id() == id) else {
            let ids: Vec<&str> = self.lessons.iter().map(Lesson::id).collect();
            return Err(crate::Error::Usage(format!(
                "no lesson `{id}`; the lessons are: {}",
                ids.join(", ")
            )));
        };
        self.selected = i;
        self.open(i);
        match &self.screen {
            Screen::Lesson(_) | Screen::Training(_) | Screen::Inspector(..) => Ok(()),
            Screen::Menu => Err(crate::Error::Lesson(
                self.notice
                    .clone()
                    .unwrap_or_else(|| format!("cannot open `{id}`")),
            )),
        }
    }

    /// Show a one-line note in the status line (e.g. a damaged progress file).
    pub fn set_notice(&mut self, notice: impl Into<String>) {
        self.notice = Some(notice.into());
    }

    /// The note in the status line, if any.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// The app asked to end.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Colours and symbols.
    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Change colours and symbols (an SSH session learning its client's terminal).
    pub fn set_theme(&mut self, theme: Theme) {
        self.theme = theme;
    }

    /// The lessons, in menu order.
    pub fn lessons(&self) -> &[Lesson] {
        &self.lessons
    }

    /// The opening paragraphs of lesson `index` (empty if it has none).
    pub fn intro(&self, index: usize) -> &[String] {
        self.intros.get(index).map_or(&[], Vec::as_slice)
    }

    /// The learner's progress.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// True once after progress changed (the front end saves it then).
    pub fn take_progress_changed(&mut self) -> bool {
        std::mem::take(&mut self.progress_changed)
    }

    /// The current screen.
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// The selected menu row.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The help overlay is open (with this scroll offset).
    pub fn help(&self) -> Option<u16> {
        self.help
    }

    /// The last size the front end reported.
    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// The open lesson's state, if a lesson is open.
    pub fn lesson_state(&self) -> Option<&LessonState> {
        match &self.screen {
            Screen::Lesson(s) => Some(s),
            Screen::Menu | Screen::Training(_) | Screen::Inspector(..) => None,
        }
    }

    /// Apply one event. Returns true when something may look different (redraw).
    pub fn handle(&mut self, event: AppEvent) -> bool {
        match event {
            AppEvent::Resize(w, h) => {
                self.size = (w, h);
                // keep scroll positions within what the new size shows
                self.scroll(0);
                if let Some(scroll) = self.help {
                    let area = ratatui::layout::Rect::new(0, 0, w, h);
                    self.help = Some(scroll.min(super::view::help_max_scroll(&self.theme, area)));
                }
                true
            }
            AppEvent::Tick => self.tick(),
            AppEvent::Key(key) => {
                self.key(key);
                true
            }
            AppEvent::Paste(text) => {
                self.paste(&text);
                true
            }
        }
    }

    /// A paste, one event however long: the field being edited takes what fits of its
    /// first line (the characters it accepts, up to its length); with no field open a
    /// paste does nothing (pasted text never acts as keys).
    fn paste(&mut self, text: &str) {
        let line = text.lines().next().unwrap_or("").trim();
        if let Screen::Training(t) = &mut self.screen {
            t.paste(line);
            return;
        }
        if let Screen::Inspector(i, _) = &mut self.screen {
            i.paste(line);
            return;
        }
        if let Screen::Lesson(LessonState {
            edit: Some(edit), ..
        }) = &mut self.screen
        {
            for c in line.chars() {
                if !matches!(c, '0'..='9' | '-' | '.') || edit.input.len() >= 10 {
                    break;
                }
                edit.input.push(c);
            }
        }
    }

    fn tick(&mut self) -> bool {
        if let Screen::Training(t) = &mut self.screen {
            return t.tick();
        }
        let Screen::Lesson(state) = &mut self.screen else {
            return false;
        };
        if !state.playing || self.help.is_some() {
            return false;
        }
        state.elapsed_ms += TICK_MS;
        if state.elapsed_ms < SPEEDS_MS[state.speed] {
            return false;
        }
        state.elapsed_ms = 0;
        if state.step + 1 >= state.frames.len() {
            state.playing = false;
        } else {
            self.go_to(state_step(&self.screen) + 1);
        }
        true
    }

    fn key(&mut self, key: Key) {
        if self.help.is_some() {
            if let Some(action) = action_for(HELP, self, key) {
                self.help_update(action);
            }
            return;
        }
        if let Screen::Training(_) = &self.screen {
            if let Some(OverTrainingAction::Follow) = action_for(OVER_TRAINING, self, key) {
                self.toggle_follow();
                return;
            }
            let Screen::Training(t) = &mut self.screen else {
                return;
            };
            let (outcome, effects) = t.key(key);
            let (inspect, effects): (Vec<_>, Vec<_>) = effects
                .into_iter()
                .partition(|e| matches!(e, super::training::Effect::Inspect(_)));
            super::training::run_effects(t, effects);
            if let Some(super::training::Effect::Inspect(req)) = inspect.into_iter().next() {
                self.open_inspector(*req);
                return;
            }
            match outcome {
                KeyOutcome::Stay => {}
                KeyOutcome::Quit => self.quit = true,
                KeyOutcome::Back => self.leave_training(),
                KeyOutcome::Help => {
                    let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
                    let first = super::training::actions::SETTINGS;
                    let at = super::view::help_scroll_to(&self.theme, area, first);
                    self.help = Some(at);
                }
            }
            return;
        }
        if let Screen::Inspector(..) = &self.screen {
            self.inspector_key(key);
            return;
        }
        match &self.screen {
            Screen::Lesson(s) if s.edit.is_some() => {
                if let Some(action) = action_for(EDIT, self, key) {
                    self.edit_update(action, key);
                }
            }
            Screen::Lesson(_) => {
                if let Some(action) = action_for(LESSON, self, key) {
                    self.lesson_update(action, key);
                }
            }
            Screen::Menu => {
                if let Some(action) = action_for(MENU, self, key) {
                    self.menu_update(action);
                }
            }
            Screen::Training(_) | Screen::Inspector(..) => {}
        }
    }

    /// A classroom student's `f`: follow the teacher, or stop (the session sees the change
    /// in [`App::follow`] and does the following).
    fn toggle_follow(&mut self) {
        if let Some(on) = self.follow {
            self.follow = Some(!on);
        }
    }

    fn help_update(&mut self, action: HelpAction) {
        let Some(scroll) = self.help else {
            return;
        };
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        let help_max = super::view::help_max_scroll(&self.theme, area);
        self.help = match action {
            HelpAction::Quit => {
                self.quit = true;
                None
            }
            HelpAction::Follow => {
                self.toggle_follow();
                Some(scroll)
            }
            HelpAction::Close => None,
            HelpAction::Up => Some(scroll.saturating_sub(1)),
            HelpAction::Down => Some((scroll + 1).min(help_max)),
            HelpAction::PageUp => Some(scroll.saturating_sub(10)),
            HelpAction::PageDown => Some((scroll + 10).min(help_max)),
            HelpAction::Top => Some(0),
            HelpAction::Bottom => Some(help_max),
        };
    }

    fn menu_update(&mut self, action: MenuAction) {
        let n = self.lessons.len();
        match action {
            MenuAction::Help => self.help = Some(0),
            MenuAction::Quit => self.quit = true,
            MenuAction::Follow => self.toggle_follow(),
            MenuAction::Up => self.selected = self.selected.saturating_sub(1),
            MenuAction::Down => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            MenuAction::First => self.selected = 0,
            MenuAction::Last => self.selected = n.saturating_sub(1),
            MenuAction::Open => self.open(self.selected),
            MenuAction::ClearNotice => self.notice = None,
        }
    }

    fn open(&mut self, index: usize) {
        let Some(lesson) = self.lessons.get(index) else {
            return;
        };
        match lesson.frames() {
            Ok(frames) if !frames.is_empty() => {
                let id = lesson.id().to_string();
                let frames_for_quiz = frames.clone();
                self.notice = None;
                self.screen = Screen::Lesson(LessonState {
                    lesson: index,
                    frames,
                    step: 0,
                    playing: false,
                    speed: DEFAULT_SPEED,
                    elapsed_ms: 0,
                    focus: Focus::Text,
                    text_scroll: 0,
                    panel_scroll: 0,
                    edit: None,
                    preset: None,
                    quiz: Box::new(QuizState::new(lesson.questions(&frames_for_quiz))),
                });
                if self.progress.visit(&id) {
                    self.progress_changed = true;
                }
                let resume = self.resume.get(index).copied().unwrap_or(0);
                self.go_to(resume);
            }
            Ok(_) => {
                self.notice = Some(format!("lesson `{}` has no steps", lesson.id()));
            }
            Err(e) => self.notice = Some(format!("cannot open `{}`: {e}", lesson.id())),
        }
    }

    /// Show step `n` (1-based) of the open lesson, as `lesson ID --step N` asks; a step
    /// the lesson does not have is an error naming the steps it has.
    pub fn open_step(&mut self, n: usize) -> crate::Result<()> {
        let Screen::Lesson(state) = &self.screen else {
            return Ok(());
        };
        let total = state.frames.len();
        if n == 0 || n > total {
            let id = self.lessons[state.lesson].id();
            return Err(crate::Error::Usage(format!(
                "step {n} is out of range: lesson `{id}` has steps 1 to {total}"
            )));
        }
        self.go_to(n - 1);
        Ok(())
    }

    /// Move the open lesson to `step` (clamped); reaching the last step finishes the lesson.
    fn go_to(&mut self, step: usize) {
        let Screen::Lesson(state) = &mut self.screen else {
            return;
        };
        let last = state.frames.len().saturating_sub(1);
        let step = step.min(last);
        if step != state.step {
            state.text_scroll = 0;
            let q = &mut state.quiz;
            q.input.clear();
            q.tries = 0;
            q.hints = 0;
            q.feedback = None;
        }
        state.step = step;
        state.elapsed_ms = 0;
        if open_question(state, self.your_turn).is_some() {
            // automatic stepping waits for the learner's answer
            state.playing = false;
        }
        if step == last {
            state.playing = false;
            if let Some(lesson) = self.lessons.get(state.lesson) {
                if self.progress.finish(lesson.id()) {
                    self.progress_changed = true;
                }
            }
        }
    }

    fn lesson_update(&mut self, action: LessonAction, key: Key) {
        let Screen::Lesson(state) = &mut self.screen else {
            return;
        };
        let step = state.step;
        let last = state.frames.len().saturating_sub(1);
        match action {
            LessonAction::YourTurn
            | LessonAction::AnswerType
            | LessonAction::AnswerDelete
            | LessonAction::AnswerCheck
            | LessonAction::AnswerHint
            | LessonAction::AnswerSkip => self.quiz_update(action, key),
            LessonAction::Help => self.help = Some(0),
            LessonAction::Quit => self.quit = true,
            LessonAction::Follow => self.toggle_follow(),
            LessonAction::TrainNow => self.open_training(true),
            LessonAction::TrainSettings => self.open_training(false),
            LessonAction::Inspect => self.inspect_model(),
            LessonAction::InspectHowTo => {
                self.notice = Some(
                    "no model to look inside yet: train one in lesson 9 (s) or load one there (L)"
                        .into(),
                );
            }
            LessonAction::Next => {
                state.playing = false;
                self.go_to(step + 1);
            }
            LessonAction::Previous => {
                state.playing = false;
                self.go_to(step.saturating_sub(1));
            }
            LessonAction::First => {
                state.playing = false;
                self.go_to(0);
            }
            LessonAction::Last => {
                state.playing = false;
                self.go_to(last);
            }
            LessonAction::PlayPause => {
                if state.playing {
                    state.playing = false;
                } else if step < last {
                    state.playing = true;
                    state.elapsed_ms = 0;
                } else {
                    // at the end: play from the start
                    state.playing = true;
                    state.elapsed_ms = 0;
                    self.go_to(0);
                    if let Screen::Lesson(s) = &mut self.screen {
                        s.playing = true;
                    }
                }
            }
            LessonAction::Faster => {
                state.speed = (state.speed + 1).min(SPEEDS_MS.len() - 1);
            }
            LessonAction::Slower => state.speed = state.speed.saturating_sub(1),
            LessonAction::Focus => {
                state.focus = match state.focus {
                    Focus::Text => Focus::Panels,
                    Focus::Panels => Focus::Text,
                };
            }
            LessonAction::ScrollUp => self.scroll(-1),
            LessonAction::ScrollDown => self.scroll(1),
            LessonAction::PageUp => self.scroll(-10),
            LessonAction::PageDown => self.scroll(10),
            LessonAction::Back => {
                // remember where the learner was, for coming back during this run
                let (lesson, at_end) = (state.lesson, step == last);
                if let Some(slot) = self.resume.get_mut(lesson) {
                    *slot = if at_end { 0 } else { step };
                }
                self.screen = Screen::Menu;
            }
            LessonAction::Edit => self.start_edit(),
            LessonAction::NextPreset => self.next_preset(),
            LessonAction::Reroll => self.reset_or_reroll(false),
            LessonAction::LowerP => self.adjust_probability(-0.1),
            LessonAction::RaiseP => self.adjust_probability(0.1),
            LessonAction::NextTarget => self.next_target(),
            LessonAction::MoreUpdates => self.adjust_updates(1),
            LessonAction::FewerUpdates => self.adjust_updates(-1),
        }
    }

    /// Scroll the focused part of the lesson screen, within what the current size shows
    /// (and clamp the other part).
    fn scroll(&mut self, by: i32) {
        let Screen::Lesson(state) = &self.screen else {
            return;
        };
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        let lay = super::lesson_view::layout(self, state, area);
        let (text_max, panel_max) = (lay.max_text_scroll(), lay.max_panel_scroll());
        let Screen::Lesson(state) = &mut self.screen else {
            return;
        };
        state.text_scroll = state.text_scroll.min(text_max);
        state.panel_scroll = state.panel_scroll.min(panel_max);
        let (target, max) = match state.focus {
            Focus::Text => (&mut state.text_scroll, text_max),
            Focus::Panels => (&mut state.panel_scroll, panel_max),
        };
        let next = (i32::from(*target) + by).clamp(0, i32::from(max));
        *target = u16::try_from(next).unwrap_or(0);
    }

    fn current_lesson_mut(&mut self) -> Option<(&mut Lesson, &mut LessonState)> {
        let Screen::Lesson(state) = &mut self.screen else {
            return None;
        };
        let lesson = self.lessons.get_mut(state.lesson)?;
        Some((lesson, state))
    }

    /// Recompute the open lesson's frames after a change, keeping the step.
    fn recompute(&mut self) {
        let Some((lesson, state)) = self.current_lesson_mut() else {
            return;
        };
        match lesson.frames() {
            Ok(frames) if !frames.is_empty() => {
                state.step = state.step.min(frames.len() - 1);
                // new numbers, new answers: every question is asked afresh
                *state.quiz = QuizState::new(lesson.questions(&frames));
                state.frames = frames;
            }
            Ok(_) => self.notice = Some("these numbers give no steps".into()),
            Err(e) => self.notice = Some(format!("cannot compute: {e}")),
        }
    }

    fn start_edit(&mut self) {
        let Some((lesson, state)) = self.current_lesson_mut() else {
            return;
        };
        let targets = lesson.edit_targets();
        if targets.is_empty() {
            self.notice = Some("nothing to edit in this lesson".into());
            return;
        }
        // start on the filter when there is one: its weights are what learners try first
        let target = targets
            .iter()
            .position(|t| t.name.to_lowercase().starts_with("filter"))
            .unwrap_or(0);
        state.playing = false;
        state.edit = Some(EditState {
            target,
            row: 0,
            col: 0,
            input: String::new(),
        });
        self.notice = None;
    }

    fn next_preset(&mut self) {
        let Some((lesson, state)) = self.current_lesson_mut() else {
            return;
        };
        let presets = lesson.presets();
        if presets.is_empty() {
            self.notice = Some("this lesson has no preset filters".into());
            return;
        }
        let next = state.preset.map_or(0, |p| (p + 1) % presets.len());
        state.preset = Some(next);
        lesson.apply_preset(next);
        let name = presets.get(next).cloned().unwrap_or_default();
        self.notice = Some(format!("filter: {name}"));
        self.recompute();
    }

    /// `r`: outside editing, a lesson with random drops re-rolls them; otherwise (and while
    /// editing) the lesson's own numbers come back.
    fn reset_or_reroll(&mut self, editing: bool) {
        let Some((lesson, state)) = self.current_lesson_mut() else {
            return;
        };
        if !editing && lesson.reroll() {
            self.notice = Some("new random drops".into());
            self.recompute();
            return;
        }
        if lesson.edit_targets().is_empty() {
            return;
        }
        lesson.reset();
        state.preset = None;
        self.notice = Some("numbers reset to the lesson's own".into());
        self.recompute();
    }

    fn adjust_probability(&mut self, delta: f32) {
        let Some((lesson, _)) = self.current_lesson_mut() else {
            return;
        };
        if lesson.adjust_probability(delta) {
            self.notice = Some(format!(
                "dropout p = {}",
                crate::lesson::fmt_num(lesson.dropout_p())
            ));
            self.recompute();
        }
    }

    /// A training-step lesson: the next class becomes the target; every gradient recomputes.
    fn next_target(&mut self) {
        let Some((lesson, _)) = self.current_lesson_mut() else {
            return;
        };
        if lesson.next_target() {
            let name = lesson.target_class().unwrap_or("?").to_string();
            self.notice = Some(format!("target class: {name}"));
            self.recompute();
        }
    }

    /// A training-step lesson: take `delta` more (or fewer) update steps.
    fn adjust_updates(&mut self, delta: i32) {
        let Some((lesson, _)) = self.current_lesson_mut() else {
            return;
        };
        let changed = lesson.adjust_updates(delta);
        let n = lesson.updates();
        if lesson.capabilities().training_step {
            self.notice = Some(format!(
                "{n} update step{}{}",
                if n == 1 { "" } else { "s" },
                if changed { "" } else { " (the limit)" }
            ));
        }
        if changed {
            self.recompute();
        }
    }

    fn edit_update(&mut self, action: EditAction, key: Key) {
        match action {
            EditAction::Help => {
                self.help = Some(0);
                return;
            }
            EditAction::Quit => {
                self.quit = true;
                return;
            }
            EditAction::Follow => {
                self.toggle_follow();
                return;
            }
            EditAction::NextPreset => {
                self.next_preset();
                return;
            }
            EditAction::Reset => {
                self.reset_or_reroll(true);
                return;
            }
            _ => {}
        }
        let Some((lesson, state)) = self.current_lesson_mut() else {
            return;
        };
        let targets = lesson.edit_targets();
        let Some(edit) = state.edit.as_mut() else {
            return;
        };
        let Some(target) = targets.get(edit.target) else {
            state.edit = None;
            return;
        };
        let (rows, cols) = (target.rows.max(1), target.cols.max(1));
        match action {
            EditAction::ClearOrStop => {
                if edit.input.is_empty() {
                    state.edit = None;
                } else {
                    edit.input.clear();
                }
            }
            EditAction::Up => {
                edit.row = edit.row.saturating_sub(1);
                edit.input.clear();
            }
            EditAction::Down => {
                edit.row = (edit.row + 1).min(rows - 1);
                edit.input.clear();
            }
            EditAction::Left => {
                edit.col = edit.col.saturating_sub(1);
                edit.input.clear();
            }
            EditAction::Right => {
                edit.col = (edit.col + 1).min(cols - 1);
                edit.input.clear();
            }
            EditAction::RowStart => edit.col = 0,
            EditAction::RowEnd => edit.col = cols - 1,
            EditAction::NextMatrix | EditAction::PreviousMatrix => {
                let n = targets.len();
                edit.target = if action == EditAction::NextMatrix {
                    (edit.target + 1) % n
                } else {
                    (edit.target + n - 1) % n
                };
                let t = &targets[edit.target];
                edit.row = edit.row.min(t.rows.saturating_sub(1));
                edit.col = edit.col.min(t.cols.saturating_sub(1));
                edit.input.clear();
            }
            EditAction::Type => {
                if let KeyCode::Char(c) = key.code {
                    if edit.input.len() < 10 {
                        edit.input.push(c);
                    }
                }
            }
            EditAction::DeleteChar => {
                edit.input.pop();
            }
            EditAction::Set => {
                if edit.input.is_empty() {
                    return;
                }
                match edit.input.parse::<f32>() {
                    Ok(v) if v.is_finite() && v.abs() <= 1.0e6 => {
                        let (t, r, c) = (edit.target, edit.row, edit.col);
                        edit.input.clear();
                        lesson.set_value(t, r, c, v);
                        state.preset = None;
                        self.notice = None;
                        self.recompute();
                    }
                    Ok(_) => {
                        edit.input.clear();
                        self.notice = Some("keep numbers between -1000000 and 1000000".into());
                    }
                    Err(_) => {
                        let typed = std::mem::take(&mut edit.input);
                        self.notice = Some(format!("`{typed}` is not a number"));
                    }
                }
            }
            EditAction::Help
            | EditAction::Quit
            | EditAction::Follow
            | EditAction::NextPreset
            | EditAction::Reset => {}
        }
    }
}

fn state_step(screen: &Screen) -> usize {
    match screen {
        Screen::Lesson(s) => s.step,
        Screen::Menu | Screen::Training(_) | Screen::Inspector(..) => 0,
    }
}

impl App {
    /// Where the training screen reads images and saves the model (tests use temporary
    /// folders).
    pub fn set_train_prefs(&mut self, prefs: TrainPrefs) {
        self.train_prefs = prefs;
    }

    /// The training screen's state, when it is showing.
    pub fn training(&self) -> Option<&TrainingState> {
        match &self.screen {
            Screen::Training(t) => Some(t),
            _ => None,
        }
    }

    /// The training screen's state, mutable (tests feed recorded events through it).
    pub fn training_mut(&mut self) -> Option<&mut TrainingState> {
        match &mut self.screen {
            Screen::Training(t) => Some(t),
            _ => None,
        }
    }

    /// The open lesson is the train lesson (its `s` and Enter open the training screen).
    pub(crate) fn is_train_lesson(&self) -> bool {
        let Screen::Lesson(state) = &self.screen else {
            return false;
        };
        self.lessons
            .get(state.lesson)
            .is_some_and(|l| l.capabilities().training)
    }

    /// Leave the train lesson for the training screen: on its settings step, or (`start`)
    /// training at once with the settings shown.
    pub fn open_training(&mut self, start: bool) {
        let back = match std::mem::replace(&mut self.screen, Screen::Menu) {
            Screen::Lesson(s) => Some(s),
            other => {
                self.screen = other;
                return;
            }
        };
        let mut t = TrainingState::new(back, self.train_prefs.clone());
        let opening = t.opening_effects();
        super::training::run_effects(&mut t, opening);
        if start {
            t.start();
        }
        self.notice = None;
        self.screen = Screen::Training(Box::new(t));
    }

    /// The open lesson and step (index into [`App::lessons`], 0-based step); `None` on the
    /// menu and the training screen. A classroom's teacher publishes this.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.lesson_state().map(|s| (s.lesson, s.step))
    }

    /// Say whether this classroom student follows the teacher (`None`: no teacher). `f`
    /// then toggles it (see [`super::bindings`]); the session does the following.
    pub fn set_follow(&mut self, follow: Option<bool>) {
        self.follow = follow;
    }

    /// Whether this classroom student follows the teacher (`None`: no teacher).
    pub fn follow(&self) -> Option<bool> {
        self.follow
    }

    /// Show lesson `index` at `step` (a classroom student following the teacher). Does
    /// nothing on the training screen, where a run of the student's own may be going.
    pub fn show_position(&mut self, index: usize, step: usize) {
        match &self.screen {
            Screen::Training(_) | Screen::Inspector(..) => return,
            Screen::Lesson(s) if s.lesson == index => {}
            _ => {
                if index >= self.lessons.len() {
                    return;
                }
                self.selected = index;
                self.open(index);
            }
        }
        if let Screen::Lesson(s) = &mut self.screen {
            s.playing = false;
        }
        self.go_to(step);
    }

    fn leave_training(&mut self) {
        let Screen::Training(mut t) = std::mem::replace(&mut self.screen, Screen::Menu) else {
            return;
        };
        t.cancel();
        self.train_prefs.settings = t.prefs.settings.clone();
        self.train_prefs.data_dir = t.prefs.data_dir.clone();
        if let Some(r) = t.results() {
            self.last_model = Some((r.net.clone(), r.classes.clone()));
        }
        if t.phase.kind() == super::training::PhaseKind::Cancelled {
            self.notice = Some("training cancelled; no model was written".into());
        }
        self.screen = match t.back.take() {
            Some(s) => Screen::Lesson(s),
            None => Screen::Menu,
        };
    }
}

impl App {
    /// The inspector's state, when it is showing.
    pub fn inspector(&self) -> Option<&InspectorState> {
        match &self.screen {
            Screen::Inspector(i, _) => Some(i),
            _ => None,
        }
    }

    /// Say whether a saved model file exists at the model path (the front end looks).
    pub fn set_saved_model(&mut self, saved: bool) {
        self.saved_model = saved;
    }

    /// There is a model to look inside: one trained or loaded in this run, or a saved
    /// file this front end may read.
    pub fn has_model(&self) -> bool {
        self.last_model.is_some()
            || (self.saved_model
                && super::training::effects::refused(
                    &self.train_prefs,
                    super::training::Need::ReadModel,
                )
                .is_none())
    }

    /// The architecture lesson's `i`: the inspector on the last model, else on the saved
    /// file (read as the training screen's `L` reads it), a random shape first.
    fn inspect_model(&mut self) {
        let (net, classes) = match &self.last_model {
            Some((net, classes)) => (net.clone(), classes.clone()),
            None => {
                let done =
                    super::training::effects::run(&self.train_prefs, super::training::Effect::Load);
                match done {
                    super::training::Done::Loaded(_, net, meta) => (*net, meta.classes),
                    super::training::Done::NotLoaded(e) => {
                        self.notice = Some(format!("cannot load: {e}"));
                        return;
                    }
                    super::training::Done::Refused(why) => {
                        self.notice = Some(why.into());
                        return;
                    }
                    _ => return,
                }
            }
        };
        self.open_inspector(super::inspector::InspectRequest {
            net,
            classes,
            image: None,
            validation: Vec::new(),
            seed: self.train_prefs.settings.seed,
            restricted: self.train_prefs.restricted,
        });
    }

    /// Open the inspector for `req`, coming back to the screen showing now.
    pub fn open_inspector(&mut self, req: super::inspector::InspectRequest) {
        match InspectorState::new(req) {
            Ok(state) => {
                self.last_model = Some((
                    state.explorer().net().clone(),
                    state.explorer().classes().to_vec(),
                ));
                let back = std::mem::replace(&mut self.screen, Screen::Menu);
                self.screen = Screen::Inspector(Box::new(state), Box::new(back));
            }
            Err(e) => self.notice = Some(format!("cannot inspect: {e}")),
        }
    }

    /// A key on the inspector: its table, then the app runs its effects (reading a file,
    /// refused in a classroom) and leaves or opens the help as it says.
    fn inspector_key(&mut self, key: Key) {
        let Screen::Inspector(state, _) = &mut self.screen else {
            return;
        };
        let (outcome, effects) = state.key(key);
        for effect in effects {
            let done = super::training::effects::run(&self.train_prefs, effect);
            state.done(done);
        }
        match outcome {
            InspectorOutcome::Stay => {}
            InspectorOutcome::Help => self.help = Some(0),
            InspectorOutcome::Quit => self.quit = true,
            InspectorOutcome::Back => {
                if let Screen::Inspector(_, back) =
                    std::mem::replace(&mut self.screen, Screen::Menu)
                {
                    self.screen = *back;
                }
            }
        }
    }
}

/// The question lesson `state` asks now, when "your turn" is `on`: the first one of its
/// step the app asks that has not ended (index into its questions).
pub(crate) fn open_question(state: &LessonState, on: bool) -> Option<usize> {
    if !on {
        return None;
    }
    let q = &state.quiz;
    q.questions.iter().enumerate().position(|(i, x)| {
        x.in_app && x.step == state.step && q.outcomes.get(i).is_some_and(Option::is_none)
    })
}

/// "Your turn" (issue 14): the keys of an open question, the tally, and what the screens
/// and the classroom read of it.
impl App {
    /// "Your turn" is on (`y`).
    pub fn your_turn(&self) -> bool {
        self.your_turn
    }

    /// The question the open lesson asks now, if any.
    pub fn open_question(&self) -> Option<&Question> {
        let state = self.lesson_state()?;
        let i = open_question(state, self.your_turn)?;
        state.quiz.questions.get(i)
    }

    /// This run's "your turn" answers, per lesson id (a classroom session's are its
    /// student's: the teacher's console reads them here).
    pub fn quiz_tally(&self) -> &BTreeMap<String, QuizTally> {
        &self.quiz_session
    }

    /// Wrong answers since the last right one, over every lesson of this run.
    pub fn quiz_wrong_in_a_row(&self) -> u32 {
        self.quiz_wrong_in_a_row
    }

    /// This run's answers in lesson `id` (all 0 when none).
    pub fn quiz_tally_of(&self, id: &str) -> QuizTally {
        self.quiz_session.get(id).copied().unwrap_or_default()
    }

    fn count(&mut self, lesson: usize, tally: QuizTally) {
        let Some(id) = self.lessons.get(lesson).map(|l| l.id().to_string()) else {
            return;
        };
        self.quiz_session.entry(id.clone()).or_default().add(tally);
        if self.progress.record_quiz(&id, tally) {
            self.progress_changed = true;
        }
    }

    fn quiz_update(&mut self, action: LessonAction, key: Key) {
        if action == LessonAction::YourTurn {
            self.your_turn = !self.your_turn;
            self.notice = Some(if self.your_turn {
                "your turn is on".into()
            } else {
                "your turn is off: every result is shown".into()
            });
            if let Screen::Lesson(state) = &mut self.screen {
                state.quiz.input.clear();
                state.quiz.feedback = None;
                if open_question(state, self.your_turn).is_some() {
                    state.playing = false;
                }
            }
            return;
        }
        let on = self.your_turn;
        let Screen::Lesson(state) = &mut self.screen else {
            return;
        };
        let Some(qi) = open_question(state, on) else {
            return;
        };
        let lesson = state.lesson;
        let quiz = &mut state.quiz;
        let Some(question) = quiz.questions.get(qi).cloned() else {
            return;
        };
        match action {
            LessonAction::AnswerType => {
                if let KeyCode::Char(c) = key.code {
                    if quiz.input.chars().count() < 12 {
                        quiz.input.push(c);
                    }
                }
            }
            LessonAction::AnswerDelete => {
                quiz.input.pop();
            }
            LessonAction::AnswerHint => {
                if quiz.hints < question.hints.len() {
                    quiz.hints += 1;
                } else {
                    self.notice = Some("no more hints: Esc skips, or try".into());
                }
            }
            LessonAction::AnswerSkip => {
                quiz.outcomes[qi] = Some(Outcome::Skipped);
                quiz.input.clear();
                quiz.feedback = Some(Feedback {
                    right: false,
                    lines: vec![
                        format!("Skipped: {}", question.answer.shown()),
                        question.working.clone(),
                    ],
                });
            }
            LessonAction::AnswerCheck => {
                let typed = std::mem::take(&mut quiz.input);
                match question.answer.check(&typed) {
                    Verdict::Invalid(why) => {
                        quiz.feedback = Some(Feedback {
                            right: false,
                            lines: vec![why],
                        });
                    }
                    Verdict::TooCoarse(places) => {
                        quiz.input = typed;
                        quiz.feedback = Some(Feedback {
                            right: false,
                            lines: vec![format!(
                                "Close: give it to at least {places} decimal{}",
                                if places == 1 { "" } else { "s" }
                            )],
                        });
                    }
                    Verdict::Right => {
                        self.quiz_wrong_in_a_row = 0;
                        let first_try = quiz.tries == 0;
                        quiz.outcomes[qi] = Some(Outcome::Right { first_try });
                        quiz.feedback = Some(Feedback {
                            right: true,
                            lines: vec![format!("Right: {}", question.answer.shown())],
                        });
                        let tally = QuizTally {
                            asked: u32::from(first_try),
                            right: 1,
                            first_try: u32::from(first_try),
                        };
                        self.count(lesson, tally);
                    }
                    Verdict::Wrong => {
                        let first = quiz.tries == 0;
                        quiz.tries += 1;
                        self.quiz_wrong_in_a_row += 1;
                        if quiz.tries >= MAX_TRIES {
                            quiz.outcomes[qi] = Some(Outcome::Shown);
                            quiz.feedback = Some(Feedback {
                                right: false,
                                lines: vec![
                                    format!(
                                        "Not quite ({} tries). The answer: {}",
                                        quiz.tries,
                                        question.answer.shown()
                                    ),
                                    question.working.clone(),
                                ],
                            });
                        } else {
                            let left = MAX_TRIES - quiz.tries;
                            let hint = if quiz.hints < question.hints.len() {
                                ", h for a hint"
                            } else {
                                ""
                            };
                            quiz.feedback = Some(Feedback {
                                right: false,
                                lines: vec![format!(
                                    "Not quite: try again ({left} tr{} left{hint})",
                                    if left == 1 { "y" } else { "ies" }
                                )],
                            });
                        }
                        if first {
                            self.count(
                                lesson,
                                QuizTally {
                                    asked: 1,
                                    ..QuizTally::default()
                                },
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
