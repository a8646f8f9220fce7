//! The training screen's state: where it is ([`Phase`], which carries each step's data)
//! and how keys, worker messages and the outcomes of its [`Effect`]s change it. The
//! state reads no file and probes no device: it asks for that with effects.

use crate::backend::{cpu::argmax, DeviceChoice};
use crate::train::TrainEvent;

use super::super::event::{Key, KeyCode};
use super::super::path_input::{PathInput, PathKey};
use super::actions::{self, Action};
use super::effects::{self, Done, Effect};
use super::preview::DataPreview;
use super::results::{Results, ResultsTab};
use super::running::{Run, RunEnd, Stop};
use super::runs_view::RunsView;
use super::settings::{SettingField, SettingsForm, TrainPrefs};
use super::worker::WorkerMsg;

/// Where the screen is, with what that step shows and edits.
#[derive(Debug)]
pub enum Phase {
    /// Choosing the settings.
    Settings(SettingsForm),
    /// Training (or getting the data ready, or waiting in the classroom's queue).
    Running(Box<Run>),
    /// A run that ended early, as it ended.
    Stopped(Box<Run>, Stop),
    /// Finished (or a model loaded): the results tabs.
    Results(Box<Results>),
    /// The runs kept, listed and compared.
    Runs(Box<RunsView>),
}

/// Which phase, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseKind {
    /// Choosing the settings.
    Settings,
    /// Training.
    Running,
    /// Cancelled before the end.
    Cancelled,
    /// Stopped by an error.
    Failed,
    /// The results tabs.
    Results,
    /// The runs kept.
    Runs,
}

impl Phase {
    /// Which phase this is.
    pub fn kind(&self) -> PhaseKind {
        match self {
            Phase::Settings(_) => PhaseKind::Settings,
            Phase::Running(_) => PhaseKind::Running,
            Phase::Stopped(_, Stop::Cancelled) => PhaseKind::Cancelled,
            Phase::Stopped(_, Stop::Failed(_)) => PhaseKind::Failed,
            Phase::Results(_) => PhaseKind::Results,
            Phase::Runs(_) => PhaseKind::Runs,
        }
    }
}

/// What the app does after a key on the training screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOutcome {
    /// The screen handled it.
    Stay,
    /// Go back to the lesson.
    Back,
    /// Quit the app.
    Quit,
    /// Show the list of keys (the app's help, which has the training screen's sections).
    Help,
}

/// The whole training screen.
#[derive(Debug)]
pub struct TrainingState {
    /// Settings, data and model paths.
    pub prefs: TrainPrefs,
    /// Where the screen is.
    pub phase: Phase,
    /// Why CUDA cannot be chosen here, if it cannot (from [`Effect::ProbeDevices`]).
    pub cuda_unavailable: Option<String>,
    /// The data, as the settings step shows it (from [`Effect::PreviewData`]).
    pub data: DataPreview,
    /// A one-line message (saved, loaded, errors).
    pub notice: Option<String>,
}

impl TrainingState {
    /// The screen on its settings step. It knows nothing of the devices and the data until
    /// the front end runs [`TrainingState::opening_effects`].
    pub fn new(mut prefs: TrainPrefs) -> Self {
        super::lab_lock::enforce(&mut prefs);
        TrainingState {
            prefs,
            phase: Phase::Settings(SettingsForm::default()),
            cuda_unavailable: None,
            data: DataPreview {
                classes: Vec::new(),
                note: String::new(),
                warnings: Vec::new(),
            },
            notice: None,
        }
    }

    /// What the screen needs to know when it opens: the devices and the data folder.
    pub fn opening_effects(&self) -> Vec<Effect> {
        vec![
            Effect::ProbeDevices,
            Effect::PreviewData(self.prefs.data_dir.clone()),
        ]
    }

    /// Forget the last run and enter the running phase (no worker yet; see
    /// [`TrainingState::start`]). Tests feed recorded events after this.
    pub fn begin(&mut self) {
        self.phase = Phase::Running(Box::new(Run::new(&self.prefs)));
        self.notice = None;
    }

    /// Start a run with the current settings on a worker thread (or, with a shared queue
    /// and no free place, get in line; the run starts on a later tick).
    pub fn start(&mut self) {
        // the class's lab holds what it locks, whatever opened the screen
        if let Some(why) = super::lab_lock::enforce(&mut self.prefs) {
            self.notice = Some(why);
        }
        // a network that cannot run is refused here, with the layer and the reason
        if let Err(e) = super::settings::network_plan(self) {
            let e = e.trim_start_matches("architecture: ").to_string();
            self.notice = Some(format!("This network cannot start: {e}"));
            return;
        }
        if let Err(why) = super::settings::memory_check(self) {
            self.notice = Some(why);
            return;
        }
        self.begin();
        if let Phase::Running(run) = &mut self.phase {
            if let Err(stop) = run.start(&self.prefs) {
                self.end_run(RunEnd::Stopped(stop));
            }
        }
    }

    /// The run shown (running, or ended early).
    pub fn run(&self) -> Option<&Run> {
        match &self.phase {
            Phase::Running(run) | Phase::Stopped(run, _) => Some(run),
            _ => None,
        }
    }

    /// The results shown.
    pub fn results(&self) -> Option<&Results> {
        match &self.phase {
            Phase::Results(r) => Some(r),
            _ => None,
        }
    }

    /// The results shown, mutable.
    pub fn results_mut(&mut self) -> Option<&mut Results> {
        match &mut self.phase {
            Phase::Results(r) => Some(r),
            _ => None,
        }
    }

    /// Pasted text (one line): the open path box (the data folder's, or the predict
    /// tab's) takes what fits; anywhere else a paste does nothing.
    pub fn paste(&mut self, line: &str) {
        if let Some(p) = self.path_box() {
            p.paste(line);
        }
    }

    /// The path box open now, if one is.
    pub fn path_box(&mut self) -> Option<&mut PathInput> {
        match &mut self.phase {
            Phase::Settings(form) => form.data_input.as_mut(),
            Phase::Results(r) => r.predict.path_input.as_mut(),
            _ => None,
        }
    }

    /// True while a path box is open.
    pub fn path_box_open(&self) -> bool {
        self.path_box_shown().is_some()
    }

    /// The path box open now, if one is (to draw).
    pub fn path_box_shown(&self) -> Option<&PathInput> {
        match &self.phase {
            Phase::Settings(form) => form.data_input.as_ref(),
            Phase::Results(r) => r.predict.path_input.as_ref(),
            _ => None,
        }
    }

    /// A key for the open path box: `None` when none is open; else the effects to run
    /// (reading the folder, completing, reading the image).
    fn path_box_key(&mut self, key: Key) -> Option<Vec<Effect>> {
        let in_settings = matches!(self.phase, Phase::Settings(_));
        let p = self.path_box()?;
        let effect = match p.key(key) {
            PathKey::Editing => None,
            PathKey::Complete { text, dirs_only } => Some(Effect::Complete { text, dirs_only }),
            PathKey::Cancelled => {
                self.close_path_box();
                None
            }
            PathKey::Submitted(path) if in_settings => Some(Effect::ChooseData(path)),
            PathKey::Submitted(path) => {
                self.close_path_box();
                Some(Effect::ReadImage(path))
            }
        };
        Some(effect.into_iter().collect())
    }

    fn close_path_box(&mut self) {
        match &mut self.phase {
            Phase::Settings(form) => form.data_input = None,
            Phase::Results(r) => r.predict.path_input = None,
            _ => {}
        }
    }

    /// Place in the classroom's training queue while waiting (1 = next); `None` otherwise.
    pub fn queue_position(&self) -> Option<usize> {
        match &self.phase {
            Phase::Running(run) => run.queue_position(),
            _ => None,
        }
    }

    /// True while a worker is computing.
    pub fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Running(_))
    }

    /// Paused by `p`.
    pub fn paused(&self) -> bool {
        self.run().is_some_and(|r| r.paused)
    }

    /// A tick passed: take what the worker sent. Returns true when the screen changed.
    pub fn tick(&mut self) -> bool {
        let Phase::Running(run) = &mut self.phase else {
            return false;
        };
        let (changed, end) = run.tick(&self.prefs);
        if let Some(end) = end {
            self.end_run(end);
        }
        changed
    }

    /// Apply one worker message (ignored unless a run is going).
    pub fn apply(&mut self, msg: WorkerMsg) {
        if let Phase::Running(run) = &mut self.phase {
            if let Some(end) = run.apply(msg) {
                self.end_run(end);
            }
        }
    }

    /// Apply one training event (ignored unless a run is going).
    pub fn apply_event(&mut self, event: TrainEvent) {
        self.apply(WorkerMsg::Train(event));
    }

    fn end_run(&mut self, end: RunEnd) {
        let placeholder = Phase::Settings(SettingsForm::default());
        let Phase::Running(run) = std::mem::replace(&mut self.phase, placeholder) else {
            return;
        };
        self.phase = match end {
            RunEnd::Finished(summary) => {
                Phase::Results(Box::new(Results::of_run(*run, *summary, &self.prefs)))
            }
            RunEnd::Stopped(stop) => Phase::Stopped(run, stop),
        };
    }

    /// Cancel a running worker (returns at once; the worker stops within a batch).
    pub fn cancel(&mut self) {
        match &mut self.phase {
            Phase::Running(run) => {
                run.cancel();
                self.end_run(RunEnd::Stopped(Stop::Cancelled));
            }
            Phase::Stopped(run, _) => run.cancel(),
            _ => {}
        }
    }

    /// Handle a key: what the app does next, and the effects the front end is to run
    /// (see [`effects::run`]). `Back` and `Quit` leave the screen (a run is
    /// cancelled first).
    pub fn key(&mut self, key: Key) -> (KeyOutcome, Vec<Effect>) {
        let mut effects = Vec::new();
        if !key.is_ctrl_c() {
            // a path box takes every key but Ctrl-C
            if let Some(effect) = self.path_box_key(key) {
                effects.extend(effect);
                return (KeyOutcome::Stay, effects);
            }
        }
        if let Phase::Results(r) = &mut self.phase {
            // the question "overwrite?" takes every key but Ctrl-C
            if r.confirm_overwrite && !key.ctrl {
                r.confirm_overwrite = false;
                if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                    effects.push(Effect::Save {
                        net: Box::new(r.net.clone()),
                        meta: r.meta.clone(),
                        overwrite: true,
                        run: r.run_id.clone(),
                    });
                } else {
                    self.notice = Some("not saved".into());
                }
                return (KeyOutcome::Stay, effects);
            }
        }
        let outcome = match actions::action_for(self, key) {
            Some(action) => self.act(action, key.code, &mut effects),
            None => KeyOutcome::Stay,
        };
        (outcome, effects)
    }

    /// Do `action` (bound to `code`), pushing any effects it needs.
    fn act(&mut self, action: Action, code: KeyCode, effects: &mut Vec<Effect>) -> KeyOutcome {
        if let Some(why) = action.need().and_then(|n| effects::refused(&self.prefs, n)) {
            self.notice = Some(why.into());
            return KeyOutcome::Stay;
        }
        if let Some(why) = self.lab_refuses(action) {
            self.notice = Some(why);
            return KeyOutcome::Stay;
        }
        match action {
            Action::Quit => {
                self.cancel();
                return KeyOutcome::Quit;
            }
            Action::Help => return KeyOutcome::Help,
            Action::Back => {
                // what a filter looks for closes back to the filters
                if let Some(r) = self.results_mut().filter(|r| r.filters.look.is_some()) {
                    r.filters.look = None;
                    return KeyOutcome::Stay;
                }
                // the runs close back to where they were opened from
                if let Phase::Runs(v) = &mut self.phase {
                    self.phase = match v.back.take() {
                        Some(r) => Phase::Results(r),
                        None => Phase::Settings(SettingsForm::default()),
                    };
                    return KeyOutcome::Stay;
                }
                self.cancel();
                return KeyOutcome::Back;
            }
            Action::PrevField | Action::NextField => {
                self.commit_input();
                if let Phase::Settings(form) = &mut self.phase {
                    let settings = &self.prefs.settings;
                    form.select(action == Action::NextField, self.prefs.restricted, settings);
                }
            }
            Action::EditData => {
                if let Phase::Settings(form) = &mut self.phase {
                    form.edit_data(&self.prefs.data_dir);
                }
            }
            Action::Confirm => {
                if matches!(&self.phase, Phase::Settings(f) if f.input.is_empty()) {
                    self.start();
                } else {
                    self.commit_input();
                }
            }
            Action::Start => {
                if self.commit_input() {
                    self.start();
                }
            }
            Action::StartAgain => self.start(),
            Action::Retrain | Action::EditSettings => {
                self.phase = Phase::Settings(SettingsForm::default());
            }
            Action::Load => effects.extend([Effect::Load, Effect::EvaluateModel]),
            Action::EditNetwork
            | Action::LayerUp
            | Action::LayerDown
            | Action::LayerLess
            | Action::LayerMore
            | Action::LayerNumber
            | Action::LayerType
            | Action::LayerErase
            | Action::LayerAdd
            | Action::LayerDelete
            | Action::LayerMoveUp
            | Action::LayerMoveDown
            | Action::CourseNet
            | Action::NextPreset
            | Action::LayerEnter
            | Action::LayerEsc => {
                if let Phase::Settings(form) = &mut self.phase {
                    self.notice =
                        super::arch_editor::act(action, code, &mut self.prefs.settings, form);
                }
            }
            Action::ResetField | Action::ResetAll => self.reset(action),
            Action::OpenRuns => {
                let placeholder = Phase::Settings(SettingsForm::default());
                let back = match std::mem::replace(&mut self.phase, placeholder) {
                    Phase::Results(r) => Some(r),
                    _ => None,
                };
                self.phase = Phase::Runs(Box::new(RunsView::new(back)));
                effects.push(Effect::ListRuns);
            }
            Action::RunUp
            | Action::RunDown
            | Action::RunSort
            | Action::RunMark
            | Action::RunOpen => {
                self.act_on_runs(action, effects);
            }
            _ => self.act_on_phase(action, code, effects),
        }
        if matches!(self.phase, Phase::Settings(_)) {
            if let Some(why) = super::lab_lock::enforce(&mut self.prefs) {
                self.notice = Some(why);
            }
        }
        self.refresh_estimate();
        KeyOutcome::Stay
    }

    /// `d` puts the selected setting back, `D` every one: to the defaults, or in a class's
    /// lab to the lab's settings.
    fn reset(&mut self, action: Action) {
        if let Phase::Settings(form) = &mut self.phase {
            form.input.clear();
            // in a class's lab, its settings are the defaults
            let (base, what) = match &self.prefs.lab {
                Some(lab) => (
                    super::settings::TrainSettings::default().with_lab(&lab.setup),
                    "the lab's value",
                ),
                None => (super::settings::TrainSettings::default(), "its default"),
            };
            let s = &mut self.prefs.settings;
            if action == Action::ResetAll {
                *s = base;
                self.notice = Some(format!("every setting is back to {what}"));
            } else {
                super::fields::reset(form.selected(), s, &base);
                self.notice = None;
            }
            // SGD's momentum is hidden under Adam
            if !super::fields::shown(form.selected(), s) {
                form.select(false, self.prefs.restricted, s);
            }
        }
    }

    /// A change to a setting the class's lab locks, refused before it is made: typing,
    /// stepping or resetting the selected field, or opening the layer editor on a locked
    /// network.
    fn lab_refuses(&self, action: Action) -> Option<String> {
        let Phase::Settings(form) = &self.phase else {
            return None;
        };
        let field = match action {
            Action::Decrease | Action::Increase | Action::Type | Action::ResetField => {
                form.selected()
            }
            Action::EditNetwork | Action::CourseNet | Action::NextPreset
                if form.editor.is_none() =>
            {
                SettingField::Network
            }
            _ => return None,
        };
        super::lab_lock::refused(&self.prefs, field)
    }

    /// Time one training step of the chosen network when the Network field is chosen
    /// and the network or the class count changed since the last timing.
    fn refresh_estimate(&mut self) {
        let Phase::Settings(form) = &self.phase else {
            return;
        };
        if form.selected() != SettingField::Network {
            return;
        }
        let Ok(plan) = super::settings::network_plan(self) else {
            return;
        };
        let network = self.prefs.settings.arch().to_string();
        let fresh = form
            .estimate
            .as_ref()
            .is_some_and(|e| e.network == network && e.classes == plan.classes);
        if fresh {
            return;
        }
        let timed = crate::train::estimate::seconds_per_image(&plan, None);
        if let (Phase::Settings(form), Ok(per_image)) = (&mut self.phase, timed) {
            form.estimate = Some(super::network_panel::Estimate {
                network,
                classes: plan.classes,
                per_image,
            });
        }
    }

    /// Do an action that works on the current phase's data.
    fn act_on_phase(&mut self, action: Action, code: KeyCode, effects: &mut Vec<Effect>) {
        let notice = &mut self.notice;
        match (action, &mut self.phase) {
            (Action::Decrease | Action::Increase, Phase::Settings(form)) => {
                let s = &mut self.prefs.settings;
                form.step(s, action == Action::Increase);
                if form.selected() == SettingField::Device && s.device == DeviceChoice::Cuda {
                    if let Some(why) = &self.cuda_unavailable {
                        *notice = Some(format!("cuda unavailable: {why}"));
                    }
                }
            }
            (Action::Type, Phase::Settings(form)) => {
                if let KeyCode::Char(c) = code {
                    form.type_char(c);
                }
            }
            (Action::Erase, Phase::Settings(form)) => {
                form.input.pop();
            }
            (Action::Pause, Phase::Running(run)) => run.toggle_pause(),
            (Action::ShowTab, Phase::Results(r)) => {
                if let KeyCode::Char(c @ '1'..='4') = code {
                    r.tab = ResultsTab::ALL[usize::from(c as u8 - b'1')];
                }
            }
            (Action::NextTab, Phase::Results(r)) => r.tab = r.tab.step(1),
            (Action::PrevTab, Phase::Results(r)) => r.tab = r.tab.step(-1),
            (Action::Save, Phase::Results(r)) => effects.push(Effect::Save {
                net: Box::new(r.net.clone()),
                meta: r.meta.clone(),
                overwrite: false,
                run: r.run_id.clone(),
            }),
            (
                Action::CellUp | Action::CellDown | Action::CellLeft | Action::CellRight,
                Phase::Results(r),
            ) => {
                let (down, right) = match action {
                    Action::CellUp => (-1, 0),
                    Action::CellDown => (1, 0),
                    Action::CellLeft => (0, -1),
                    _ => (0, 1),
                };
                r.evaluation.move_cell(r.classes.len(), down, right);
                // a new cell's maps explain its predicted class
                r.why.class = None;
                *notice = r.refresh_why().err();
            }
            (Action::Why, Phase::Results(r)) => *notice = r.toggle_why().err(),
            (Action::WhyMethod | Action::WhyClass | Action::WhyUntrained, Phase::Results(r)) => {
                let key = match action {
                    Action::WhyMethod => 'm',
                    Action::WhyClass => 'c',
                    _ => 'u',
                };
                *notice = r.why_key(key).err();
            }
            (Action::PrevFilter | Action::NextFilter, Phase::Results(r)) => {
                let right = action == Action::NextFilter;
                match &mut r.filters.look {
                    Some(v) => v.select(&r.evaluation, 0, if right { 1 } else { -1 }),
                    None => r.filters.step(right),
                }
            }
            (Action::PrevEpoch | Action::NextEpoch, Phase::Results(r)) => {
                let later = action == Action::NextEpoch;
                r.filters.step_epoch(later, &r.net);
            }
            (Action::LookFor, Phase::Results(r)) => {
                r.filters.open_look(&r.net, &r.evaluation, &r.classes);
            }
            (Action::PrevLayer | Action::NextLayer, Phase::Results(r)) => {
                if let Some(v) = &mut r.filters.look {
                    let down = if action == Action::NextLayer { 1 } else { -1 };
                    v.select(&r.evaluation, down, 0);
                }
            }
            (Action::TilesUp | Action::TilesDown, Phase::Results(r)) => {
                if let Some(v) = &mut r.filters.look {
                    v.scroll(action == Action::TilesDown);
                }
            }
            (Action::NewShape, Phase::Results(r)) => {
                let ev = &r.evaluation;
                let validation = ev.dataset.as_deref().map(|ds| (ds, ev.val.as_slice()));
                if let Err(e) = r.predict.next(&r.net, &r.classes, validation) {
                    *notice = Some(e);
                } else {
                    *notice = r.refresh_why().err();
                }
            }
            (Action::OpenFile, Phase::Results(r)) => {
                r.predict.path_input = Some(PathInput::new("image file", "classify", "", false));
            }
            (Action::Inspect, Phase::Results(r)) => {
                let req = r.inspect_request(self.prefs.settings.seed, self.prefs.restricted);
                effects.push(Effect::Inspect(Box::new(req)));
            }
            // the table binds each action only where it applies
            _ => {}
        }
    }

    /// Do an action of the Runs view.
    fn act_on_runs(&mut self, action: Action, effects: &mut Vec<Effect>) {
        let Phase::Runs(v) = &mut self.phase else {
            return;
        };
        match action {
            Action::RunUp => v.step(-1),
            Action::RunDown => v.step(1),
            Action::RunSort => v.cycle_sort(),
            Action::RunMark => self.notice = v.toggle_mark(),
            _ => match v.selected_run() {
                Some(r) if r.model => {
                    effects.push(Effect::OpenRun(r.id.clone()));
                    effects.push(Effect::EvaluateRun(r.id.clone()));
                }
                Some(r) => {
                    self.notice = Some(format!(
                        "{} stopped before its last epoch: no model was kept",
                        v.label(r)
                    ));
                }
                None => {}
            },
        }
    }

    /// Apply what was typed to the selected setting. False (with a notice) when it is
    /// not a valid value.
    fn commit_input(&mut self) -> bool {
        let Phase::Settings(form) = &mut self.phase else {
            return true;
        };
        match form.commit(&mut self.prefs.settings) {
            Ok(applied) => {
                if applied {
                    self.notice = None;
                }
                true
            }
            Err(why) => {
                self.notice = Some(why);
                false
            }
        }
    }

    /// Take the outcome of an effect the front end ran.
    pub fn done(&mut self, done: Done) {
        let path = |p: &std::path::Path| crate::text::path(p);
        match done {
            Done::Devices(why) => self.cuda_unavailable = why,
            Done::Preview(p) => self.data = p,
            Done::Saved(p) if self.prefs.restricted => {
                // a classroom session: the server's folders are not the student's business
                let name = p.file_name().map(std::path::Path::new).unwrap_or(&p);
                self.notice = Some(format!("model saved as {} on the server", path(name)));
            }
            Done::Saved(p) => self.notice = Some(format!("model saved as {}", path(&p))),
            Done::Exists(p) => {
                if let Some(r) = self.results_mut() {
                    r.confirm_overwrite = true;
                }
                self.notice = Some(format!("{} exists: overwrite it? y/n", path(&p)));
            }
            Done::NotSaved(e) => self.notice = Some(format!("not saved: {e}")),
            Done::Loaded(p, net, meta) => {
                match &mut self.phase {
                    Phase::Results(r) => r.replace_model(*net, meta),
                    _ => {
                        let seed = self.prefs.settings.seed;
                        self.phase = Phase::Results(Box::new(Results::loaded(*net, meta, seed)));
                    }
                }
                self.notice = Some(format!("loaded {}: the predict tab uses it now", path(&p)));
            }
            Done::NotLoaded(e) => self.notice = Some(format!("cannot load: {e}")),
            Done::Evaluated(ev) => {
                if let Some(r) = self.results_mut() {
                    r.set_evaluation(*ev);
                }
            }
            Done::NotEvaluated(why) => {
                if let Some(r) = self.results_mut() {
                    r.eval_note = Some(why);
                }
            }
            Done::Image(p, chw) => {
                let Phase::Results(r) = &mut self.phase else {
                    return;
                };
                let name = p
                    .file_name()
                    .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into());
                self.notice = r
                    .predict
                    .file(&r.net, name, &chw)
                    .and_then(|()| r.refresh_why())
                    .err();
            }
            Done::NoImage(e) => self.notice = Some(e),
            Done::Completed(c) => {
                if let Some(p) = self.path_box() {
                    p.completed(c);
                }
            }
            Done::DataChosen(dir, preview) => {
                self.close_path_box();
                self.notice = Some(format!(
                    "training on {} from now on",
                    crate::text::path(&dir)
                ));
                self.prefs.data_dir = dir;
                self.data = preview;
            }
            Done::NoData(why) => match self.path_box() {
                // the box stays open to put it right, saying why
                Some(p) => p.note = Some(why),
                None => self.notice = Some(why),
            },
            Done::Refused(why) => self.notice = Some(why.into()),
            Done::Runs(runs, warnings) => {
                if let Phase::Runs(v) = &mut self.phase {
                    v.set_records(runs);
                }
                // one line: the first record skipped, and how many more
                self.notice = warnings.first().map(|w| match warnings.len() {
                    1 => w.clone(),
                    n => format!("{w} (and {} more)", n - 1),
                });
            }
            Done::RunOpened(id, net, meta) => {
                let seed = self.prefs.settings.seed;
                let mut r = Results::loaded(*net, meta, seed);
                r.tab = ResultsTab::Evaluation;
                r.run_id = Some(id.clone());
                self.phase = Phase::Results(Box::new(r));
                self.notice = Some(format!(
                    "run {id} opened again from its kept weights (R: back to the runs)"
                ));
            }
        }
    }
}

/// Row-major RGB to CHW u8 pixels (3 planes).
pub(crate) fn rgb_to_chw(rgb: &[u8]) -> Vec<u8> {
    let plane = rgb.len() / 3;
    let mut out = vec![0u8; rgb.len()];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        out[i] = px[0];
        out[plane + i] = px[1];
        out[2 * plane + i] = px[2];
    }
    out
}

pub(crate) use crate::data::chw_to_rgb;

/// The class with the highest probability.
pub(crate) fn best(probs: &[f32]) -> usize {
    argmax(probs)
}
