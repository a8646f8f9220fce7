//! What front ends and tests ask of the app and tell it besides events: opening a lesson
//! by id, following the teacher, the screen showing and its state, the course, the
//! preferences.

use crate::lesson::quiz::Question;
use crate::lesson::Lesson;

use super::super::course::CourseState;
use super::super::help::HelpState;
use super::super::inspector::InspectorState;
use super::super::lesson_screen::LessonState;
use super::super::menu::MenuState;
use super::super::progress::{Progress, QuizTally};
use super::super::screen::{Facts, Open};
use super::super::theme::Theme;
use super::super::training::{TrainPrefs, TrainingState};
use super::{App, Layer, Screen};

/// What front ends and tests ask and tell the app besides events.
impl App {
    /// Open the lesson with this id (as `cnn-tutor lesson ID` does). Unknown id: an error
    /// naming the known ids.
    pub fn open_by_id(&mut self, id: &str) -> crate::Result<()> {
        let lessons = self.cx.course.lessons();
        let Some(i) = lessons.iter().position(|l| l.id() == id) else {
            let ids: Vec<&str> = lessons.iter().map(Lesson::id).collect();
            return Err(crate::Error::Usage(format!(
                "no lesson `{id}`; the lessons are: {}",
                ids.join(", ")
            )));
        };
        if let Some(menu) = self.menu_mut() {
            menu.selected = i;
        }
        let mut out = Vec::new();
        self.open(Open::Lesson(i), &mut out);
        self.sync_facts();
        match self.screen() {
            Screen::Menu => Err(crate::Error::Lesson(
                self.cx
                    .notice
                    .clone()
                    .unwrap_or_else(|| format!("cannot open `{id}`")),
            )),
            _ => Ok(()),
        }
    }

    /// Show step `n` (1-based) of the open lesson, as `lesson ID --step N` asks; a step
    /// the lesson does not have is an error naming the steps it has.
    pub fn open_step(&mut self, n: usize) -> crate::Result<()> {
        let i = self.screen_index();
        let Some(state) = self.stack[i]
            .screen
            .as_any_mut()
            .downcast_mut::<LessonState>()
        else {
            return Ok(());
        };
        let total = state.frames.len();
        if n == 0 || n > total {
            let id = self.cx.course.lessons()[state.lesson].id();
            return Err(crate::Error::Usage(format!(
                "step {n} is out of range: lesson `{id}` has steps 1 to {total}"
            )));
        }
        state.go_to(n - 1, &mut self.cx);
        Ok(())
    }

    /// Show lesson `index` at `step` (a classroom student following the teacher). Does
    /// nothing on the training screen and the inspector, where work of the student's own
    /// may be going.
    pub fn show_position(&mut self, index: usize, step: usize) {
        let i = self.screen_index();
        let showing = match self.screen() {
            Screen::Training(_) | Screen::Inspector(_) | Screen::Other => return,
            Screen::Lesson(s) => Some(s.lesson),
            Screen::Menu => None,
        };
        if showing != Some(index) {
            {
                if index >= self.cx.course.lessons().len() {
                    return;
                }
                if let Some(menu) = self.menu_mut() {
                    menu.selected = index;
                }
                match LessonState::open(index, &mut self.cx) {
                    Ok(state) => {
                        // in place of the lesson showing, else above the menu (under the
                        // help, if it is open)
                        if i > 0 {
                            self.stack.remove(i);
                        }
                        let id = self.new_id();
                        let screen = Box::new(state);
                        self.stack.insert(i.max(1), Layer { id, screen });
                    }
                    Err(why) => self.cx.notice = Some(why),
                }
            }
        }
        let i = self.screen_index();
        if let Some(state) = self.stack[i]
            .screen
            .as_any_mut()
            .downcast_mut::<LessonState>()
        {
            state.show(step, &mut self.cx);
        }
        self.sync_facts();
    }

    /// What the learner did in this run and the lesson step showing (a classroom keeps it
    /// to hand back to a student who reconnects).
    pub fn course_state(&self) -> (CourseState, Option<(usize, usize)>) {
        (self.cx.course.state(), self.position())
    }

    /// Carry on from a [`Self::course_state`]: the progress and answers back, and the
    /// lesson step open again (nothing opens when `at` is `None`).
    pub fn restore_course(&mut self, state: CourseState, at: Option<(usize, usize)>) {
        self.cx.course.restore(state);
        self.sync_facts();
        if let Some((lesson, step)) = at {
            self.show_position(lesson, step);
        }
    }

    /// Show a one-line note in the status line (e.g. a damaged progress file).
    pub fn set_notice(&mut self, notice: impl Into<String>) {
        self.cx.notice = Some(notice.into());
    }

    /// The note in the status line, if any.
    pub fn notice(&self) -> Option<&str> {
        self.cx.notice.as_deref()
    }

    /// The app asked to end.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Colours and symbols.
    pub fn theme(&self) -> &Theme {
        &self.cx.theme
    }

    /// Change colours and symbols (an SSH session learning its client's terminal).
    pub fn set_theme(&mut self, theme: Theme) {
        self.cx.theme = theme;
    }

    /// The lessons, in menu order.
    pub fn lessons(&self) -> &[Lesson] {
        self.cx.course.lessons()
    }

    /// The opening paragraphs of lesson `index` (empty if it has none).
    pub fn intro(&self, index: usize) -> &[String] {
        self.cx.course.intro(index)
    }

    /// The learner's progress.
    pub fn progress(&self) -> &Progress {
        self.cx.course.progress()
    }

    /// The screen showing (under the help overlay, if it is open).
    pub fn screen(&self) -> Screen<'_> {
        let screen = self.stack[self.screen_index()].screen.as_any();
        if screen.is::<MenuState>() {
            Screen::Menu
        } else if let Some(s) = screen.downcast_ref::<LessonState>() {
            Screen::Lesson(s)
        } else if let Some(t) = screen.downcast_ref::<TrainingState>() {
            Screen::Training(t)
        } else if let Some(i) = screen.downcast_ref::<InspectorState>() {
            Screen::Inspector(i)
        } else {
            Screen::Other
        }
    }

    /// The menu's state (its selected row).
    pub fn menu(&self) -> Option<&MenuState> {
        self.stack[0].screen.as_any().downcast_ref::<MenuState>()
    }

    /// The selected menu row.
    pub fn selected(&self) -> usize {
        self.menu().map_or(0, |m| m.selected)
    }

    /// The help overlay, when it is open.
    pub fn help_state(&self) -> Option<&HelpState> {
        self.stack
            .last()?
            .screen
            .as_any()
            .downcast_ref::<HelpState>()
    }

    /// The help overlay is open (with this scroll offset).
    pub fn help(&self) -> Option<u16> {
        self.help_state().map(|h| h.scroll)
    }

    /// The last size the front end reported.
    pub fn size(&self) -> (u16, u16) {
        self.cx.size
    }

    /// The facts the key tables read now.
    pub fn facts(&self) -> Facts {
        self.cx.facts()
    }

    /// The open lesson's state, if a lesson is showing.
    pub fn lesson_state(&self) -> Option<&LessonState> {
        self.top::<LessonState>()
    }

    /// The open lesson and step (index into [`App::lessons`], 0-based step); `None` on the
    /// menu and the other screens. A classroom's teacher publishes this.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.lesson_state().map(|s| (s.lesson, s.step))
    }

    /// Presenter mode on or off (`--present`; `P` in a lesson toggles it).
    pub fn set_present(&mut self, on: bool) {
        self.cx.present = on;
        self.sync_facts();
    }

    /// Presenter mode is on.
    pub fn present(&self) -> bool {
        self.cx.present
    }

    /// The open lesson step as a recording's chapter label
    /// (`convolution step 3/12: Window 2 of 16`); `None` off the lessons.
    pub fn step_label(&self) -> Option<String> {
        let state = self.lesson_state()?;
        let lesson = self.cx.course.lessons().get(state.lesson)?;
        let heading = state
            .frames
            .get(state.step)
            .map_or("", |f| f.heading.as_str());
        Some(crate::cast::step_label(
            lesson.id(),
            state.step,
            state.frames.len(),
            heading,
        ))
    }

    /// Where the training screen reads images and saves the model (tests use temporary
    /// folders).
    pub fn set_train_prefs(&mut self, prefs: TrainPrefs) {
        self.cx.prefs = prefs;
        self.sync_facts();
    }

    /// The training screen's preferences as the app keeps them (what effects run under).
    pub fn train_prefs(&self) -> &TrainPrefs {
        &self.cx.prefs
    }

    /// The training screen's state, when it is showing.
    pub fn training(&self) -> Option<&TrainingState> {
        self.top::<TrainingState>()
    }

    /// The training screen's state, mutable (tests feed recorded events through it; the
    /// classroom stops a run).
    pub fn training_mut(&mut self) -> Option<&mut TrainingState> {
        self.top_mut::<TrainingState>()
    }

    /// The inspector's state, when it is showing.
    pub fn inspector(&self) -> Option<&InspectorState> {
        self.top::<InspectorState>()
    }

    /// Say whether this classroom student follows the teacher (`None`: no teacher). `f`
    /// then toggles it ([`super::AppEffect::Follow`] says so); the session does the following.
    pub fn set_follow(&mut self, follow: Option<bool>) {
        self.cx.follow = follow;
        self.sync_facts();
    }

    /// Whether this classroom student follows the teacher (`None`: no teacher).
    pub fn follow(&self) -> Option<bool> {
        self.cx.follow
    }

    /// Say whether a saved model file exists at the model path (the front end looks).
    pub fn set_saved_model(&mut self, saved: bool) {
        self.cx.saved_model = saved;
        self.sync_facts();
    }

    /// There is a model to look inside: one trained or loaded in this run, or a saved
    /// file this front end may read.
    pub fn has_model(&self) -> bool {
        self.cx.facts().has_model
    }

    /// "Your turn" is on (`y`).
    pub fn your_turn(&self) -> bool {
        self.cx.course.your_turn()
    }

    /// The question the open lesson asks now, if any.
    pub fn open_question(&self) -> Option<&Question> {
        self.lesson_state()?.question(self.your_turn())
    }

    /// This run's "your turn" answers, per lesson id (a classroom session's are its
    /// student's: the teacher's console reads them here).
    pub fn quiz_tally(&self) -> &std::collections::BTreeMap<String, QuizTally> {
        self.cx.course.quiz_tally()
    }

    /// Each "your turn" question's tries in this run (what a classroom publishes).
    pub fn quiz_attempts(
        &self,
    ) -> &std::collections::BTreeMap<
        super::super::attempts::QuestionKey,
        super::super::attempts::Attempts,
    > {
        self.cx.course.attempts()
    }

    /// Wrong answers since the last right one, over every lesson of this run.
    pub fn quiz_wrong_in_a_row(&self) -> u32 {
        self.cx.course.quiz_wrong_in_a_row()
    }

    /// This run's answers in lesson `id` (all 0 when none).
    pub fn quiz_tally_of(&self, id: &str) -> QuizTally {
        self.cx.course.quiz_tally_of(id)
    }
}
