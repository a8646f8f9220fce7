//! The training screen's keys, written once: every [`Action`] with its keys, when it
//! applies, its hint and its help row sits in one table, [`TABLE`] (of the app's shared
//! [`Binding`] type), which drives the key handling ([`action_for`]), the hint line
//! ([`keys::hints`]) and the list of keys ([`keys::help_rows`]).
//!
//! What a classroom session refuses (see [`super::effects::refused`]) keeps its binding,
//! so the key says why it does nothing, but loses its hint.

use super::super::event::{Key, KeyCode};
use super::super::keys::{self, Binding, KeySpec, Label};
use super::effects::{refused, Need};
use super::results::ResultsTab;
use super::settings::SettingField;
use super::state::{Phase, PhaseKind, TrainingState};

/// Everything a key can do on the training screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Quit the app (a run is cancelled first).
    Quit,
    /// The list of keys.
    Help,
    /// Back to the lesson (a run is cancelled first).
    Back,
    /// Settings: the field above.
    PrevField,
    /// Settings: the field below.
    NextField,
    /// Settings: the selected setting's previous value.
    Decrease,
    /// Settings: the selected setting's next value.
    Increase,
    /// Settings: type the key's character into the selected setting.
    Type,
    /// Settings: delete the last character typed.
    Erase,
    /// Settings: open the data folder's box (on the Data field).
    EditData,
    /// Settings: apply what was typed, or start when nothing was.
    Confirm,
    /// Settings: apply what was typed and start.
    Start,
    /// Settings: the selected setting back to its default.
    ResetField,
    /// Settings: every setting back to its default.
    ResetAll,
    /// Read the saved model (settings and results).
    Load,
    /// Running: pause or resume.
    Pause,
    /// Results: the tab of the key's digit.
    ShowTab,
    /// Results: the next tab.
    NextTab,
    /// Results: the previous tab.
    PrevTab,
    /// Results: write the model file.
    Save,
    /// Results: back to the settings.
    Retrain,
    /// Evaluation: the cell above.
    CellUp,
    /// Evaluation: the cell below.
    CellDown,
    /// Evaluation: the cell to the left.
    CellLeft,
    /// Evaluation: the cell to the right.
    CellRight,
    /// Filters: the previous filter.
    PrevFilter,
    /// Filters: the next filter.
    NextFilter,
    /// Filters: the epoch before (the run's history).
    PrevEpoch,
    /// Filters: the epoch after.
    NextEpoch,
    /// Filters: what the selected filter looks for (its strongest validation patches).
    LookFor,
    /// What a filter looks for: the convolution before.
    PrevLayer,
    /// What a filter looks for: the convolution after.
    NextLayer,
    /// What a filter looks for: the tiles a row up.
    TilesUp,
    /// What a filter looks for: the tiles a row down.
    TilesDown,
    /// Predict: classify a new random shape.
    NewShape,
    /// Predict: type the path of an image file to classify.
    OpenFile,
    /// Results: open the inspector (every map of one image, how each cell was computed).
    Inspect,
    /// Predict and evaluation: the why view (the picture with its attribution map) on or off.
    Why,
    /// Why view: the next method (saliency, Grad-CAM, occlusion).
    WhyMethod,
    /// Why view: explain the next class.
    WhyClass,
    /// Why view: the same map for an untrained network of the same layers, or back.
    WhyUntrained,
    /// Settings: open the layer editor (on the Network field).
    EditNetwork,
    /// Layer editor: the layer above (or the previous layer to add).
    LayerUp,
    /// Layer editor: the layer below (or the next layer to add).
    LayerDown,
    /// Layer editor: the selected number's previous value.
    LayerLess,
    /// Layer editor: the selected number's next value.
    LayerMore,
    /// Layer editor: the layer's next number.
    LayerNumber,
    /// Layer editor: type a digit of the selected number.
    LayerType,
    /// Layer editor: delete the last digit typed.
    LayerErase,
    /// Layer editor: choose a layer to add after the selected one.
    LayerAdd,
    /// Layer editor: delete the selected layer.
    LayerDelete,
    /// Layer editor: move the selected layer up.
    LayerMoveUp,
    /// Layer editor: move the selected layer down.
    LayerMoveDown,
    /// Layer editor: back to the course's net.
    CourseNet,
    /// Layer editor: the next preset.
    NextPreset,
    /// Layer editor: apply what was typed, add the chosen layer, or close.
    LayerEnter,
    /// Layer editor: clear what was typed, close the list to add, or close.
    LayerEsc,
    /// Cancelled or stopped: start the same run again.
    StartAgain,
    /// Cancelled or stopped: back to the settings.
    EditSettings,
    /// Settings and results: the runs kept.
    OpenRuns,
    /// Runs: the row above.
    RunUp,
    /// Runs: the row below.
    RunDown,
    /// Runs: the next sort order.
    RunSort,
    /// Runs: mark or unmark the selected run (two or more overlay their curves).
    RunMark,
    /// Runs: open the selected run's results again.
    RunOpen,
}

impl Action {
    /// What this action needs that a front end may refuse.
    pub fn need(self) -> Option<Need> {
        match self {
            Action::Load => Some(Need::ReadModel),
            Action::OpenFile => Some(Need::ReadFile),
            _ => None,
        }
    }
}

type B = Binding<Action, TrainingState>;

use KeySpec::{Arrows, Char, Code, Ctrl, Range};

use crate::tui::keys::{DOWN, ENTER, ESC, LEFT, RIGHT, TAB, UP};

/// Help sections (the app's list of keys opens on the first when `?` is pressed here).
pub const SETTINGS: &str = "Training: settings";
const RUNNING: &str = "Training: running";
const RESULTS: &str = "Training: results";
const STOPPED: &str = "Training: cancelled or stopped";
const EDITOR: &str = "Training: the network's layers";
const RUNS: &str = "Training: runs kept";

fn settings(s: &TrainingState) -> bool {
    s.phase.kind() == PhaseKind::Settings && !editing(s)
}

fn editing(s: &TrainingState) -> bool {
    matches!(&s.phase, Phase::Settings(f) if f.editor.is_some())
}

fn on_network(s: &TrainingState) -> bool {
    matches!(&s.phase, Phase::Settings(f) if f.selected() == SettingField::Network && f.editor.is_none())
}

fn choosing_layer(s: &TrainingState) -> bool {
    matches!(&s.phase, Phase::Settings(f) if f.editor.as_ref().is_some_and(|e| e.adding.is_some()))
}

fn not_choosing_layer(s: &TrainingState) -> bool {
    editing(s) && !choosing_layer(s)
}

fn on_data(s: &TrainingState) -> bool {
    matches!(&s.phase, Phase::Settings(f) if f.selected() == SettingField::Data)
}

/// Enter starts the run (on every field but Data and Network, which it opens).
fn start_on_enter(s: &TrainingState) -> bool {
    !on_data(s) && !on_network(s)
}

fn not_start_on_enter(s: &TrainingState) -> bool {
    !start_on_enter(s)
}

fn running(s: &TrainingState) -> bool {
    s.phase.kind() == PhaseKind::Running
}

fn stopped(s: &TrainingState) -> bool {
    matches!(s.phase.kind(), PhaseKind::Cancelled | PhaseKind::Failed)
}

fn results(s: &TrainingState) -> bool {
    s.phase.kind() == PhaseKind::Results
}

fn runs(s: &TrainingState) -> bool {
    s.phase.kind() == PhaseKind::Runs
}

fn results_not_looking(s: &TrainingState) -> bool {
    results(s) && not_looking(s)
}

fn on_tab(s: &TrainingState, tab: ResultsTab) -> bool {
    s.results().is_some_and(|r| r.tab == tab)
}

fn evaluation(s: &TrainingState) -> bool {
    on_tab(s, ResultsTab::Evaluation)
}

fn filters(s: &TrainingState) -> bool {
    on_tab(s, ResultsTab::Filters) && !looking(s)
}

fn epochs(s: &TrainingState) -> bool {
    filters(s) && s.results().is_some_and(|r| r.filters.has_history())
}

fn has_conv(s: &TrainingState) -> bool {
    filters(s) && s.results().is_some_and(|r| r.filters.filters > 0)
}

fn not_looking(s: &TrainingState) -> bool {
    !looking(s)
}

fn looking(s: &TrainingState) -> bool {
    on_tab(s, ResultsTab::Filters) && s.results().is_some_and(|r| r.filters.look.is_some())
}

fn predict(s: &TrainingState) -> bool {
    on_tab(s, ResultsTab::Predict)
}

fn may_why(s: &TrainingState) -> bool {
    s.results().is_some_and(|r| {
        (r.tab == ResultsTab::Predict && r.predict.shown.is_some())
            || (r.tab == ResultsTab::Evaluation && r.evaluation.dataset.is_some())
    })
}

fn why_on(s: &TrainingState) -> bool {
    s.results().is_some_and(super::results::Results::why_on)
}

fn shapes(s: &TrainingState) -> bool {
    s.results()
        .is_some_and(|r| super::results::are_shapes(&r.classes))
}

fn not_shapes(s: &TrainingState) -> bool {
    !shapes(s)
}

/// The selected setting differs from its default.
fn changed_field(s: &TrainingState) -> bool {
    matches!(&s.phase, Phase::Settings(f)
        if super::fields::default_when_changed(f.selected(), &s.prefs.settings).is_some())
}

fn paused(s: &TrainingState) -> bool {
    s.paused()
}

fn not_paused(s: &TrainingState) -> bool {
    !s.paused()
}

fn may_read_model(s: &TrainingState) -> bool {
    refused(&s.prefs, Need::ReadModel).is_none()
}

fn may_read_files(s: &TrainingState) -> bool {
    refused(&s.prefs, Need::ReadFile).is_none()
}

/// Every key of the training screen. A key does what the first binding that matches and
/// applies says; hints are ordered within each phase.
pub const TABLE: &[B] = &[
    B::new(&[Ctrl('c')], Action::Quit),
    // last on every hint line, and the line keeps its last hint
    // (its help row is the app's "? this help")
    B::new(&[Char('?')], Action::Help).hint(9, Label::new(&[Char('?')], "help")),
    // the settings step
    B::new(&[UP, Char('k')], Action::PrevField)
        .when(settings)
        .hint(0, Label::new(&[UP, DOWN], "choose").sep("/"))
        .help(
            SETTINGS,
            Label::new(&[UP, DOWN], "choose a setting").sep("/"),
        ),
    B::new(&[DOWN, Char('j'), TAB], Action::NextField).when(settings),
    B::new(&[LEFT, Char('-')], Action::Decrease)
        .when(settings)
        .hint(1, Label::new(&[LEFT, RIGHT], "change").sep("/"))
        .help(SETTINGS, Label::new(&[LEFT, RIGHT], "change it").sep("/")),
    B::new(&[RIGHT, Char('+'), Char('=')], Action::Increase).when(settings),
    B::new(&[Range('0', '9'), Char('.'), Char('e')], Action::Type)
        .when(settings)
        .hint(2, Label::new(&[Range('0', '9')], "type"))
        .help(SETTINGS, Label::new(&[Range('0', '9')], "type a value")),
    B::new(
        &[Code(KeyCode::Backspace), Code(KeyCode::Delete)],
        Action::Erase,
    )
    .when(settings)
    .help(
        SETTINGS,
        Label::new(&[Code(KeyCode::Backspace)], "delete a typed character"),
    ),
    B::new(&[ENTER], Action::EditData)
        .when(on_data)
        .hint(3, Label::new(&[ENTER], "type a folder"))
        .help(SETTINGS, Label::new(&[ENTER], "Data: type a folder")),
    B::new(&[ENTER, Char('e')], Action::EditNetwork)
        .when(on_network)
        .hint(3, Label::new(&[ENTER], "edit layers"))
        .help(SETTINGS, Label::new(&[ENTER], "Network: edit its layers")),
    B::new(&[ENTER], Action::Confirm)
        .when(settings)
        .hint_if(
            3,
            Label::new(&[ENTER, Char('s')], "start").sep("/"),
            start_on_enter,
        )
        .help(
            SETTINGS,
            Label::new(&[ENTER, Char('s')], "start training").sep("/"),
        ),
    B::new(&[Char('s')], Action::Start).when(settings).hint_if(
        3,
        Label::new(&[Char('s')], "start"),
        not_start_on_enter,
    ),
    B::new(&[Char('d')], Action::ResetField)
        .when(settings)
        .hint_if(2, Label::new(&[Char('d')], "default"), changed_field)
        .help(
            SETTINGS,
            Label::new(&[Char('d')], "reset setting to default"),
        ),
    B::new(&[Char('D')], Action::ResetAll)
        .when(settings)
        .help(SETTINGS, Label::new(&[Char('D')], "reset all to defaults")),
    B::new(&[ESC], Action::Back)
        .when(settings)
        .hint(4, Label::new(&[ESC], "back"))
        .help(SETTINGS, Label::new(&[ESC], "back to the lesson")),
    B::new(&[Char('L')], Action::Load)
        .when(settings)
        .hint_if(
            5,
            Label::new(&[Char('L')], "load saved model"),
            may_read_model,
        )
        .help(SETTINGS, Label::new(&[Char('L')], "load the saved model")),
    B::new(&[Char('R')], Action::OpenRuns)
        .when(settings)
        .hint(5, Label::new(&[Char('R')], "runs"))
        .help(
            SETTINGS,
            Label::new(&[Char('R')], "the runs kept, compared"),
        ),
    B::new(&[Char('q')], Action::Quit)
        .when(settings)
        .hint(6, Label::new(&[Char('q')], "quit"))
        .help(SETTINGS, Label::new(&[Char('q')], "quit")),
    // the layer editor (it takes the settings' place while it is open)
    B::new(&[UP, Char('k')], Action::LayerUp)
        .when(editing)
        .hint(0, Label::new(&[UP, DOWN], "layer").sep("/"))
        .help(EDITOR, Label::new(&[UP, DOWN], "choose a layer").sep("/")),
    B::new(&[DOWN, Char('j')], Action::LayerDown).when(editing),
    B::new(&[LEFT, Char('-')], Action::LayerLess)
        .when(editing)
        .hint(1, Label::new(&[LEFT, RIGHT], "change").sep("/"))
        .help(
            EDITOR,
            Label::new(&[LEFT, RIGHT], "change its number").sep("/"),
        ),
    B::new(&[RIGHT, Char('+'), Char('=')], Action::LayerMore).when(editing),
    B::new(&[TAB], Action::LayerNumber)
        .when(not_choosing_layer)
        .hint(2, Label::new(&[TAB], "number"))
        .help(EDITOR, Label::new(&[TAB], "the layer's next number")),
    B::new(&[Range('0', '9'), Char('.')], Action::LayerType)
        .when(not_choosing_layer)
        .help(EDITOR, Label::new(&[Range('0', '9')], "type a number")),
    B::new(&[Code(KeyCode::Backspace)], Action::LayerErase).when(editing),
    B::new(&[Char('a')], Action::LayerAdd)
        .when(not_choosing_layer)
        .hint(3, Label::new(&[Char('a')], "add"))
        .help(EDITOR, Label::new(&[Char('a')], "add a layer after it")),
    B::new(&[Char('x'), Code(KeyCode::Delete)], Action::LayerDelete)
        .when(not_choosing_layer)
        .hint(4, Label::new(&[Char('x')], "delete"))
        .help(EDITOR, Label::new(&[Char('x')], "delete it")),
    B::new(&[Char('K')], Action::LayerMoveUp)
        .when(not_choosing_layer)
        .hint(5, Label::new(&[Char('K'), Char('J')], "move").sep("/"))
        .help(
            EDITOR,
            Label::new(&[Char('K'), Char('J')], "move it up or down").sep("/"),
        ),
    B::new(&[Char('J')], Action::LayerMoveDown).when(not_choosing_layer),
    B::new(&[Char('r')], Action::CourseNet)
        .when(not_choosing_layer)
        .hint(6, Label::new(&[Char('r')], "reset"))
        .help(EDITOR, Label::new(&[Char('r')], "back to the course's net")),
    B::new(&[Char('p')], Action::NextPreset)
        .when(not_choosing_layer)
        .help(EDITOR, Label::new(&[Char('p')], "the next preset network")),
    B::new(&[ENTER], Action::LayerEnter)
        .when(choosing_layer)
        .hint(7, Label::new(&[ENTER], "add it"))
        .help(
            EDITOR,
            Label::new(&[ENTER], "add the chosen layer, or done"),
        ),
    B::new(&[ENTER], Action::LayerEnter)
        .when(not_choosing_layer)
        .hint(7, Label::new(&[ENTER], "done")),
    B::new(&[ESC], Action::LayerEsc)
        .when(editing)
        .hint(8, Label::new(&[ESC], "close"))
        .help(EDITOR, Label::new(&[ESC], "close the list, or the editor")),
    B::new(&[Char('q')], Action::Quit).when(editing),
    // a run
    B::new(&[Char('p')], Action::Pause)
        .when(running)
        .hint_if(0, Label::new(&[Char('p')], "pause"), not_paused)
        .help(RUNNING, Label::new(&[Char('p')], "pause or resume")),
    B::new(&[Char('p')], Action::Pause).when(running).hint_if(
        0,
        Label::new(&[Char('p')], "resume"),
        paused,
    ),
    B::new(&[ESC], Action::Back)
        .when(running)
        .hint(1, Label::new(&[ESC], "cancel"))
        .help(RUNNING, Label::new(&[ESC], "cancel, back to the lesson")),
    B::new(&[Char('q')], Action::Quit)
        .when(running)
        .hint(2, Label::new(&[Char('q')], "cancel and quit"))
        .help(RUNNING, Label::new(&[Char('q')], "cancel and quit")),
    // the results
    B::new(&[Range('1', '4')], Action::ShowTab)
        .when(results)
        .hint(0, Label::new(&[Range('1', '4'), TAB], "tabs").sep("/"))
        .help(
            RESULTS,
            Label::new(&[Range('1', '4'), TAB], "tabs").sep("/"),
        ),
    B::new(&[TAB], Action::NextTab).when(results),
    B::new(&[Code(KeyCode::BackTab)], Action::PrevTab).when(results),
    B::new(&[UP, Char('k')], Action::CellUp)
        .when(evaluation)
        .hint(1, Label::new(&[Arrows], "cell"))
        .help(RESULTS, Label::new(&[Arrows], "evaluation: choose a cell")),
    B::new(&[DOWN, Char('j')], Action::CellDown).when(evaluation),
    B::new(&[LEFT, Char('h')], Action::CellLeft).when(evaluation),
    B::new(&[RIGHT, Char('l')], Action::CellRight).when(evaluation),
    B::new(&[LEFT, Char('h')], Action::PrevFilter)
        .when(filters)
        .hint(1, Label::new(&[LEFT, RIGHT], "filter").sep("/"))
        .help(
            RESULTS,
            Label::new(&[LEFT, RIGHT], "filters: choose a filter").sep("/"),
        ),
    B::new(&[RIGHT, Char('l')], Action::NextFilter).when(filters),
    B::new(&[Char('[')], Action::PrevEpoch)
        .when(epochs)
        .hint(2, Label::new(&[Char('['), Char(']')], "epoch").sep("/"))
        .help(
            RESULTS,
            Label::new(&[Char('['), Char(']')], "filters: choose an epoch").sep("/"),
        ),
    B::new(&[Char(']')], Action::NextEpoch).when(epochs),
    B::new(&[ENTER, Char('t')], Action::LookFor)
        .when(has_conv)
        .hint(2, Label::new(&[ENTER], "looks for")),
    B::new(&[LEFT, Char('h')], Action::PrevFilter)
        .when(looking)
        .hint(1, Label::new(&[LEFT, RIGHT], "filter").sep("/")),
    B::new(&[RIGHT, Char('l')], Action::NextFilter).when(looking),
    B::new(&[UP, Char('k')], Action::PrevLayer)
        .when(looking)
        .hint(2, Label::new(&[UP, DOWN], "layer").sep("/")),
    B::new(&[DOWN, Char('j')], Action::NextLayer).when(looking),
    B::new(&[Code(KeyCode::PageUp)], Action::TilesUp).when(looking),
    B::new(&[Code(KeyCode::PageDown)], Action::TilesDown).when(looking),
    B::new(&[ESC], Action::Back)
        .when(looking)
        .hint(3, Label::new(&[ESC], "close")),
    B::new(&[Char('n'), ENTER], Action::NewShape)
        .when(predict)
        .hint_if(1, Label::new(&[Char('n')], "new shape"), shapes)
        .help(RESULTS, Label::new(&[Char('n')], "predict: a new picture")),
    B::new(&[Char('n'), ENTER], Action::NewShape)
        .when(predict)
        .hint_if(1, Label::new(&[Char('n')], "new image"), not_shapes),
    B::new(&[Char('o'), Char('/')], Action::OpenFile)
        .when(predict)
        .hint_if(2, Label::new(&[Char('o')], "open a file"), may_read_files)
        .help(RESULTS, Label::new(&[Char('o')], "predict: an image file")),
    B::new(&[Char('y')], Action::Why)
        .when(may_why)
        .hint(1, Label::new(&[Char('y')], "why?"))
        .help(
            RESULTS,
            Label::new(&[Char('y')], "why? (predict, evaluation)"),
        ),
    B::new(&[Char('m')], Action::WhyMethod)
        .when(why_on)
        .hint(1, Label::new(&[Char('m')], "method"))
        .help(
            RESULTS,
            Label::new(
                &[Char('m'), Char('c'), Char('u')],
                "why: method, class, untrained",
            ),
        ),
    B::new(&[Char('c')], Action::WhyClass)
        .when(why_on)
        .hint(1, Label::new(&[Char('c')], "class")),
    B::new(&[Char('u')], Action::WhyUntrained)
        .when(why_on)
        .hint(1, Label::new(&[Char('u')], "untrained")),
    B::new(&[Char('i')], Action::Inspect)
        .when(results)
        .hint(2, Label::new(&[Char('i')], "inspect"))
        .help(RESULTS, Label::new(&[Char('i')], "the inspector")),
    B::new(&[Char('w')], Action::Save)
        .when(results)
        .hint(3, Label::new(&[Char('w')], "save"))
        .help(RESULTS, Label::new(&[Char('w')], "save the model")),
    B::new(&[Char('L')], Action::Load)
        .when(results)
        .hint_if(4, Label::new(&[Char('L')], "load"), may_read_model)
        .help(RESULTS, Label::new(&[Char('L')], "load the saved model")),
    B::new(&[Char('r')], Action::Retrain)
        .when(results)
        .hint(5, Label::new(&[Char('r')], "retrain"))
        .help(RESULTS, Label::new(&[Char('r')], "back to the settings")),
    B::new(&[ESC], Action::Back)
        .when(results)
        .hint_if(6, Label::new(&[ESC], "back"), not_looking)
        .help(RESULTS, Label::new(&[ESC], "back to the lesson")),
    // last of the results' hints: a narrow line keeps the ones above
    B::new(&[Char('R')], Action::OpenRuns)
        .when(results_not_looking)
        .hint(8, Label::new(&[Char('R')], "runs"))
        .help(RESULTS, Label::new(&[Char('R')], "the runs kept, compared")),
    B::new(&[Char('q')], Action::Quit)
        .when(results)
        .hint(7, Label::new(&[Char('q')], "quit"))
        .help(RESULTS, Label::new(&[Char('q')], "quit")),
    // the runs kept
    B::new(&[UP, Char('k')], Action::RunUp)
        .when(runs)
        .hint(0, Label::new(&[UP, DOWN], "choose").sep("/"))
        .help(RUNS, Label::new(&[UP, DOWN], "choose a run").sep("/")),
    B::new(&[DOWN, Char('j')], Action::RunDown).when(runs),
    B::new(&[Char(' ')], Action::RunMark)
        .when(runs)
        .hint(1, Label::new(&[Char(' ')], "mark"))
        .help(RUNS, Label::new(&[Char(' ')], "mark (2+: curves overlaid)")),
    B::new(&[Char('s')], Action::RunSort)
        .when(runs)
        .hint(2, Label::new(&[Char('s')], "sort"))
        .help(RUNS, Label::new(&[Char('s')], "sort: time, accuracy, size")),
    B::new(&[ENTER], Action::RunOpen)
        .when(runs)
        .hint(3, Label::new(&[ENTER], "open"))
        .help(RUNS, Label::new(&[ENTER], "open its results again")),
    B::new(&[ESC], Action::Back)
        .when(runs)
        .hint(4, Label::new(&[ESC], "back"))
        .help(RUNS, Label::new(&[ESC], "back")),
    B::new(&[Char('q')], Action::Quit)
        .when(runs)
        .hint(5, Label::new(&[Char('q')], "quit"))
        .help(RUNS, Label::new(&[Char('q')], "quit")),
    // after a cancelled or failed run
    B::new(&[Char('s'), ENTER], Action::StartAgain)
        .when(stopped)
        .hint(0, Label::new(&[Char('s')], "start again"))
        .help(STOPPED, Label::new(&[Char('s')], "start again")),
    B::new(&[Char('e')], Action::EditSettings)
        .when(stopped)
        .hint(1, Label::new(&[Char('e')], "settings"))
        .help(STOPPED, Label::new(&[Char('e')], "back to the settings")),
    B::new(&[ESC], Action::Back)
        .when(stopped)
        .hint(2, Label::new(&[ESC], "back"))
        .help(STOPPED, Label::new(&[ESC], "back to the lesson")),
    B::new(&[Char('q')], Action::Quit)
        .when(stopped)
        .hint(3, Label::new(&[Char('q')], "quit"))
        .help(STOPPED, Label::new(&[Char('q')], "quit")),
];

/// What `key` does on the screen as it is now, if anything.
pub fn action_for(st: &TrainingState, key: Key) -> Option<Action> {
    keys::action_for(TABLE, st, key)
}
