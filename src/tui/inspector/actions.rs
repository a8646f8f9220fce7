//! The inspector's keys, written once: one [`Action`] enum and one table, [`TABLE`], of
//! the app's shared [`Binding`] type, which drives the key handling ([`action_for`]), the
//! hint line and the `?` overlay.

use super::super::event::Key;
use super::super::keys::{self, Binding, KeySpec, Label};
use super::state::{Focus, InspectorState, View};

/// Everything a key can do on the inspector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Quit the app.
    Quit,
    /// The help overlay.
    Help,
    /// Back to where the inspector was opened from.
    Back,
    /// Maps: put the cursor on the large map's cells.
    Enter,
    /// Cells or drawing: back to choosing maps.
    Leave,
    /// Maps: the stage before.
    PrevStage,
    /// Maps: the stage after.
    NextStage,
    /// Maps: the map (channel) before.
    PrevMap,
    /// Maps: the map (channel) after.
    NextMap,
    /// Cells: the cursor up one cell.
    Up,
    /// Cells: down one.
    Down,
    /// Cells: left one.
    Left,
    /// Cells: right one.
    Right,
    /// Cells: up eight.
    FarUp,
    /// Cells: down eight.
    FarDown,
    /// Cells: left eight.
    FarLeft,
    /// Cells: right eight.
    FarRight,
    /// Conv cells: the input channel before (whose products are written out); the
    /// decision: the class before.
    PrevInput,
    /// Conv cells: the next input channel; the decision: the next class.
    NextInput,
    /// Narrow terminals: show the layer's input (with the window) or the map.
    ToggleInput,
    /// The explanation: scroll up.
    ScrollUp,
    /// The explanation: scroll down.
    ScrollDown,
    /// Another image: a fresh random shape.
    NewShape,
    /// Another image: the next validation image.
    NextValidation,
    /// Another image: the previous validation image.
    PrevValidation,
    /// Another image: type the path of a file.
    OpenFile,
    /// Draw an image (starting from the one shown).
    Draw,
    /// Drawing: the pen up.
    PenUp,
    /// Drawing: the pen down.
    PenDown,
    /// Drawing: the pen left.
    PenLeft,
    /// Drawing: the pen right.
    PenRight,
    /// Drawing: paint the cell under the pen.
    Paint,
    /// Drawing: paint while moving, or stop.
    PenToggle,
    /// Drawing: the next colour.
    NextColor,
    /// Drawing: clear to white.
    ClearDrawing,
    /// The why view (the image with its attribution map) on or off.
    Why,
    /// Why view: the next method.
    WhyMethod,
    /// Why view: the next class.
    WhyClass,
    /// Why view: an untrained network's map, or back.
    WhyUntrained,
    /// How the first layer's filters grew through the run.
    Growth,
    /// Growth: the epoch before.
    PrevEpoch,
    /// Growth: the epoch after.
    NextEpoch,
    /// Growth: the filter before.
    PrevFilter,
    /// Growth: the filter after.
    NextFilter,
}

type B = Binding<Action, InspectorState>;

use KeySpec::{Arrows, Char, Ctrl};

use crate::tui::keys::{DOWN, ENTER, ESC, LEFT, PGDN, PGUP, RIGHT, TAB, UP};

/// Help sections.
const MAPS: &str = "Inspector: maps and stages";
const CELLS: &str = "Inspector: one cell";
const IMAGES: &str = "Inspector: the image";
const DRAWING: &str = "Inspector: drawing";
const GROWTH: &str = "Inspector: how the filters grew";

/// Choosing maps and stages (the why view, while on, hides them: their keys rest).
fn maps(s: &InspectorState) -> bool {
    s.focus == Focus::Maps && !s.why_on
}

fn maps_not_why(s: &InspectorState) -> bool {
    maps(s)
}

fn cells(s: &InspectorState) -> bool {
    s.focus == Focus::Cell && !s.why_on
}

/// Maps or cells shown (not the why view).
fn shown(s: &InspectorState) -> bool {
    maps_or_cells(s) && !s.why_on
}

fn drawing(s: &InspectorState) -> bool {
    s.focus == Focus::Draw
}

fn not_drawing(s: &InspectorState) -> bool {
    s.focus != Focus::Draw
}

fn growth(s: &InspectorState) -> bool {
    s.focus == Focus::Growth
}

fn maps_or_cells(s: &InspectorState) -> bool {
    matches!(s.focus, Focus::Maps | Focus::Cell)
}

fn conv_cell(s: &InspectorState) -> bool {
    s.on_conv() && s.focus != Focus::Draw && !s.why_on
}

fn decision(s: &InspectorState) -> bool {
    s.current() == View::Decision && s.focus != Focus::Draw && !s.why_on
}

fn has_input(s: &InspectorState) -> bool {
    s.focus != Focus::Draw && s.on_layer() && !s.why_on
}

fn has_validation(s: &InspectorState) -> bool {
    maps_or_cells(s) && s.has_validation()
}

fn why_on(s: &InspectorState) -> bool {
    maps_or_cells(s) && s.why_on
}

fn may_open(s: &InspectorState) -> bool {
    s.may_open_files()
}

/// Every key of the inspector. A key does what the first binding that matches and
/// applies says; hints are ordered by their number.
pub const TABLE: &[B] = &[
    B::new(&[Ctrl('c')], Action::Quit),
    // how the filters grew (first: its keys go before the maps' and cells')
    B::new(&[Char('[')], Action::PrevEpoch)
        .when(growth)
        .hint(0, Label::new(&[Char('['), Char(']')], "epoch").sep("/"))
        .help(
            GROWTH,
            Label::new(&[Char('['), Char(']')], "the epoch before, after").sep("/"),
        ),
    B::new(&[Char(']')], Action::NextEpoch).when(growth),
    B::new(&[LEFT, Char('h')], Action::PrevFilter)
        .when(growth)
        .hint(1, Label::new(&[LEFT, RIGHT], "filter").sep("/"))
        .help(
            GROWTH,
            Label::new(&[LEFT, RIGHT], "the filter before, after").sep("/"),
        ),
    B::new(&[RIGHT, Char('l')], Action::NextFilter).when(growth),
    B::new(&[ESC, Char('g')], Action::Leave)
        .when(growth)
        .hint(3, Label::new(&[ESC], "maps"))
        .help(
            GROWTH,
            Label::new(&[ESC, Char('g')], "back to the maps").sep("/"),
        ),
    // why: the attribution maps
    B::new(&[Char('y')], Action::Why)
        .when(maps_or_cells)
        .hint(2, Label::new(&[Char('y')], "why?"))
        .help(MAPS, Label::new(&[Char('y')], "why? (attribution maps)")),
    B::new(&[Char('m')], Action::WhyMethod)
        .when(why_on)
        .hint(0, Label::new(&[Char('m')], "method"))
        .help(
            MAPS,
            Label::new(
                &[Char('m'), Char('c'), Char('u')],
                "why: method, class, untrained",
            ),
        ),
    B::new(&[Char('c')], Action::WhyClass)
        .when(why_on)
        .hint(0, Label::new(&[Char('c')], "class")),
    B::new(&[Char('u')], Action::WhyUntrained)
        .when(why_on)
        .hint(0, Label::new(&[Char('u')], "untrained")),
    B::new(&[ESC], Action::Why)
        .when(why_on)
        .hint(0, Label::new(&[ESC], "close why")),
    // choosing maps and stages
    B::new(&[UP, Char('k')], Action::PrevStage)
        .when(maps)
        .hint(0, Label::new(&[Arrows], "map, stage"))
        .help(
            MAPS,
            Label::new(&[UP, DOWN], "the stage before, after").sep("/"),
        ),
    B::new(&[DOWN, Char('j')], Action::NextStage).when(maps),
    B::new(&[LEFT, Char('h')], Action::PrevMap).when(maps).help(
        MAPS,
        Label::new(&[LEFT, RIGHT], "the map before, after").sep("/"),
    ),
    B::new(&[RIGHT, Char('l')], Action::NextMap).when(maps),
    B::new(&[ENTER], Action::Enter)
        .when(maps)
        .hint(1, Label::new(&[ENTER], "cells"))
        .help(MAPS, Label::new(&[ENTER], "a cursor on the map's cells")),
    // one cell
    B::new(&[UP, Char('k')], Action::Up)
        .when(cells)
        .hint(0, Label::new(&[Arrows], "move"))
        .help(CELLS, Label::new(&[Arrows], "move the cursor")),
    B::new(&[DOWN, Char('j')], Action::Down).when(cells),
    B::new(&[LEFT, Char('h')], Action::Left).when(cells),
    B::new(&[RIGHT, Char('l')], Action::Right).when(cells),
    B::new(&[Char('K')], Action::FarUp).when(cells).help(
        CELLS,
        Label::new(
            &[Char('H'), Char('J'), Char('K'), Char('L')],
            "move 8 cells",
        ),
    ),
    B::new(&[Char('J')], Action::FarDown).when(cells),
    B::new(&[Char('H')], Action::FarLeft).when(cells),
    B::new(&[Char('L')], Action::FarRight).when(cells),
    B::new(&[Char('[')], Action::PrevInput)
        .when(conv_cell)
        .hint_if(
            1,
            Label::new(&[Char('['), Char(']')], "input channel").sep("/"),
            cells,
        )
        .help(
            CELLS,
            Label::new(
                &[Char('['), Char(']')],
                "conv: the input channel written out",
            )
            .sep("/"),
        ),
    B::new(&[Char(']')], Action::NextInput).when(conv_cell),
    B::new(&[Char('[')], Action::PrevInput)
        .when(decision)
        .hint(1, Label::new(&[Char('['), Char(']')], "class").sep("/"))
        .help(
            CELLS,
            Label::new(&[Char('['), Char(']')], "fc: the class explained").sep("/"),
        ),
    B::new(&[Char(']')], Action::NextInput).when(decision),
    B::new(&[TAB], Action::ToggleInput)
        .when(has_input)
        .hint_if(3, Label::new(&[TAB], "input/map"), cells)
        .help(
            CELLS,
            Label::new(&[TAB], "show the layer's input or the map"),
        ),
    B::new(&[PGUP], Action::ScrollUp).when(shown).help(
        CELLS,
        Label::new(&[PGUP, PGDN], "scroll the explanation").sep("/"),
    ),
    B::new(&[PGDN], Action::ScrollDown).when(shown),
    B::new(&[ESC], Action::Leave)
        .when(cells)
        .hint(3, Label::new(&[ESC], "maps"))
        .help(CELLS, Label::new(&[ESC], "back to choosing maps")),
    // the image
    B::new(&[Char('n')], Action::NewShape)
        .when(maps_or_cells)
        .hint(4, Label::new(&[Char('n')], "shape"))
        .help(IMAGES, Label::new(&[Char('n')], "a new random shape")),
    B::new(&[Char('v')], Action::NextValidation)
        .when(has_validation)
        .hint(5, Label::new(&[Char('v')], "validation"))
        .help(
            IMAGES,
            Label::new(
                &[Char('v'), Char('V')],
                "the next, previous validation image",
            )
            .sep("/"),
        ),
    B::new(&[Char('V')], Action::PrevValidation).when(has_validation),
    B::new(&[Char('o')], Action::OpenFile)
        .when(maps_or_cells)
        .hint_if(6, Label::new(&[Char('o')], "file"), may_open)
        .help(IMAGES, Label::new(&[Char('o')], "an image file (its path)")),
    B::new(&[Char('g')], Action::Growth)
        .when(maps_or_cells)
        .hint(8, Label::new(&[Char('g')], "filters grew"))
        .help(GROWTH, Label::new(&[Char('g')], "how the filters grew")),
    B::new(&[Char('d')], Action::Draw)
        .when(shown)
        .hint(7, Label::new(&[Char('d')], "draw"))
        .help(IMAGES, Label::new(&[Char('d')], "draw an image")),
    // drawing
    B::new(&[UP, Char('k')], Action::PenUp)
        .when(drawing)
        .hint(0, Label::new(&[Arrows], "pen"))
        .help(DRAWING, Label::new(&[Arrows], "move the pen")),
    B::new(&[DOWN, Char('j')], Action::PenDown).when(drawing),
    B::new(&[LEFT, Char('h')], Action::PenLeft).when(drawing),
    B::new(&[RIGHT, Char('l')], Action::PenRight).when(drawing),
    B::new(&[Char(' ')], Action::Paint)
        .when(drawing)
        .hint(1, Label::new(&[Char(' ')], "paint"))
        .help(DRAWING, Label::new(&[Char(' ')], "paint the cell")),
    B::new(&[Char('p')], Action::PenToggle)
        .when(drawing)
        .hint(2, Label::new(&[Char('p')], "pen down/up"))
        .help(
            DRAWING,
            Label::new(&[Char('p')], "paint while moving, or stop"),
        ),
    B::new(&[Char('c')], Action::NextColor)
        .when(drawing)
        .hint(3, Label::new(&[Char('c')], "colour"))
        .help(DRAWING, Label::new(&[Char('c')], "the next colour")),
    B::new(&[Char('x')], Action::ClearDrawing)
        .when(drawing)
        .hint(4, Label::new(&[Char('x')], "clear"))
        .help(DRAWING, Label::new(&[Char('x')], "clear to white")),
    B::new(&[ESC, ENTER], Action::Leave)
        .when(drawing)
        .hint(5, Label::new(&[ESC], "done"))
        .help(DRAWING, Label::new(&[ESC, ENTER], "stop drawing").sep("/")),
    // everywhere
    B::new(&[Char('?')], Action::Help)
        .hint(2, Label::new(&[Char('?')], "help"))
        .help(MAPS, Label::new(&[Char('?')], "this help")),
    B::new(&[ESC], Action::Back)
        .when(maps_not_why)
        .hint(8, Label::new(&[ESC], "back"))
        .help(MAPS, Label::new(&[ESC], "back to where it opened")),
    B::new(&[Char('q')], Action::Quit)
        .when(not_drawing)
        .hint(9, Label::new(&[Char('q')], "quit"))
        .help(MAPS, Label::new(&[Char('q')], "quit")),
];

/// What `key` does on the inspector as it is now, if anything.
pub fn action_for(st: &InspectorState, key: Key) -> Option<Action> {
    keys::action_for(TABLE, st, key)
}
