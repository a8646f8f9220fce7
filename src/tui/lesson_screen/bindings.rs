//! The lesson screen's key tables: stepping through a lesson (with "your turn"'s answer
//! keys) and the number editor. Each feeds the screen's key handling, its hint line and
//! the `?` overlay.

use super::super::event::KeyCode;
use super::super::keys::{Binding, KeySpec, Label};
use super::LessonState;

use KeySpec::{Char, Code, Ctrl};

use crate::tui::keys::{DOWN, END, ENTER, ESC, HOME, LEFT, PGDN, PGUP, RIGHT, TAB, UP};

/// Help sections, in the order the overlay lists them.
const LESSON_HELP: &str = "Lesson";
const OWN_NUMBERS: &str = "Your own numbers";
const DROPOUT: &str = "Dropout, whole network";
const TRAINING_STEP: &str = "Backpropagation";
const YOUR_TURN: &str = "Your turn";
const PRESENTER: &str = "Presenter";

/// Presenter mode with the step's value still hidden.
fn hiding(s: &LessonState) -> bool {
    s.facts.present && !s.revealed && !s.step_questions().is_empty()
}

/// A classroom student follows the teacher.
fn following(s: &LessonState) -> bool {
    s.facts.following()
}

fn train_lesson(s: &LessonState) -> bool {
    s.caps.training
}

/// A lesson that shows the whole network, with a trained or saved model to look inside.
fn inspect_lesson(s: &LessonState) -> bool {
    s.caps.inspect && s.facts.has_model
}

/// "Your turn": a question is open (digits, `-`, `.`, Backspace, Enter, `h` and Esc answer it).
fn answering(s: &LessonState) -> bool {
    s.answering()
}

fn not_answering(s: &LessonState) -> bool {
    !answering(s)
}

/// A question is open and something has been typed for it.
fn typed(s: &LessonState) -> bool {
    answering(s) && !s.quiz.input.is_empty()
}

/// A question is open and has a hint left.
fn hint_left(s: &LessonState) -> bool {
    s.question(s.facts.your_turn)
        .is_some_and(|q| s.quiz.hints < q.hints.len())
}

fn editable(s: &LessonState) -> bool {
    s.caps.editable
}

fn presets(s: &LessonState) -> bool {
    s.caps.filter_presets
}

/// The lesson draws random drops (`r` re-rolls them, `[ ]` change p).
fn drops(s: &LessonState) -> bool {
    s.caps.dropout
}

/// The lesson works out one training step (`t` target, `<`/`>` updates).
fn training_step(s: &LessonState) -> bool {
    s.caps.training_step
}

/// What a key does in a lesson (not editing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LessonAction {
    /// Open the help overlay.
    Help,
    /// End the app.
    Quit,
    /// Stop following the teacher (a classroom student).
    Follow,
    /// Presenter mode on or off.
    Present,
    /// Presenter mode: show the step's hidden value.
    Reveal,
    /// The train lesson: start training at once.
    TrainNow,
    /// The train lesson: the training screen's settings.
    TrainSettings,
    /// The architecture lesson: look inside the trained model (the inspector).
    Inspect,
    /// Say how to get a model to look inside (none is trained or saved yet).
    InspectHowTo,
    /// The next step.
    Next,
    /// The previous step.
    Previous,
    /// The first step.
    First,
    /// The last step.
    Last,
    /// Play or pause automatic stepping (at the end: play from the start).
    PlayPause,
    /// Step faster.
    Faster,
    /// Step slower.
    Slower,
    /// Move the scroll keys' focus between text and panels.
    Focus,
    /// Scroll the focused part one line up.
    ScrollUp,
    /// Scroll the focused part one line down.
    ScrollDown,
    /// Scroll the focused part a page up.
    PageUp,
    /// Scroll the focused part a page down.
    PageDown,
    /// Back to the menu.
    Back,
    /// Start editing the lesson's numbers.
    Edit,
    /// The next known filter.
    NextPreset,
    /// New random drops (dropout lessons), else the lesson's own numbers.
    Reroll,
    /// Lower the dropout probability.
    LowerP,
    /// Raise the dropout probability.
    RaiseP,
    /// A training-step lesson: the next class becomes the target.
    NextTarget,
    /// A training-step lesson: take one more update step.
    MoreUpdates,
    /// A training-step lesson: take one update step fewer.
    FewerUpdates,
    /// "Your turn" on or off.
    YourTurn,
    /// Type the key's character into the answer.
    AnswerType,
    /// Delete the answer's last character.
    AnswerDelete,
    /// Check the answer.
    AnswerCheck,
    /// The next hint.
    AnswerHint,
    /// Skip the question (the answer is shown).
    AnswerSkip,
}

type LessonBinding = Binding<LessonAction, LessonState>;

/// The lesson screen's keys. While a "your turn" question is open, its answer keys take
/// `-`, `h`, Enter, Esc and Backspace (the bindings that share them wait until it ends).
pub const LESSON: &[LessonBinding] = &[
    LessonBinding::new(&[Char('?')], LessonAction::Help).hint(9, Label::new(&[Char('?')], "help")),
    // issue 23: keys typed into an open question belong to it; `q` quits only when none
    // is open (Ctrl-C always quits)
    LessonBinding::new(&[Ctrl('c')], LessonAction::Quit),
    LessonBinding::new(&[Char('q')], LessonAction::Quit)
        .when(not_answering)
        .hint(11, Label::new(&[Char('q')], "quit")),
    LessonBinding::new(&[Char('P')], LessonAction::Present)
        .when(not_answering)
        .hint(15, Label::new(&[Char('P')], "present"))
        .help(
            PRESENTER,
            Label::new(&[Char('P')], "presenter mode on / off"),
        ),
    LessonBinding::new(&[Char('v')], LessonAction::Reveal)
        .when(hiding)
        .hint(0, Label::new(&[Char('v')], "reveal"))
        .help(
            PRESENTER,
            Label::new(&[Char('v')], "reveal the value the class worked out"),
        ),
    LessonBinding::new(&[Char('f')], LessonAction::Follow)
        .when(following)
        .hint(0, Label::new(&[Char('f')], "stop following")),
    LessonBinding::new(&[Char('s')], LessonAction::TrainNow)
        .when(train_lesson)
        .hint(1, Label::new(&[Char('s')], "train now")),
    LessonBinding::new(&[ENTER], LessonAction::TrainSettings)
        .when(|s| train_lesson(s) && not_answering(s))
        .hint(2, Label::new(&[ENTER], "settings")),
    // the inspector (issue 13): from the architecture lesson, when a model is known
    LessonBinding::new(&[Char('i')], LessonAction::Inspect)
        .when(inspect_lesson)
        .hint(1, Label::new(&[Char('i')], "look inside the trained model")),
    // without one, `i` says how to get one (issue 23: it did nothing)
    LessonBinding::new(&[Char('i')], LessonAction::InspectHowTo)
        .when(|s| s.caps.inspect && !s.facts.has_model),
    LessonBinding::new(
        &[RIGHT, Char(' '), Char('l'), Char('n')],
        LessonAction::Next,
    )
    .hint(3, Label::new(&[LEFT, RIGHT], "step").sep("/"))
    .help(
        LESSON_HELP,
        Label::new(&[RIGHT, Char(' '), Char('l')], "next step"),
    ),
    // `h` is only ever "hint" (issue 23: it was "previous step" too, once a question
    // closed, so a learner asking for hints stepped back)
    LessonBinding::new(&[LEFT, Char('b')], LessonAction::Previous)
        .help(LESSON_HELP, Label::new(&[LEFT, Char('b')], "previous step")),
    LessonBinding::new(&[HOME, Char('g')], LessonAction::First)
        .hint(14, Label::new(&[HOME, END], "first/last").sep("/"))
        .help(LESSON_HELP, Label::new(&[HOME, END], "first / last step")),
    LessonBinding::new(&[END, Char('G')], LessonAction::Last),
    LessonBinding::new(&[Char('p')], LessonAction::PlayPause)
        .when(|s| !s.playing)
        .hint(4, Label::new(&[Char('p')], "play"))
        .help(LESSON_HELP, Label::new(&[Char('p')], "play / pause")),
    LessonBinding::new(&[Char('p')], LessonAction::PlayPause)
        .when(|s| s.playing)
        .hint(4, Label::new(&[Char('p')], "pause")),
    LessonBinding::new(&[Char('+'), Char('=')], LessonAction::Faster)
        .hint(12, Label::new(&[Char('+'), Char('-')], "speed").sep("/"))
        .help(
            LESSON_HELP,
            Label::new(&[Char('+'), Char('-')], "faster / slower"),
        ),
    LessonBinding::new(&[Char('_')], LessonAction::Slower),
    LessonBinding::new(&[Char('-')], LessonAction::Slower).when(not_answering),
    LessonBinding::new(&[TAB, Code(KeyCode::BackTab)], LessonAction::Focus)
        .hint(13, Label::new(&[TAB], "focus"))
        .help(LESSON_HELP, Label::new(&[TAB], "focus text / panels")),
    LessonBinding::new(&[UP, Char('k')], LessonAction::ScrollUp).help(
        LESSON_HELP,
        Label::new(&[UP, DOWN, PGUP, PGDN], "scroll focused part"),
    ),
    LessonBinding::new(&[DOWN, Char('j')], LessonAction::ScrollDown),
    LessonBinding::new(&[PGUP], LessonAction::PageUp),
    LessonBinding::new(&[PGDN], LessonAction::PageDown),
    LessonBinding::new(&[ESC, Code(KeyCode::Backspace)], LessonAction::Back)
        .when(not_answering)
        .hint(10, Label::new(&[ESC], "menu"))
        .help(LESSON_HELP, Label::new(&[ESC], "back to the menu")),
    LessonBinding::new(&[Char('e')], LessonAction::Edit)
        .hint_if(5, Label::new(&[Char('e')], "edit"), editable)
        .help(
            OWN_NUMBERS,
            Label::new(&[Char('e')], "edit filter or image"),
        ),
    LessonBinding::new(&[Char('f')], LessonAction::NextPreset)
        .when(|s| !following(s))
        .hint_if(6, Label::new(&[Char('f')], "filters"), presets),
    LessonBinding::new(&[Char('r')], LessonAction::Reroll)
        .hint_if(7, Label::new(&[Char('r')], "re-roll"), drops)
        .help(DROPOUT, Label::new(&[Char('r')], "new random drops")),
    LessonBinding::new(&[Char('[')], LessonAction::LowerP)
        .hint_if(8, Label::new(&[Char('['), Char(']')], "p"), drops)
        .help(
            DROPOUT,
            Label::new(&[Char('['), Char(']')], "lower / raise p"),
        ),
    LessonBinding::new(&[Char(']')], LessonAction::RaiseP),
    // issue 14, "your turn": the keys of an open question (the keys they share, `-`,
    // `h`, Enter, Esc and Backspace, do their other work only while none is open)
    LessonBinding::new(
        &[KeySpec::Range('0', '9'), Char('-'), Char('.')],
        LessonAction::AnswerType,
    )
    .when(answering)
    .hint(
        0,
        Label::new(&[KeySpec::Range('0', '9'), Char('-'), Char('.')], "answer"),
    )
    .help(
        YOUR_TURN,
        Label::new(
            &[KeySpec::Range('0', '9'), Char('-'), Char('.')],
            "type your answer",
        ),
    ),
    LessonBinding::new(
        &[Code(KeyCode::Backspace), Code(KeyCode::Delete)],
        LessonAction::AnswerDelete,
    )
    .when(answering)
    .help(
        YOUR_TURN,
        Label::new(&[Code(KeyCode::Backspace)], "delete a character"),
    ),
    LessonBinding::new(&[ENTER], LessonAction::AnswerCheck)
        .when(answering)
        .hint_if(0, Label::new(&[ENTER], "check"), typed)
        .help(YOUR_TURN, Label::new(&[ENTER], "check the answer")),
    LessonBinding::new(&[Char('h')], LessonAction::AnswerHint)
        .when(answering)
        .hint_if(1, Label::new(&[Char('h')], "hint"), hint_left)
        .help(YOUR_TURN, Label::new(&[Char('h')], "a hint")),
    LessonBinding::new(&[ESC], LessonAction::AnswerSkip)
        .when(answering)
        .hint(2, Label::new(&[ESC], "skip"))
        .help(YOUR_TURN, Label::new(&[ESC], "skip the question")),
    LessonBinding::new(&[Char('y')], LessonAction::YourTurn)
        .when(|s| !s.facts.your_turn)
        .hint(9, Label::new(&[Char('y')], "your turn"))
        .help(YOUR_TURN, Label::new(&[Char('y')], "your turn on / off")),
    LessonBinding::new(&[Char('y')], LessonAction::YourTurn)
        .when(|s| s.facts.your_turn)
        .hint(9, Label::new(&[Char('y')], "your turn off")),
    // one training step (backprop): the target class and the number of updates
    LessonBinding::new(&[Char('t')], LessonAction::NextTarget)
        .when(not_answering)
        .hint_if(7, Label::new(&[Char('t')], "target"), training_step)
        .help(TRAINING_STEP, Label::new(&[Char('t')], "next target class")),
    LessonBinding::new(&[Char('>'), Char('.')], LessonAction::MoreUpdates)
        .when(not_answering)
        .hint_if(
            8,
            Label::new(&[Char('<'), Char('>')], "updates"),
            training_step,
        )
        .help(
            TRAINING_STEP,
            Label::new(&[Char('<'), Char('>')], "fewer / more updates"),
        ),
    LessonBinding::new(&[Char('<'), Char(',')], LessonAction::FewerUpdates).when(not_answering),
];

/// What a key does while editing a lesson's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditAction {
    /// Open the help overlay.
    Help,
    /// End the app.
    Quit,
    /// Stop following the teacher (a classroom student).
    Follow,
    /// The next matrix (filter, image).
    NextMatrix,
    /// The previous matrix.
    PreviousMatrix,
    /// Cursor up.
    Up,
    /// Cursor down.
    Down,
    /// Cursor left.
    Left,
    /// Cursor right.
    Right,
    /// Cursor to the first column.
    RowStart,
    /// Cursor to the last column.
    RowEnd,
    /// Type the key's character into the number.
    Type,
    /// Set the cell to the number typed; everything recomputes.
    Set,
    /// Delete the last character typed.
    DeleteChar,
    /// Clear what was typed, or (nothing typed) stop editing.
    ClearOrStop,
    /// The next known filter.
    NextPreset,
    /// The lesson's own numbers back.
    Reset,
}

type EditBinding = Binding<EditAction, LessonState>;

/// The number editor's keys.
pub const EDIT: &[EditBinding] = &[
    EditBinding::new(&[Char('?')], EditAction::Help),
    // a number is being typed: `q` is no quit here (Esc leaves the editor first)
    EditBinding::new(&[Ctrl('c')], EditAction::Quit),
    EditBinding::new(&[Char('f')], EditAction::Follow)
        .when(following)
        .hint(5, Label::new(&[Char('f')], "stop following")),
    EditBinding::new(&[TAB], EditAction::NextMatrix)
        .hint(4, Label::new(&[TAB], "next matrix"))
        .help(OWN_NUMBERS, Label::new(&[TAB], "filter <-> image")),
    EditBinding::new(&[Code(KeyCode::BackTab)], EditAction::PreviousMatrix),
    EditBinding::new(&[UP], EditAction::Up)
        .hint(0, Label::new(&[KeySpec::Arrows], "move"))
        .help(
            OWN_NUMBERS,
            Label::new(&[KeySpec::Arrows], "move the cursor"),
        ),
    EditBinding::new(&[DOWN], EditAction::Down),
    EditBinding::new(&[LEFT], EditAction::Left),
    EditBinding::new(&[RIGHT], EditAction::Right),
    EditBinding::new(&[HOME], EditAction::RowStart),
    EditBinding::new(&[END], EditAction::RowEnd),
    EditBinding::new(
        &[KeySpec::Range('0', '9'), Char('-'), Char('.')],
        EditAction::Type,
    )
    .hint(
        1,
        Label::new(&[KeySpec::Range('0', '9'), Char('-'), Char('.')], "type"),
    )
    .help(
        OWN_NUMBERS,
        Label::new(
            &[KeySpec::Range('0', '9'), Char('-'), Char('.')],
            "type a number",
        ),
    ),
    EditBinding::new(&[ENTER], EditAction::Set)
        .hint(2, Label::new(&[ENTER], "set"))
        .help(OWN_NUMBERS, Label::new(&[ENTER], "set; all recompute")),
    EditBinding::new(
        &[Code(KeyCode::Backspace), Code(KeyCode::Delete)],
        EditAction::DeleteChar,
    )
    .help(
        OWN_NUMBERS,
        Label::new(&[Code(KeyCode::Backspace)], "delete a character"),
    ),
    EditBinding::new(&[ESC], EditAction::ClearOrStop)
        .hint(3, Label::new(&[ESC], "done"))
        .help(OWN_NUMBERS, Label::new(&[ESC], "clear, then stop")),
    EditBinding::new(&[Char('f')], EditAction::NextPreset)
        .when(|s| !following(s))
        .hint_if(5, Label::new(&[Char('f')], "filters"), presets)
        .help(OWN_NUMBERS, Label::new(&[Char('f')], "next known filter")),
    EditBinding::new(&[Char('r')], EditAction::Reset)
        .hint(6, Label::new(&[Char('r')], "reset"))
        .help(
            OWN_NUMBERS,
            Label::new(&[Char('r')], "the lesson's numbers"),
        ),
];
