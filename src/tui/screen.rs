//! What a screen is to the router (`app/`): a [`Component`] on the stack that takes
//! keys, pastes, ticks and the outcomes of the effects it asked for, and draws itself
//! without changing. A screen never names the screen below or above it: it answers with
//! [`Ask`]s (open a screen, go back, quit, open the help, run an effect), which the router
//! carries out, as helix's compositor callbacks and gitui's internal events do.
//!
//! Screens share one [`Context`] (the course, the status line's notice, the training
//! screen's preferences, the last model, the classroom's following) and read the few app
//! facts their key tables' `when`s need from [`Facts`], which the router keeps in each
//! screen up to date.

use std::any::Any;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::course::Course;
use super::event::Key;
use super::inspector::InspectRequest;
use super::theme::Theme;
use super::training::{effects, Done, Effect, Need, TrainPrefs};
use crate::nn::net::Net;

/// The app facts a key table's `when` reads (copied into each screen by the router).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// In a classroom with a teacher: whether this student follows the teacher (`None`:
    /// no teacher to follow).
    pub follow: Option<bool>,
    /// "Your turn" is on.
    pub your_turn: bool,
    /// There is a model to look inside (trained or loaded in this run, or a saved file
    /// this front end may read).
    pub has_model: bool,
    /// Presenter mode (`--present`, `P`): big cells, no explanation, the step's value
    /// hidden until revealed.
    pub present: bool,
}

impl Facts {
    /// A classroom student follows the teacher.
    pub fn following(&self) -> bool {
        self.follow == Some(true)
    }

    /// A classroom student with the controls (who could follow the teacher).
    pub fn could_follow(&self) -> bool {
        self.follow == Some(false)
    }
}

/// What every screen may read and change besides its own state.
#[derive(Debug)]
pub struct Context {
    /// Colours and symbols.
    pub theme: Theme,
    /// The lessons, progress and "your turn".
    pub course: Course,
    /// The status line's note (the menu's and the lesson screen's).
    pub notice: Option<String>,
    /// Settings and paths of the training screen (kept between visits).
    pub prefs: TrainPrefs,
    /// The last model the training screen showed (trained or loaded), for the inspector.
    pub model: Option<(Net, Vec<String>)>,
    /// A saved model file exists at the training screen's model path (the front end says).
    pub saved_model: bool,
    /// A classroom student: following the teacher or not (`None`: no teacher).
    pub follow: Option<bool>,
    /// The last size the front end reported.
    pub size: (u16, u16),
    /// Presenter mode is on (see [`Facts::present`]).
    pub present: bool,
}

impl Context {
    /// A context for this course, drawn with `theme`, on an 80x24 terminal until told.
    pub fn new(course: Course, theme: Theme) -> Self {
        Context {
            theme,
            course,
            notice: None,
            prefs: TrainPrefs::default(),
            model: None,
            saved_model: false,
            follow: None,
            size: (80, 24),
            present: false,
        }
    }

    /// The facts the key tables read.
    pub fn facts(&self) -> Facts {
        Facts {
            follow: self.follow,
            your_turn: self.course.your_turn(),
            present: self.present,
            has_model: self.model.is_some()
                || (self.saved_model && effects::refused(&self.prefs, Need::ReadModel).is_none()),
        }
    }

    /// The whole terminal, as last reported.
    pub fn area(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }
}

/// A screen to open above the one asking.
#[derive(Debug)]
pub enum Open {
    /// Lesson `index` of the course, at the step it was left at.
    Lesson(usize),
    /// The training screen: on its settings step, or (`start`) training at once.
    Training {
        /// Start training at once with the settings shown.
        start: bool,
        /// An experiment's lab setup the settings take first (`None`: the last ones).
        lab: Option<Box<crate::train::lab::LabSetup>>,
    },
    /// The inspector on this model and image.
    Inspector(Box<InspectRequest>),
    /// The inspector on the last model, else on the saved model file (read first).
    LastModel,
    /// A screen the asking one made (the router needs to know nothing more of it).
    Screen(Box<dyn Component>),
}

/// What a screen asks of the router.
#[derive(Debug)]
pub enum Ask {
    /// Open a screen above this one.
    Open(Open),
    /// Close this screen (back to the one below).
    Back,
    /// End the app.
    Quit,
    /// Open the help overlay, at this section's keys (`None`: at the top).
    Help(Option<&'static str>),
    /// A classroom student's `f`: follow the teacher, or stop.
    Follow,
    /// Have the front end run this; its [`Done`] comes back to this screen.
    Run(Effect),
}

/// A screen on the router's stack.
pub trait Component: Any + std::fmt::Debug + Send {
    /// A key: what the router is to do.
    fn on_key(&mut self, key: Key, cx: &mut Context) -> Vec<Ask>;

    /// Pasted text (its first line, trimmed): a field being edited takes what fits.
    fn on_paste(&mut self, _line: &str) {}

    /// The terminal's size changed (it is in `cx`).
    fn on_resize(&mut self, _cx: &Context) {}

    /// A tick of the clock; `covered` while an overlay is drawn over this screen. True when
    /// the screen changed.
    fn on_tick(&mut self, _covered: bool, _cx: &mut Context) -> bool {
        false
    }

    /// The outcome of an effect this screen asked for.
    fn on_done(&mut self, _done: Done, _cx: &mut Context) -> Vec<Ask> {
        Vec::new()
    }

    /// Draw the screen into `area` (rendering never changes what a key sees).
    fn draw(&self, cx: &Context, area: Rect, buf: &mut Buffer);

    /// The app facts changed (the router calls this after every event).
    fn set_facts(&mut self, _facts: Facts) {}

    /// Drawn over the screen below it (the help), rather than instead of it.
    fn is_overlay(&self) -> bool {
        false
    }

    /// This screen, to look at its own type (the router's accessors).
    fn as_any(&self) -> &dyn Any;

    /// This screen, to change as its own type.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}
