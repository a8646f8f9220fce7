//! The console's keys: one table ([`CONSOLE`]) that drives [`super::Console::key`] and its
//! hint line, in the style of [`crate::tui::bindings`].

use super::{Console, View};
use crate::tui::keys::{Binding, KeySpec, Label};

use KeySpec::{AnyChar, Char, Ctrl};

use crate::tui::keys::{BACKSPACE, DOWN, ENTER, ESC, LEFT, PGDN, PGUP, RIGHT, TAB, UP};

/// Help sections.
const CLASS: &str = "Class view";
const LEAD: &str = "Lead the class";
const HANDS: &str = "Raised hands";

/// What a key does on the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleAction {
    /// Select the student above.
    Up,
    /// Select the student below.
    Down,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// Sort by name, lesson, idle (cycles).
    Sort,
    /// Show or hide addresses.
    Addresses,
    /// Bring everyone to the teacher's lesson and step.
    BringHere,
    /// Bring the selected student to the teacher's lesson and step.
    BringOne,
    /// Stop the selected student's training (running or queued).
    StopOne,
    /// Lock or unlock following.
    Lock,
    /// Type a message for every student.
    Message,
    /// Take the message down.
    ClearMessage,
    /// End the selected student's session (asks for a goodbye line).
    End,
    /// End every session of the selected student's address or login name (asks which).
    EndAll,
    /// Stop every training (asks first).
    StopTrainings,
    /// Look at the selected student's screen.
    Look,
    /// Close the mirror.
    CloseLook,
    /// Write the class report.
    Report,
    /// The teacher's own lessons.
    ToLessons,
    /// Leave the console.
    Quit,
    /// A character typed into the prompt.
    Type,
    /// Backspace in the prompt.
    Erase,
    /// Send what the prompt holds.
    Send,
    /// Close the prompt.
    Cancel,
    /// Open (or close) the view of where the class struggles.
    Struggle,
    /// Open (or close) the raised hands.
    Hands,
    /// Back to the class view.
    Back,
    /// The struggle view's lesson before.
    PrevLesson,
    /// The struggle view's lesson after.
    NextLesson,
    /// Answer the selected hand (asks for the line).
    Answer,
    /// Lower the selected hand.
    Lower,
    /// A hint for everyone at the selected hand's step (asks for the line).
    HintStep,
}

type B = Binding<ConsoleAction, Console>;

fn typing(c: &Console) -> bool {
    c.typing()
}

fn browsing(c: &Console) -> bool {
    !c.typing()
}

fn has_student(c: &Console) -> bool {
    browsing(c) && c.selected_row().is_some()
}

fn can_look(c: &Console) -> bool {
    has_student(c) && c.mirror.is_none()
}

fn looking(c: &Console) -> bool {
    browsing(c) && c.mirror.is_some()
}

fn unmirrored(c: &Console) -> bool {
    browsing(c) && c.mirror.is_none()
}

fn in_view(c: &Console) -> bool {
    unmirrored(c) && c.view != View::Class
}

fn struggling(c: &Console) -> bool {
    unmirrored(c) && c.view == View::Struggle
}

fn has_hand(c: &Console) -> bool {
    unmirrored(c) && c.view == View::Hands && c.selected_row().is_some()
}

fn selecting(c: &Console) -> bool {
    browsing(c) && !(c.mirror.is_none() && c.view == View::Struggle)
}

fn has_message(c: &Console) -> bool {
    browsing(c) && c.class.message.is_some()
}

fn in_session(c: &Console) -> bool {
    browsing(c) && c.class.in_session
}

fn locked(c: &Console) -> bool {
    browsing(c) && c.class.locked
}

fn unlocked(c: &Console) -> bool {
    browsing(c) && !c.class.locked
}

/// The console's key table (prompt keys first: while typing, letters are text).
pub const CONSOLE: &[B] = &[
    B::new(&[ENTER], ConsoleAction::Send)
        .when(typing)
        .hint(0, Label::new(&[ENTER], "send")),
    B::new(&[ESC], ConsoleAction::Cancel)
        .when(typing)
        .hint(1, Label::new(&[ESC], "cancel")),
    B::new(&[BACKSPACE], ConsoleAction::Erase).when(typing),
    B::new(&[AnyChar], ConsoleAction::Type).when(typing),
    B::new(&[ESC], ConsoleAction::CloseLook)
        .when(looking)
        .hint(0, Label::new(&[ESC], "close the mirror"))
        .help(CLASS, Label::new(&[ESC], "close the mirror")),
    B::new(&[ESC], ConsoleAction::Back)
        .when(in_view)
        .hint(0, Label::new(&[ESC], "class view")),
    B::new(&[LEFT], ConsoleAction::PrevLesson)
        .when(struggling)
        .hint(1, Label::new(&[LEFT, RIGHT], "lesson").sep("/"))
        .help(
            CLASS,
            Label::new(&[LEFT, RIGHT], "the struggle view's lesson").sep("/"),
        ),
    B::new(&[RIGHT], ConsoleAction::NextLesson).when(struggling),
    B::new(&[ENTER], ConsoleAction::Answer)
        .when(has_hand)
        .hint(1, Label::new(&[ENTER], "answer"))
        .help(
            HANDS,
            Label::new(&[ENTER], "answer the selected hand (that student only)"),
        ),
    B::new(&[Char('d')], ConsoleAction::Lower)
        .when(has_hand)
        .hint(1, Label::new(&[Char('d')], "lower"))
        .help(HANDS, Label::new(&[Char('d')], "lower the selected hand")),
    B::new(&[Char('H')], ConsoleAction::HintStep)
        .when(has_hand)
        .hint(1, Label::new(&[Char('H')], "hint to their step"))
        .help(
            HANDS,
            Label::new(&[Char('H')], "a hint to everyone at that hand's step"),
        ),
    B::new(&[Char('h')], ConsoleAction::Hands)
        .when(unmirrored)
        .hint(2, Label::new(&[Char('h')], "hands"))
        .help(
            HANDS,
            Label::new(&[Char('h')], "the raised hands, in order"),
        ),
    B::new(&[Char('w')], ConsoleAction::Struggle)
        .when(unmirrored)
        .hint(2, Label::new(&[Char('w')], "struggles"))
        .help(
            CLASS,
            Label::new(&[Char('w')], "where the class struggles, per question"),
        ),
    B::new(&[UP, Char('k')], ConsoleAction::Up)
        .when(struggling)
        .hint(2, Label::new(&[UP, DOWN], "scroll").sep("/")),
    B::new(&[UP, Char('k')], ConsoleAction::Up)
        .when(selecting)
        .hint(2, Label::new(&[UP, DOWN], "select").sep("/"))
        .help(CLASS, Label::new(&[UP, DOWN], "select a student").sep("/")),
    B::new(&[DOWN, Char('j')], ConsoleAction::Down).when(browsing),
    B::new(&[PGUP], ConsoleAction::PageUp).when(browsing),
    B::new(&[PGDN], ConsoleAction::PageDown).when(browsing),
    B::new(&[TAB], ConsoleAction::ToLessons)
        .when(in_session)
        .hint(1, Label::new(&[TAB], "your lessons"))
        .help(CLASS, Label::new(&[TAB], "your own lessons (Ctrl-T back)")),
    B::new(&[Char('b')], ConsoleAction::BringHere)
        .when(browsing)
        .hint(3, Label::new(&[Char('b')], "bring here"))
        .help(
            LEAD,
            Label::new(&[Char('b')], "bring everyone to your step"),
        ),
    B::new(&[Char('B')], ConsoleAction::BringOne)
        .when(has_student)
        .help(
            LEAD,
            Label::new(&[Char('B')], "bring the selected student to your step"),
        ),
    B::new(&[Char('X')], ConsoleAction::StopOne)
        .when(has_student)
        .help(
            LEAD,
            Label::new(&[Char('X')], "stop the selected student's training"),
        ),
    B::new(&[Char('l')], ConsoleAction::Lock)
        .when(unlocked)
        .hint(4, Label::new(&[Char('l')], "lock follow"))
        .help(LEAD, Label::new(&[Char('l')], "lock / unlock following")),
    B::new(&[Char('l')], ConsoleAction::Lock)
        .when(locked)
        .hint(4, Label::new(&[Char('l')], "unlock")),
    B::new(&[Char('m')], ConsoleAction::Message)
        .when(browsing)
        .hint(5, Label::new(&[Char('m')], "message"))
        .help(LEAD, Label::new(&[Char('m')], "message every student")),
    B::new(&[Char('M')], ConsoleAction::ClearMessage)
        .when(has_message)
        .hint(6, Label::new(&[Char('M')], "take down"))
        .help(LEAD, Label::new(&[Char('M')], "take the message down")),
    B::new(&[Char('v')], ConsoleAction::Look)
        .when(can_look)
        .hint(7, Label::new(&[Char('v')], "look"))
        .help(
            CLASS,
            Label::new(&[Char('v')], "look at a student's screen"),
        ),
    B::new(&[Char('e')], ConsoleAction::End)
        .when(has_student)
        .hint(8, Label::new(&[Char('e')], "end session"))
        .help(LEAD, Label::new(&[Char('e')], "end a student's session")),
    B::new(&[Char('E')], ConsoleAction::EndAll)
        .when(has_student)
        .help(
            LEAD,
            Label::new(&[Char('E')], "end every session of an address or name"),
        ),
    B::new(&[Char('x')], ConsoleAction::StopTrainings)
        .when(browsing)
        .hint(9, Label::new(&[Char('x')], "stop trainings"))
        .help(LEAD, Label::new(&[Char('x')], "stop every training")),
    B::new(&[Char('s')], ConsoleAction::Sort)
        .when(browsing)
        .hint(10, Label::new(&[Char('s')], "sort"))
        .help(
            CLASS,
            Label::new(&[Char('s')], "sort by name / lesson / idle"),
        ),
    B::new(&[Char('a')], ConsoleAction::Addresses)
        .when(browsing)
        .hint(11, Label::new(&[Char('a')], "addresses"))
        .help(CLASS, Label::new(&[Char('a')], "show addresses")),
    B::new(&[Char('r')], ConsoleAction::Report)
        .when(browsing)
        .hint(3, Label::new(&[Char('r')], "report"))
        .help(CLASS, Label::new(&[Char('r')], "write the class report")),
    B::new(&[Char('q'), Ctrl('c')], ConsoleAction::Quit)
        .when(browsing)
        .hint(1, Label::new(&[Char('q')], "quit"))
        .help(CLASS, Label::new(&[Char('q'), Ctrl('c')], "quit")),
];
