//! The training screen on the app's stack: its keys (after the app's own, [`OVER_TRAINING`])
//! become the router's [`Ask`]s, and what it keeps for its next visit (settings, data
//! folder, the model) goes to the [`Context`] when it closes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::super::event::Key;
use super::super::keys::{action_for, Binding, KeySpec};
use super::super::screen::{Ask, Component, Context, Facts, Open};
use super::{actions, Effect, KeyOutcome, PhaseKind, TrainPrefs, TrainingState};

/// What the app itself does with a key on the training screen, before the screen's own
/// table sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverTrainingAction {
    /// Stop following the teacher (a classroom student).
    Follow,
}

type OverTrainingBinding = Binding<OverTrainingAction, Facts>;

/// The app's keys on the training screen (the screen's own are in [`actions`]).
pub const OVER_TRAINING: &[OverTrainingBinding] =
    &[
        OverTrainingBinding::new(&[KeySpec::Char('f')], OverTrainingAction::Follow)
            .when(Facts::following),
    ];

impl TrainingState {
    /// The screen as the train lesson opens it: on its settings step, or (`start`) training
    /// at once; the effects that tell it about the devices and the data.
    pub fn open(prefs: TrainPrefs, start: bool) -> (TrainingState, Vec<Ask>) {
        let mut t = TrainingState::new(prefs);
        let opening = t.opening_effects().into_iter().map(Ask::Run).collect();
        if start {
            t.start();
        }
        (t, opening)
    }

    /// Leaving for the screen below: the run stops; the settings, the data folder and the
    /// model shown are kept for the next visit and the inspector.
    fn leave(&mut self, cx: &mut Context) {
        self.cancel();
        cx.prefs.settings = self.prefs.settings.clone();
        cx.prefs.data_dir = self.prefs.data_dir.clone();
        if let Some(r) = self.results() {
            cx.model = Some((r.net.clone(), r.classes.clone()));
        }
        if self.phase.kind() == PhaseKind::Cancelled {
            cx.notice = Some("training cancelled; no model was written".into());
        }
    }
}

impl Component for TrainingState {
    fn on_key(&mut self, key: Key, cx: &mut Context) -> Vec<Ask> {
        if let Some(OverTrainingAction::Follow) = action_for(OVER_TRAINING, &cx.facts(), key) {
            return vec![Ask::Follow];
        }
        let (outcome, effects) = self.key(key);
        let mut asks = Vec::new();
        let mut inspect = None;
        for effect in effects {
            match effect {
                Effect::Inspect(req) => inspect = inspect.or(Some(req)),
                other => asks.push(Ask::Run(other)),
            }
        }
        // the inspector opens after the other effects ran (see `Effect::Inspect`)
        if let Some(req) = inspect {
            asks.push(Ask::Open(Open::Inspector(req)));
            return asks;
        }
        match outcome {
            KeyOutcome::Stay => {}
            KeyOutcome::Quit => asks.push(Ask::Quit),
            KeyOutcome::Back => {
                self.leave(cx);
                asks.push(Ask::Back);
            }
            KeyOutcome::Help => asks.push(Ask::Help(Some(actions::SETTINGS))),
        }
        asks
    }

    fn on_paste(&mut self, line: &str) {
        self.paste(line);
    }

    fn on_tick(&mut self, _covered: bool, _cx: &mut Context) -> bool {
        self.tick()
    }

    fn on_done(&mut self, done: super::Done, _cx: &mut Context) -> Vec<Ask> {
        self.done(done);
        Vec::new()
    }

    fn draw(&self, cx: &Context, area: Rect, buf: &mut Buffer) {
        super::view::render(&cx.theme, self, area, buf);
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
