//! The settings step: what a run starts with, the form that edits it, and how it is drawn
//! (the form beside a first look at the data).

use std::path::PathBuf;
use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::backend::DeviceChoice;
use crate::lesson::frame::{ImagePanel, Panel};
use crate::nn::arch::Arch;
use crate::nn::presets::{Preset, PRESETS};
use crate::train::{OptimizerChoice, TrainConfig};

use super::super::path_input::{keep_end, PathInput};
use super::super::theme::Theme;
use super::super::widgets::truncate;
use super::super::widgets::PanelStyle;
use super::queue::TrainQueue;
use super::state::TrainingState;
use super::view::{block, flow_layout, flow_panels};

/// The settings a run starts with (the seed's by default).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Where to train.
    pub device: DeviceChoice,
    /// Seed of the weights, the split and the dropout masks.
    pub seed: u64,
    /// The network: an index into [`PRESETS`] (0, the course's net, by default).
    pub network: usize,
    /// The network as edited in the layer editor, when it is none of the presets.
    pub edited: Option<Arch>,
    /// SGD with momentum instead of Adam.
    pub sgd: bool,
    /// SGD's momentum.
    pub momentum: f64,
    /// L2 penalty added to every gradient.
    pub weight_decay: f64,
    /// Flip, mirror and skew the training images at random every epoch.
    pub augment: bool,
    /// The share of the training split trained on, in (0, 1].
    pub train_share: f64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            epochs: 5,
            batch_size: 50,
            lr: 0.001,
            device: DeviceChoice::Auto,
            seed: 42,
            network: 0,
            edited: None,
            sgd: false,
            momentum: 0.9,
            weight_decay: 0.0,
            augment: false,
            train_share: 1.0,
        }
    }
}

impl TrainSettings {
    /// An experiment's lab setup over the seed's settings (the device kept): what it
    /// fixes, and the defaults for the rest.
    pub fn with_lab(&self, lab: &crate::train::lab::LabSetup) -> TrainSettings {
        let d = TrainSettings::default();
        let mut s = TrainSettings {
            device: self.device,
            epochs: lab.epochs.unwrap_or(d.epochs),
            batch_size: lab.batch_size.unwrap_or(d.batch_size),
            lr: lab.lr.unwrap_or(d.lr),
            seed: lab.seed.unwrap_or(d.seed),
            weight_decay: lab.weight_decay.unwrap_or(d.weight_decay),
            augment: lab.augment.unwrap_or(d.augment),
            train_share: lab.train_share.unwrap_or(d.train_share),
            ..d
        };
        if let Some(crate::train::OptimizerChoice::Sgd { momentum }) = lab.optimizer {
            s.sgd = true;
            s.momentum = momentum;
        }
        s.set_arch(lab.arch.clone().unwrap_or_else(Arch::course));
        s
    }

    /// The chosen network's preset.
    pub fn preset(&self) -> &'static Preset {
        &PRESETS[self.network.min(PRESETS.len() - 1)]
    }

    /// The chosen network.
    pub fn arch(&self) -> Arch {
        if let Some(a) = &self.edited {
            return a.clone();
        }
        // every preset parses (`nn::presets`' test)
        Arch::parse(self.preset().text).unwrap_or_else(|_| Arch::course())
    }

    /// The network's name on screen: the preset's, or `edited (from PRESET)`.
    pub fn network_name(&self) -> String {
        match &self.edited {
            Some(_) => format!("edited (from {})", self.preset().name),
            None => self.preset().name.to_string(),
        }
    }

    /// Take `arch` as the network: a preset's text picks that preset, anything else is
    /// kept as edited.
    pub fn set_arch(&mut self, arch: Arch) {
        let preset = PRESETS
            .iter()
            .position(|p| Arch::parse(p.text).is_ok_and(|a| a == arch));
        match preset {
            Some(i) => {
                self.network = i;
                self.edited = None;
            }
            None => self.edited = Some(arch),
        }
    }

    /// The training loop's configuration for these settings, as `cnn-tutor train` would
    /// make it (its `--lr` is read as an f32: the same value gives the same numbers).
    /// Never saves: saving is the learner's choice later.
    pub fn config(&self, data_dir: PathBuf, threads: Option<usize>) -> TrainConfig {
        TrainConfig {
            data_dir,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: f64::from(self.lr as f32),
            seed: self.seed,
            device: self.device,
            threads,
            out: None,
            arch: self.arch(),
            optimizer: if self.sgd {
                OptimizerChoice::Sgd {
                    momentum: self.momentum,
                }
            } else {
                OptimizerChoice::Adam
            },
            weight_decay: self.weight_decay,
            augment: self.augment,
            train_share: self.train_share,
            ..TrainConfig::default()
        }
    }
}

/// Where the training screen reads and writes (the defaults of `cnn-tutor train`; tests
/// point them at temporary folders).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainPrefs {
    /// The last settings used (kept between visits to the screen).
    pub settings: TrainSettings,
    /// The image folder.
    pub data_dir: PathBuf,
    /// Where `w` saves and `L` loads the model.
    pub model_path: PathBuf,
    /// The shared training queue of a classroom server; `None` trains at once (local app).
    pub queue: Option<Arc<TrainQueue>>,
    /// CPU threads per run (`None`: one per core).
    pub threads: Option<usize>,
    /// A classroom session: the screen's effects that would read files on the server
    /// (loading a model, opening an image the student names) are refused, and saving goes
    /// only to `model_path`, which the server makes per student. Decided in one place:
    /// [`super::effects::refused`].
    pub restricted: bool,
    /// Most megabytes of decoded images kept in memory (`--cache-mb`); the rest are
    /// streamed from disk.
    pub cache_mb: usize,
    /// Where runs are kept and the Runs view reads them (`None`: not kept; the local app
    /// uses the state folder's `runs/`, a classroom a folder per student).
    pub runs_dir: Option<PathBuf>,
    /// The class's lab (`serve --lab`): its settings to start from, and those locked.
    pub lab: Option<Arc<crate::train::lab::ClassLab>>,
}

impl Default for TrainPrefs {
    fn default() -> Self {
        TrainPrefs {
            settings: TrainSettings::default(),
            data_dir: PathBuf::from(crate::data::DEFAULT_DATA_DIR),
            model_path: PathBuf::from(crate::nn::checkpoint::DEFAULT_MODEL_PATH),
            queue: None,
            threads: None,
            restricted: false,
            cache_mb: crate::data::DEFAULT_CACHE_MB,
            runs_dir: None,
            lab: None,
        }
    }
}

/// One editable setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingField {
    /// The image folder (typed, with Tab completion; fixed in a classroom session).
    Data,
    /// Epochs.
    Epochs,
    /// Batch size.
    BatchSize,
    /// Learning rate.
    Lr,
    /// Device.
    Device,
    /// Seed.
    Seed,
    /// The network (a preset, stepped with the arrows).
    Network,
    /// Adam or SGD with momentum (stepped).
    Optimizer,
    /// SGD's momentum (shown with SGD only).
    Momentum,
    /// Weight decay.
    WeightDecay,
    /// Augmentation on or off (stepped).
    Augment,
    /// The share of the training split trained on.
    TrainShare,
}

impl SettingField {
    /// All fields, top to bottom.
    pub const ALL: [SettingField; 12] = [
        SettingField::Data,
        SettingField::Epochs,
        SettingField::BatchSize,
        SettingField::Lr,
        SettingField::Device,
        SettingField::Seed,
        SettingField::Network,
        SettingField::Optimizer,
        SettingField::Momentum,
        SettingField::WeightDecay,
        SettingField::Augment,
        SettingField::TrainShare,
    ];

    /// The label shown.
    pub fn label(self) -> &'static str {
        match self {
            SettingField::Data => "Data",
            SettingField::Epochs => "Epochs",
            SettingField::BatchSize => "Batch size",
            SettingField::Lr => "Learning rate",
            SettingField::Device => "Device",
            SettingField::Seed => "Seed",
            SettingField::Network => "Network",
            SettingField::Optimizer => "Optimizer",
            SettingField::Momentum => "Momentum",
            SettingField::WeightDecay => "Weight decay",
            SettingField::Augment => "Augment",
            SettingField::TrainShare => "Train share",
        }
    }
}

/// The settings form: which field is selected and what is being typed into it.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsForm {
    /// The selected setting (index into [`SettingField::ALL`]).
    pub field: usize,
    /// Digits typed for the selected setting.
    pub input: String,
    /// The data folder being typed (Enter on the Data field opens it).
    pub data_input: Option<PathInput>,
    /// The chosen network's timing, for the network panel.
    pub estimate: Option<super::network_panel::Estimate>,
    /// The layer editor, while it is open (Enter on the Network field).
    pub editor: Option<Box<super::arch_editor::ArchEditor>>,
}

/// The form opens on Epochs, so Enter starts the seed's run at once; the Data field is
/// one up.
const FIRST_FIELD: usize = 1;

impl Default for SettingsForm {
    fn default() -> Self {
        SettingsForm {
            field: FIRST_FIELD,
            input: String::new(),
            data_input: None,
            estimate: None,
            editor: None,
        }
    }
}

impl SettingsForm {
    /// The selected field.
    pub fn selected(&self) -> SettingField {
        SettingField::ALL[self.field.min(SettingField::ALL.len() - 1)]
    }

    /// Select the field above (`down` false) or below, skipping the fields `s` hides
    /// (SGD's momentum under Adam); with `data_fixed` (a classroom session) the Data
    /// field cannot be selected.
    pub(crate) fn select(&mut self, down: bool, data_fixed: bool, s: &TrainSettings) {
        let top = usize::from(data_fixed);
        let shown = |i: usize| super::fields::shown(SettingField::ALL[i], s);
        let next = if down {
            (self.field + 1..SettingField::ALL.len()).find(|&i| shown(i))
        } else {
            (top..self.field).rev().find(|&i| shown(i))
        };
        if let Some(i) = next {
            self.field = i;
        }
    }

    /// Type `c` (a digit, `.` or `e`): at most 12 characters, none for the device or the
    /// data folder (which has its own box).
    pub(crate) fn type_char(&mut self, c: char) {
        if self.input.len() < 12 && super::fields::typed(self.selected()) {
            self.input.push(c);
        }
    }

    /// Open the data folder's box, holding `current`.
    pub(crate) fn edit_data(&mut self, current: &std::path::Path) {
        self.input.clear();
        let text = current.display().to_string();
        self.data_input = Some(PathInput::new("data folder", "use", &text, true));
    }

    /// Apply what was typed to the selected field: `Err` (the notice) when it is not a
    /// valid value; `Ok(true)` when a value was applied, `Ok(false)` when nothing was typed.
    pub(crate) fn commit(&mut self, s: &mut TrainSettings) -> Result<bool, String> {
        if self.input.is_empty() {
            return Ok(false);
        }
        let typed = std::mem::take(&mut self.input);
        super::fields::parse(self.selected(), &typed, s)
            .map(|()| true)
            .map_err(|why| format!("`{typed}`: {why}"))
    }

    /// Step the selected field to its next (`up`) or previous value; what was typed is
    /// dropped.
    pub(crate) fn step(&mut self, s: &mut TrainSettings, up: bool) {
        self.input.clear();
        match self.selected() {
            // typed in its own box, never stepped
            SettingField::Data => {}
            SettingField::Epochs => {
                s.epochs = if up { s.epochs + 1 } else { s.epochs - 1 }.clamp(1, 1000);
            }
            SettingField::BatchSize => {
                const SIZES: [usize; 8] = [1, 5, 10, 20, 32, 50, 64, 100];
                let i = SIZES.iter().position(|&b| b >= s.batch_size).unwrap_or(5);
                let i = if up {
                    (i + 1).min(SIZES.len() - 1)
                } else {
                    i.saturating_sub(1)
                };
                s.batch_size = SIZES[i];
            }
            SettingField::Lr => {
                const LRS: [f64; 7] = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1];
                let i = LRS.iter().position(|&l| l >= s.lr * 0.999).unwrap_or(2);
                let i = if up {
                    (i + 1).min(LRS.len() - 1)
                } else {
                    i.saturating_sub(1)
                };
                s.lr = LRS[i];
            }
            SettingField::Device => {
                let order = [DeviceChoice::Auto, DeviceChoice::Cpu, DeviceChoice::Cuda];
                let i = order.iter().position(|d| *d == s.device).unwrap_or(0);
                s.device = order[if up { (i + 1) % 3 } else { (i + 2) % 3 }];
            }
            SettingField::Network => {
                let n = PRESETS.len();
                // from an edited network, the arrows go back to the presets (its own first)
                if s.edited.take().is_none() {
                    s.network = if up {
                        (s.network + 1) % n
                    } else {
                        (s.network + n - 1) % n
                    };
                }
            }
            SettingField::Seed => {
                s.seed = if up {
                    s.seed.saturating_add(1)
                } else {
                    s.seed.saturating_sub(1)
                };
            }
            other => super::fields::step(other, s, up),
        }
    }
}

/// The lines under the settings: what the selected field does or what Enter starts, and
/// what the run will train.
fn notes(theme: &Theme, st: &TrainingState, form: &SettingsForm, area: Rect) -> Vec<Line<'static>> {
    let s = &st.prefs.settings;
    let mut lines: Vec<Line> = Vec::new();
    // the panel's height (see the layout below): a blank line only where it fits
    let panel_rows = if area.width < 100 && area.height >= 22 {
        area.height - 9
    } else {
        area.height
    };
    if panel_rows >= 14 {
        lines.push(Line::raw(""));
    }
    if form.selected() == SettingField::Network {
        let about = match &s.edited {
            Some(_) => format!(
                "{}. Enter edits its layers; left and right go back to the presets.",
                s.network_name()
            ),
            None => format!(
                "{}: {}. Left and right choose another network ({} of {}); Enter edits \
                 its layers.",
                s.preset().name,
                s.preset().about,
                s.network + 1,
                PRESETS.len()
            ),
        };
        lines.push(Line::styled(about, theme.emphasis()));
    }
    if let Some(p) = &form.data_input {
        if !p.candidates.is_empty() {
            let more = if p.more > 0 {
                format!(" and {} more", p.more)
            } else {
                String::new()
            };
            let names: Vec<String> = p
                .candidates
                .iter()
                .map(|c| crate::text::escaped(c).into_owned())
                .collect();
            lines.push(Line::raw(format!("Folders: {}{more}", names.join("  "))));
        }
        lines.push(Line::styled(
            "Type the folder of class sub-folders; Tab completes, Enter uses it, Esc keeps \
             the old one.",
            theme.emphasis(),
        ));
    } else if form.selected() == SettingField::Data {
        lines.push(Line::styled(
            "Press Enter to type another image folder (a sub-folder per class).",
            theme.emphasis(),
        ));
    } else if form.selected() == SettingField::Network {
        lines.push(Line::styled(
            "Press s to start training with these settings.",
            theme.emphasis(),
        ));
    } else {
        lines.push(Line::styled(
            "Press Enter (or s) to start training with these settings.",
            theme.emphasis(),
        ));
    }
    if let (DeviceChoice::Cuda, Some(why)) = (s.device, &st.cuda_unavailable) {
        lines.push(Line::raw(format!("cuda: {why}")));
    }
    let arch = s.arch();
    let total = super::fields::run_sentence(s, &arch);
    lines.push(Line::raw(total));
    lines.push(Line::raw(super::network_panel::param_line(
        &arch,
        st.data.classes.len().max(1),
    )));
    if let Ok(plan) = network_plan(st) {
        let threads = st
            .prefs
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let m =
            crate::train::estimate::memory(&plan, s.batch_size, threads, if s.sgd { 1 } else { 2 });
        lines.push(Line::raw(format!(
            "Training takes about {} of memory (at most {} MB).",
            crate::train::estimate::bytes_text(m.total()),
            crate::train::estimate::DEFAULT_MEMORY_LIMIT_MB
        )));
    }
    lines
}

/// Seconds per epoch of the chosen network on this data, when it has been timed.
fn epoch_estimate(
    st: &TrainingState,
    form: &SettingsForm,
    plan: Option<&crate::nn::arch::Plan>,
) -> Option<f64> {
    let plan = plan?;
    let text = st.prefs.settings.arch().to_string();
    let e = form
        .estimate
        .as_ref()
        .filter(|e| e.classes == plan.classes && e.network == text)?;
    let total: usize = st.data.classes.iter().map(|c| c.count).sum();
    let train = total * 7 / 10;
    Some(crate::train::estimate::epoch_seconds(
        e.per_image,
        train,
        total - train,
    ))
}

/// Draw the layer editor in `area`.
fn render_editor(
    theme: &Theme,
    st: &TrainingState,
    form: &SettingsForm,
    area: Rect,
    buf: &mut Buffer,
) {
    let Some(editor) = &form.editor else {
        return;
    };
    let arch = st.prefs.settings.arch();
    let plan = network_plan(st);
    let view = super::arch_editor::EditorView {
        arch: &arch,
        plan: plan.as_ref().map_err(String::as_str),
        shapes: crate::nn::arch::Plan::shapes(
            &arch,
            crate::nn::arch::DEFAULT_INPUT,
            st.data.classes.len().max(2),
        ),
        name: st.prefs.settings.network_name(),
        epoch: epoch_estimate(st, form, plan.as_ref().ok()),
        editor,
    };
    super::arch_editor::render(theme, &view, area, buf);
}

/// Draw the settings step (the layer editor instead, while it is open).
pub(crate) fn render(
    theme: &Theme,
    st: &TrainingState,
    form: &SettingsForm,
    area: Rect,
    buf: &mut Buffer,
) {
    // narrower than 100 columns, the editor takes the settings' place; wider, the data's
    if form.editor.is_some() && area.width < 100 {
        render_editor(theme, st, form, area, buf);
        return;
    }
    let sym = theme.symbols();
    let mut lines: Vec<Line> = vec![Line::styled("Settings for this run", theme.heading())];
    if let Some(lab) = &st.prefs.lab {
        lines[0].spans.push(Span::styled(
            format!("  lab: {}", crate::text::escaped(&lab.title)),
            theme.emphasis(),
        ));
    }
    if area.height >= 30 {
        lines.push(Line::raw(""));
    }
    // room for a value: the panel's inner width, less the label and the padding
    let value_room = usize::from(area.width.min(if area.width >= 100 {
        area.width / 2
    } else {
        area.width
    }))
    .saturating_sub(22)
    .max(8);
    let rows = field_rows(st, form, area);
    if let Some(more) = rows.more {
        lines[0]
            .spans
            .push(Span::styled(format!("  {more}"), theme.dim()));
    }
    for &i in &rows.shown {
        let f = &SettingField::ALL[i];
        let selected = i == form.field;
        let default = super::fields::default_when_changed(*f, &st.prefs.settings);
        let value = if selected && !form.input.is_empty() {
            format!("{}_", form.input)
        } else {
            let room = value_room.saturating_sub(default.as_ref().map_or(0, |d| d.len() + 12));
            field_value(st, form, *f, room.max(8), sym.ellipsis)
        };
        let default = if super::lab_lock::locked(&st.prefs, *f) {
            " [locked: the teacher's lab]".to_string()
        } else {
            default
                .map(|d| format!(" (default {d})"))
                .unwrap_or_default()
        };
        let pointer = if selected { sym.pointer } else { " " };
        let label = format!(" {pointer} {:<14}", f.label());
        let style = if selected {
            theme.selected()
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw(label),
            Span::styled(format!(" {value} "), style),
            Span::styled(default, theme.dim()),
        ]));
    }
    lines.extend(notes(theme, st, form, area));
    let text = theme.lines(lines);
    let (set_area, data_area) = if area.width >= 100 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(area);
        (a, Some(b))
    } else if area.height >= 22 {
        let [a, b] = Layout::vertical([Constraint::Min(8), Constraint::Length(9)]).areas(area);
        (a, Some(b))
    } else {
        (area, None)
    };
    Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .block(block(theme, "Settings"))
        .render(set_area, buf);
    match data_area {
        Some(d) if form.editor.is_some() => render_editor(theme, st, form, d, buf),
        Some(d) if form.selected() == SettingField::Network => {
            let plan = network_plan(st);
            let epoch = epoch_estimate(st, form, plan.as_ref().ok());
            super::network_panel::render(theme, plan.as_ref().map_err(Clone::clone), epoch, d, buf);
        }
        Some(d) => render_data(theme, st, d, buf),
        None => {}
    }
}

/// The fields drawn: those the settings show (SGD's momentum only with SGD), as many as
/// fit around the selected one, and a note of how many are out of view.
struct FieldRows {
    shown: Vec<usize>,
    more: Option<String>,
}

fn field_rows(st: &TrainingState, form: &SettingsForm, area: Rect) -> FieldRows {
    let all: Vec<usize> = (0..SettingField::ALL.len())
        .filter(|&i| super::fields::shown(SettingField::ALL[i], &st.prefs.settings))
        .collect();
    // the settings panel's inner height (see the layout in `render`), less the heading
    // and three lines of notes
    let panel = if area.width < 100 && area.height >= 22 {
        area.height - 9
    } else {
        area.height
    };
    let room = usize::from(panel.saturating_sub(2 + 1 + 3)).max(3);
    if all.len() <= room {
        return FieldRows {
            shown: all,
            more: None,
        };
    }
    let at = all.iter().position(|&i| i >= form.field).unwrap_or(0);
    let first = at.saturating_sub(room / 2).min(all.len() - room);
    let above = first;
    let below = all.len() - first - room;
    let more = match (above, below) {
        (0, b) => format!("({b} more below)"),
        (a, 0) => format!("({a} more above)"),
        (a, b) => format!("({a} above, {b} below)"),
    };
    FieldRows {
        shown: all[first..first + room].to_vec(),
        more: Some(more),
    }
}

/// Refuse to start a network whose training would pass the memory limit: the reason,
/// with the estimate.
pub(crate) fn memory_check(st: &TrainingState) -> Result<(), String> {
    let Ok(plan) = network_plan(st) else {
        // the training itself says why the network cannot be placed
        return Ok(());
    };
    let s = &st.prefs.settings;
    let threads = st
        .prefs
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let state = if s.sgd { 1 } else { 2 };
    crate::train::estimate::check_memory(
        &plan,
        s.batch_size,
        threads,
        state,
        crate::train::estimate::DEFAULT_MEMORY_LIMIT_MB,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// What a field shows when nothing is being typed into it.
fn field_value(
    st: &TrainingState,
    form: &SettingsForm,
    f: SettingField,
    room: usize,
    ell: &str,
) -> String {
    let s = &st.prefs.settings;
    match f {
        SettingField::Data => data_value(st, form, room, ell),
        SettingField::Epochs => s.epochs.to_string(),
        SettingField::BatchSize => s.batch_size.to_string(),
        SettingField::Lr => s.lr.to_string(),
        SettingField::Seed => s.seed.to_string(),
        SettingField::Network => s.network_name(),
        other @ (SettingField::Optimizer
        | SettingField::Momentum
        | SettingField::WeightDecay
        | SettingField::Augment
        | SettingField::TrainShare) => super::fields::value(other, s).unwrap_or_default(),
        SettingField::Device => match s.device {
            DeviceChoice::Cpu => "cpu".into(),
            DeviceChoice::Auto => "auto (GPU if any, else CPU)".into(),
            DeviceChoice::Cuda => match &st.cuda_unavailable {
                Some(_) => "cuda (unavailable here)".into(),
                None => "cuda".into(),
            },
        },
    }
}

/// The Data field's value: the folder being typed, or the folder (its end, when it is
/// long); in a classroom session only its name, since the server fixed it.
fn data_value(st: &TrainingState, form: &SettingsForm, room: usize, ell: &str) -> String {
    if let Some(p) = &form.data_input {
        let typed = format!("{}_", crate::text::escaped(&p.text));
        return keep_end(&typed, room, ell);
    }
    let dir = &st.prefs.data_dir;
    if st.prefs.restricted {
        let name = dir
            .file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
        return format!("{} (the class's folder)", crate::text::escaped(&name));
    }
    keep_end(&crate::text::path(dir), room, ell)
}

/// The chosen network placed on the data's classes (at least two) and the images' size.
pub(crate) fn network_plan(st: &TrainingState) -> Result<crate::nn::arch::Plan, String> {
    let classes = st.data.classes.len().max(2);
    crate::nn::arch::Plan::new(
        &st.prefs.settings.arch(),
        crate::nn::arch::DEFAULT_INPUT,
        classes,
    )
    .map_err(|e| e.to_string())
}

/// The data: the first image of each class, the counts, what normalising does.
fn render_data(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let b = block(theme, "The data");
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.height < 3 {
        return;
    }
    let w = usize::from(inner.width);
    let ell = theme.symbols().ellipsis;
    buf.set_stringn(
        inner.x,
        inner.y,
        truncate(&theme.text(&st.data.note), w, ell),
        w,
        Style::new(),
    );
    let norm = "Normalised to mean 0.5, std 0.5: a pixel p becomes (p/255 - 0.5)/0.5, so white \
                (255) is 1, black (0) is -1 and mid-grey (128) about 0.";
    // what `data check` would warn about comes first (one line each, the rest counted);
    // the note on normalising gives way to it
    let warn_room = usize::from(inner.height.saturating_sub(2) / 2);
    let mut warn: Vec<String> = st.data.warnings.iter().take(warn_room).cloned().collect();
    if st.data.warnings.len() > warn_room && warn_room > 0 {
        warn.pop();
        warn.push(format!(
            "{} more: see cnn-tutor data check",
            st.data.warnings.len() - warn.len()
        ));
    }
    for (i, line) in warn.iter().enumerate() {
        let style = if line.starts_with("error") {
            theme.emphasis()
        } else {
            theme.dim()
        };
        buf.set_stringn(
            inner.x,
            inner.y + 1 + u16::try_from(i).unwrap_or(0),
            truncate(&theme.text(line), w, ell),
            w,
            style,
        );
    }
    let warn_h = u16::try_from(warn.len()).unwrap_or(0);
    let norm_lines = if warn.is_empty() {
        super::super::widgets::wrap(&theme.text(norm), w)
    } else {
        Vec::new()
    };
    let norm_h = u16::try_from(norm_lines.len())
        .unwrap_or(2)
        .min(inner.height - 2);
    let panels: Vec<Panel> = st
        .data
        .classes
        .iter()
        .map(|c| {
            Panel::Image(ImagePanel {
                label: format!("{} ({})", c.name, c.count),
                width: if c.rgb.is_some() {
                    crate::data::IMAGE_SIZE
                } else {
                    0
                },
                height: if c.rgb.is_some() {
                    crate::data::IMAGE_SIZE
                } else {
                    0
                },
                rgb: c.rgb.clone().unwrap_or_default(),
            })
        })
        .collect();
    let img_h = inner.height.saturating_sub(1 + warn_h + norm_h);
    let img_area = Rect::new(inner.x, inner.y + 1 + warn_h, inner.width, img_h);
    // the widest pictures that let every class show; when even the narrowest do not, as
    // many as fit and a line saying how many are left out
    let widest = (inner.width / 3).clamp(10, 26);
    let style = PanelStyle::plain(*theme);
    let fits = (10..=widest)
        .rev()
        .find(|&w| flow_layout(&style, &panels, img_area, w).len() == panels.len());
    if let Some(max_w) = fits {
        flow_panels(theme, &panels, img_area, max_w, buf);
    } else if img_area.height > 1 {
        let shorter = Rect {
            height: img_area.height - 1,
            ..img_area
        };
        let drawn = flow_panels(theme, &panels, shorter, widest, buf);
        let more = format!(
            "+{} more classes: cnn-tutor data check lists them all",
            panels.len() - drawn
        );
        let y = shorter.bottom();
        buf.set_stringn(inner.x, y, truncate(&more, w, ell), w, theme.dim());
    }
    for (i, l) in norm_lines.iter().take(usize::from(norm_h)).enumerate() {
        let y = inner.y + 1 + warn_h + img_h + u16::try_from(i).unwrap_or(0);
        buf.set_stringn(inner.x, y, l, w, theme.dim());
    }
}
