//! The training screen's keys, written once: every [`Action`] with its keys, its hint and
//! where it applies sits in one table, [`COMMANDS`], which drives the key handling
//! ([`lookup`]), the hint line ([`hints`]) and the list of keys ([`help`]). Like gitui's
//! command list: a command is a hint (keys as shown, label) and the key bindings it
//! stands for.

use super::super::event::KeyCode;
use super::super::theme::Symbols;
use super::effects::Need;
use super::results::ResultsTab;
use super::state::PhaseKind;

/// Everything a key can do on the training screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Quit the app (a run is cancelled first).
    Quit,
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
    /// Settings: apply what was typed, or start when nothing was.
    Confirm,
    /// Settings: apply what was typed and start.
    Start,
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
    /// Predict: classify a new random shape.
    NewShape,
    /// Predict: type the path of an image file to classify.
    OpenFile,
    /// Cancelled or stopped: start the same run again.
    StartAgain,
    /// Cancelled or stopped: back to the settings.
    EditSettings,
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

/// Where on the screen a command applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// In this phase.
    Phase(PhaseKind),
    /// After a run was cancelled or stopped by an error.
    Stopped,
    /// On this results tab.
    Tab(ResultsTab),
}

/// Where the screen is, as the table needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// The phase.
    pub phase: PhaseKind,
    /// The results tab shown, in the results phase.
    pub tab: Option<ResultsTab>,
}

impl When {
    /// Whether a command for `self` applies in `ctx`.
    pub fn applies(self, ctx: Context) -> bool {
        match self {
            When::Phase(p) => ctx.phase == p,
            When::Stopped => matches!(ctx.phase, PhaseKind::Cancelled | PhaseKind::Failed),
            When::Tab(t) => ctx.phase == PhaseKind::Results && ctx.tab == Some(t),
        }
    }
}

/// How the hint line writes a command's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysText {
    /// As written.
    Plain(&'static str),
    /// The up and down arrows in the theme's symbols.
    UpDown,
    /// The left and right arrows in the theme's symbols.
    LeftRight,
    /// Not on the hint line (still in [`help`]).
    Hidden(&'static str),
}

/// One command: a hint and the keys it stands for.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// The keys as the hint line writes them.
    pub keys: KeysText,
    /// What the hint says.
    pub label: &'static str,
    /// What the hint says instead while a run is paused (the pause key's "resume").
    pub paused_label: Option<&'static str>,
    /// Where it applies.
    pub when: When,
    /// Each key and what it does.
    pub bindings: &'static [(KeyCode, Action)],
}

const fn cmd(
    keys: KeysText,
    label: &'static str,
    when: When,
    bindings: &'static [(KeyCode, Action)],
) -> Command {
    Command {
        keys,
        label,
        paused_label: None,
        when,
        bindings,
    }
}

use KeyCode::{BackTab, Backspace, Char, Delete, Down, Enter, Esc, Left, Right, Tab, Up};
use KeysText::{Hidden, LeftRight, Plain, UpDown};

const SETTINGS: When = When::Phase(PhaseKind::Settings);
const RUNNING: When = When::Phase(PhaseKind::Running);
const RESULTS: When = When::Phase(PhaseKind::Results);

/// Every command of the training screen, in hint order. A key does what the first
/// command that applies and binds it says.
pub const COMMANDS: &[Command] = &[
    // the settings step
    cmd(
        UpDown,
        "choose",
        SETTINGS,
        &[
            (Up, Action::PrevField),
            (Char('k'), Action::PrevField),
            (Down, Action::NextField),
            (Char('j'), Action::NextField),
            (Tab, Action::NextField),
        ],
    ),
    cmd(
        LeftRight,
        "change",
        SETTINGS,
        &[
            (Left, Action::Decrease),
            (Char('-'), Action::Decrease),
            (Right, Action::Increase),
            (Char('+'), Action::Increase),
            (Char('='), Action::Increase),
        ],
    ),
    cmd(
        Plain("0-9"),
        "type",
        SETTINGS,
        &[
            (Char('0'), Action::Type),
            (Char('1'), Action::Type),
            (Char('2'), Action::Type),
            (Char('3'), Action::Type),
            (Char('4'), Action::Type),
            (Char('5'), Action::Type),
            (Char('6'), Action::Type),
            (Char('7'), Action::Type),
            (Char('8'), Action::Type),
            (Char('9'), Action::Type),
            (Char('.'), Action::Type),
            (Char('e'), Action::Type),
        ],
    ),
    cmd(
        Hidden("Backspace"),
        "delete a typed character",
        SETTINGS,
        &[(Backspace, Action::Erase), (Delete, Action::Erase)],
    ),
    cmd(
        Plain("Enter/s"),
        "start",
        SETTINGS,
        &[(Enter, Action::Confirm), (Char('s'), Action::Start)],
    ),
    cmd(Plain("Esc"), "back", SETTINGS, &[(Esc, Action::Back)]),
    cmd(
        Plain("L"),
        "load saved model",
        SETTINGS,
        &[(Char('L'), Action::Load)],
    ),
    cmd(Plain("q"), "quit", SETTINGS, &[(Char('q'), Action::Quit)]),
    // a run
    Command {
        keys: Plain("p"),
        label: "pause",
        paused_label: Some("resume"),
        when: RUNNING,
        bindings: &[(Char('p'), Action::Pause)],
    },
    cmd(Plain("Esc"), "cancel", RUNNING, &[(Esc, Action::Back)]),
    cmd(
        Plain("q"),
        "cancel and quit",
        RUNNING,
        &[(Char('q'), Action::Quit)],
    ),
    // the results
    cmd(
        Plain("1-4/Tab"),
        "tabs",
        RESULTS,
        &[
            (Char('1'), Action::ShowTab),
            (Char('2'), Action::ShowTab),
            (Char('3'), Action::ShowTab),
            (Char('4'), Action::ShowTab),
            (Tab, Action::NextTab),
            (BackTab, Action::PrevTab),
        ],
    ),
    cmd(
        Plain("arrows"),
        "cell",
        When::Tab(ResultsTab::Evaluation),
        &[
            (Up, Action::CellUp),
            (Char('k'), Action::CellUp),
            (Down, Action::CellDown),
            (Char('j'), Action::CellDown),
            (Left, Action::CellLeft),
            (Char('h'), Action::CellLeft),
            (Right, Action::CellRight),
            (Char('l'), Action::CellRight),
        ],
    ),
    cmd(
        LeftRight,
        "filter",
        When::Tab(ResultsTab::Filters),
        &[
            (Left, Action::PrevFilter),
            (Char('h'), Action::PrevFilter),
            (Right, Action::NextFilter),
            (Char('l'), Action::NextFilter),
        ],
    ),
    cmd(
        Plain("n"),
        "new shape",
        When::Tab(ResultsTab::Predict),
        &[(Char('n'), Action::NewShape), (Enter, Action::NewShape)],
    ),
    cmd(
        Plain("o"),
        "open a file",
        When::Tab(ResultsTab::Predict),
        &[(Char('o'), Action::OpenFile), (Char('/'), Action::OpenFile)],
    ),
    cmd(Plain("w"), "save", RESULTS, &[(Char('w'), Action::Save)]),
    cmd(Plain("L"), "load", RESULTS, &[(Char('L'), Action::Load)]),
    cmd(
        Plain("r"),
        "retrain",
        RESULTS,
        &[(Char('r'), Action::Retrain)],
    ),
    cmd(Plain("Esc"), "back", RESULTS, &[(Esc, Action::Back)]),
    cmd(Plain("q"), "quit", RESULTS, &[(Char('q'), Action::Quit)]),
    // after a cancelled or failed run
    cmd(
        Plain("s"),
        "start again",
        When::Stopped,
        &[(Char('s'), Action::StartAgain), (Enter, Action::StartAgain)],
    ),
    cmd(
        Plain("e"),
        "settings",
        When::Stopped,
        &[(Char('e'), Action::EditSettings)],
    ),
    cmd(Plain("Esc"), "back", When::Stopped, &[(Esc, Action::Back)]),
    cmd(
        Plain("q"),
        "quit",
        When::Stopped,
        &[(Char('q'), Action::Quit)],
    ),
];

/// What `code` does in `ctx`, if anything.
pub fn lookup(ctx: Context, code: KeyCode) -> Option<Action> {
    COMMANDS
        .iter()
        .filter(|c| c.when.applies(ctx))
        .find_map(|c| c.bindings.iter().find(|(k, _)| *k == code).map(|b| b.1))
}

impl KeysText {
    /// The keys as written for `sym`.
    pub fn text(self, sym: &Symbols) -> String {
        match self {
            Plain(s) | Hidden(s) => s.to_string(),
            UpDown => format!("{}/{}", sym.up, sym.down),
            LeftRight => format!("{}/{}", sym.left, sym.right),
        }
    }
}

/// The hint line in `ctx`: each command that applies, is shown and is not refused
/// (`refused(need)`), as (keys, label).
pub fn hints(
    ctx: Context,
    sym: &Symbols,
    paused: bool,
    refused: impl Fn(Need) -> bool,
) -> Vec<(String, &'static str)> {
    COMMANDS
        .iter()
        .filter(|c| c.when.applies(ctx) && !matches!(c.keys, Hidden(_)))
        .filter(|c| {
            !c.bindings
                .iter()
                .all(|(_, a)| a.need().is_some_and(&refused))
        })
        .map(|c| {
            let label = match c.paused_label {
                Some(l) if paused => l,
                _ => c.label,
            };
            (c.keys.text(sym), label)
        })
        .collect()
}

/// Every command, for a list of keys: (keys, label, where).
pub fn help(sym: &Symbols) -> Vec<(String, &'static str, &'static str)> {
    COMMANDS
        .iter()
        .map(|c| {
            let place = match c.when {
                When::Phase(PhaseKind::Settings) => "settings",
                When::Phase(PhaseKind::Running) => "training",
                When::Phase(PhaseKind::Results) => "results",
                When::Phase(PhaseKind::Cancelled | PhaseKind::Failed) | When::Stopped => "stopped",
                When::Tab(t) => t.title(),
            };
            (c.keys.text(sym), c.label, place)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contexts() -> Vec<Context> {
        let mut out: Vec<Context> = [
            PhaseKind::Settings,
            PhaseKind::Running,
            PhaseKind::Cancelled,
            PhaseKind::Failed,
        ]
        .into_iter()
        .map(|phase| Context { phase, tab: None })
        .collect();
        out.extend(ResultsTab::ALL.into_iter().map(|t| Context {
            phase: PhaseKind::Results,
            tab: Some(t),
        }));
        out
    }

    /// No command's key is taken by an earlier one where both apply: every key a hint
    /// shows does what that hint's command says.
    #[test]
    fn every_binding_reaches_its_action() {
        for ctx in contexts() {
            for c in COMMANDS.iter().filter(|c| c.when.applies(ctx)) {
                for &(code, action) in c.bindings {
                    assert_eq!(
                        lookup(ctx, code),
                        Some(action),
                        "{code:?} in {ctx:?} ({})",
                        c.label
                    );
                }
            }
        }
    }

    /// Every place has a way back and a way out, and a hint line.
    #[test]
    fn every_place_has_back_quit_and_hints() {
        let sym = crate::tui::Theme::new(false, true).symbols();
        for ctx in contexts() {
            assert_eq!(lookup(ctx, Esc), Some(Action::Back), "{ctx:?}");
            assert_eq!(lookup(ctx, Char('q')), Some(Action::Quit), "{ctx:?}");
            let shown = hints(ctx, sym, false, |_| false);
            assert!(shown.iter().any(|(k, _)| k == "Esc"), "{ctx:?}");
        }
        // a classroom session's hints leave out what it refuses
        let ctx = Context {
            phase: PhaseKind::Results,
            tab: Some(ResultsTab::Predict),
        };
        let all = hints(ctx, sym, false, |_| false);
        let restricted = hints(ctx, sym, false, |_| true);
        assert!(all.iter().any(|(k, _)| k == "L") && all.iter().any(|(k, _)| k == "o"));
        assert!(!restricted.iter().any(|(k, _)| k == "L" || k == "o"));
        assert_eq!(all.len(), restricted.len() + 2);
    }
}
