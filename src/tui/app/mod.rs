//! The router: a stack of screens ([`Component`]s: the menu at the bottom, then a lesson,
//! the training screen, the inspector, the help overlay on top) and the [`Context`] they
//! share. [`App::handle`] gives an event to the screen on top and carries out what it asks
//! (open a screen, go back, quit, open the help); it runs no effect itself: saving,
//! loading, reading images, probing devices, following the teacher and saving progress come
//! back as [`AppEffect`]s for the front end (the local terminal or an SSH session) to run,
//! handing outcomes back with [`App::done`]. Nothing here draws or touches the terminal or
//! the disk.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Frame;

use crate::lesson::Lesson;

use super::course::Course;
use super::event::AppEvent;
use super::help::HelpState;
use super::inspector::{InspectRequest, InspectorState};
use super::lesson_screen::LessonState;
use super::menu::MenuState;
use super::progress::Progress;
use super::screen::{Ask, Component, Context, Open};
use super::theme::Theme;
use super::training::{Done, Effect, TrainingState};
use super::view::{render_too_small, MIN_HEIGHT, MIN_WIDTH};

mod query;

/// Which screen asked for an effect (its outcome goes back to it with [`App::done`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenId(u64);

/// The router's own requests (the saved model read for the inspector).
const ROUTER: ScreenId = ScreenId(0);

/// What the front end is to do after an event.
#[derive(Debug)]
pub enum AppEffect {
    /// Something may look different: draw again.
    Redraw,
    /// Run this (reading or writing a file, probing the devices; blocking work) and hand
    /// its outcome back with [`App::done`].
    Run(ScreenId, Effect),
    /// The progress changed: save [`App::progress`] (a classroom session keeps none).
    SaveProgress,
    /// A classroom student started (`true`) or stopped following the teacher.
    Follow(bool),
    /// The app asked to end.
    Quit,
}

/// Which screen is showing (under the help overlay, if it is open), to look at.
#[derive(Debug)]
pub enum Screen<'a> {
    /// The lesson list.
    Menu,
    /// One lesson, stepping through its frames.
    Lesson(&'a LessonState),
    /// Training the real network (from the `train` lesson), and its results.
    Training(&'a TrainingState),
    /// Inside the trained network (from the training results or the architecture lesson).
    Inspector(&'a InspectorState),
    /// A screen the app's accessors do not know by name.
    Other,
}

/// One screen on the stack.
#[derive(Debug)]
struct Layer {
    id: ScreenId,
    screen: Box<dyn Component>,
}

/// The whole app: the screens and what they share.
#[derive(Debug)]
pub struct App {
    cx: Context,
    /// The screens, the menu first; the last one gets the keys.
    stack: Vec<Layer>,
    next_id: u64,
    quit: bool,
}

impl App {
    /// An app on the menu with these lessons and this progress.
    pub fn new(lessons: Vec<Lesson>, theme: Theme, progress: Progress) -> Self {
        let menu = MenuState::new(lessons.len());
        let mut app = App {
            cx: Context::new(Course::new(lessons, progress), theme),
            stack: Vec::new(),
            next_id: ROUTER.0 + 1,
            quit: false,
        };
        app.push(Box::new(menu));
        app
    }

    /// Apply one event: the screen on top takes it; what it asks is carried out, and what
    /// the front end must do comes back.
    pub fn handle(&mut self, event: AppEvent) -> Vec<AppEffect> {
        let mut out = Vec::new();
        match event {
            AppEvent::Resize(w, h) => {
                self.cx.size = (w, h);
                for layer in &mut self.stack {
                    layer.screen.on_resize(&self.cx);
                }
                out.push(AppEffect::Redraw);
            }
            AppEvent::Tick => {
                let i = self.screen_index();
                let covered = i + 1 < self.stack.len();
                if self.stack[i].screen.on_tick(covered, &mut self.cx) {
                    out.push(AppEffect::Redraw);
                }
            }
            AppEvent::Key(key) => {
                let top = self.stack.len() - 1;
                let asks = self.stack[top].screen.on_key(key, &mut self.cx);
                let id = self.stack[top].id;
                self.carry(id, asks, &mut out);
                out.push(AppEffect::Redraw);
            }
            AppEvent::Paste(text) => {
                // with no field open a paste does nothing (pasted text never acts as keys)
                let line = text.lines().next().unwrap_or("").trim();
                let i = self.screen_index();
                self.stack[i].screen.on_paste(line);
                out.push(AppEffect::Redraw);
            }
        }
        self.settle(&mut out);
        out
    }

    /// The outcome of an effect screen `id` asked for (one that has closed meanwhile does
    /// not hear of it).
    pub fn done(&mut self, id: ScreenId, done: Done) -> Vec<AppEffect> {
        let mut out = vec![AppEffect::Redraw];
        if id == ROUTER {
            self.saved_model_read(done);
        } else if let Some(layer) = self.stack.iter_mut().find(|l| l.id == id) {
            let asks = layer.screen.on_done(done, &mut self.cx);
            self.carry(id, asks, &mut out);
        }
        self.settle(&mut out);
        out
    }

    /// After an event: every screen sees the facts as they are now; changed progress is
    /// to be saved.
    fn settle(&mut self, out: &mut Vec<AppEffect>) {
        self.sync_facts();
        if self.cx.course.take_progress_changed() {
            out.push(AppEffect::SaveProgress);
        }
    }

    fn sync_facts(&mut self) {
        let facts = self.cx.facts();
        for layer in &mut self.stack {
            layer.screen.set_facts(facts);
        }
    }

    /// Carry out what screen `id` asked.
    fn carry(&mut self, id: ScreenId, asks: Vec<Ask>, out: &mut Vec<AppEffect>) {
        for ask in asks {
            match ask {
                Ask::Open(open) => self.open(open, out),
                Ask::Back => {
                    // the menu, at the bottom, never closes
                    if let Some(i) = self
                        .stack
                        .iter()
                        .position(|l| l.id == id)
                        .filter(|&i| i > 0)
                    {
                        self.stack.remove(i);
                    }
                }
                Ask::Quit => {
                    self.quit = true;
                    out.push(AppEffect::Quit);
                }
                Ask::Help(section) => {
                    let help = HelpState::at(section, &self.cx);
                    self.push(Box::new(help));
                }
                Ask::Follow => {
                    if let Some(on) = self.cx.follow {
                        self.cx.follow = Some(!on);
                        out.push(AppEffect::Follow(!on));
                    }
                }
                Ask::Run(effect) => out.push(AppEffect::Run(id, effect)),
            }
        }
    }

    fn new_id(&mut self) -> ScreenId {
        self.next_id += 1;
        ScreenId(self.next_id - 1)
    }

    /// Put a screen on top; its id.
    fn push(&mut self, mut screen: Box<dyn Component>) -> ScreenId {
        let id = self.new_id();
        screen.set_facts(self.cx.facts());
        self.stack.push(Layer { id, screen });
        id
    }

    fn open(&mut self, open: Open, out: &mut Vec<AppEffect>) {
        match open {
            Open::Lesson(index) => match LessonState::open(index, &mut self.cx) {
                Ok(state) => {
                    self.push(Box::new(state));
                }
                Err(why) => self.cx.notice = Some(why),
            },
            Open::Training { start, lab } => {
                if let Some(lab) = lab {
                    self.cx.prefs.settings = self.cx.prefs.settings.with_lab(&lab);
                }
                let (t, asks) = TrainingState::open(self.cx.prefs.clone(), start);
                self.cx.notice = None;
                let id = self.push(Box::new(t));
                self.carry(id, asks, out);
            }
            Open::Inspector(req) => self.open_inspector(*req),
            Open::LastModel => match self.cx.model.clone() {
                Some((net, classes)) => self.open_inspector(self.inspect_request(net, classes)),
                // read as the training screen's `L` reads it
                None => out.push(AppEffect::Run(ROUTER, Effect::Load)),
            },
            Open::Screen(screen) => {
                self.push(screen);
            }
        }
    }

    /// The inspector on `net`, a random shape first.
    fn inspect_request(&self, net: crate::nn::net::Net, classes: Vec<String>) -> InspectRequest {
        InspectRequest {
            net,
            classes,
            image: None,
            validation: Vec::new(),
            seed: self.cx.prefs.settings.seed,
            restricted: self.cx.prefs.restricted,
            history: None,
        }
    }

    /// The saved model file, read for the inspector.
    fn saved_model_read(&mut self, done: Done) {
        match done {
            Done::Loaded(_, net, meta) => {
                self.open_inspector(self.inspect_request(*net, meta.classes));
            }
            Done::NotLoaded(e) => self.cx.notice = Some(format!("cannot load: {e}")),
            Done::Refused(why) => self.cx.notice = Some(why.into()),
            _ => {}
        }
    }

    /// Open the inspector for `req`, above the screen showing now.
    pub fn open_inspector(&mut self, req: InspectRequest) {
        match InspectorState::new(req) {
            Ok(state) => {
                let explorer = state.explorer();
                self.cx.model = Some((explorer.net().clone(), explorer.classes().to_vec()));
                self.push(Box::new(state));
            }
            Err(e) => self.cx.notice = Some(format!("cannot inspect: {e}")),
        }
        self.sync_facts();
    }

    /// The topmost screen that is not an overlay (what [`App::screen`] names).
    fn screen_index(&self) -> usize {
        self.stack
            .iter()
            .rposition(|l| !l.screen.is_overlay())
            .unwrap_or(0)
    }

    fn top<T: Component>(&self) -> Option<&T> {
        self.stack[self.screen_index()]
            .screen
            .as_any()
            .downcast_ref::<T>()
    }

    fn top_mut<T: Component>(&mut self) -> Option<&mut T> {
        let i = self.screen_index();
        self.stack[i].screen.as_any_mut().downcast_mut::<T>()
    }

    fn menu_mut(&mut self) -> Option<&mut MenuState> {
        self.stack[0]
            .screen
            .as_any_mut()
            .downcast_mut::<MenuState>()
    }
}

/// Drawing: each screen draws itself, an overlay over the screen below it.
impl App {
    /// Draw the whole app into `area` of `buf`.
    pub fn draw(&self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            render_too_small(&self.cx.theme, area, buf);
            return;
        }
        for layer in &self.stack[self.screen_index()..] {
            layer.screen.draw(&self.cx, area, buf);
        }
        if self.cx.present {
            high_contrast(area, buf);
        }
    }
}

/// Presenter mode's high contrast, for a projector: what is drawn dim (grey text, the
/// faint modifier) is drawn in the terminal's full foreground colour, and the rest bold;
/// the colours that carry values (a cell's heat, a class's colour) stay as they are.
fn high_contrast(area: Rect, buf: &mut Buffer) {
    use ratatui::style::{Color, Modifier};
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let Some(cell) = buf.cell_mut((x, y)) else {
                continue;
            };
            if matches!(cell.fg, Color::DarkGray | Color::Gray | Color::Indexed(8)) {
                cell.fg = Color::Reset;
            }
            let mut m = cell.modifier;
            m.remove(Modifier::DIM);
            m.insert(Modifier::BOLD);
            cell.modifier = m;
        }
    }
}

/// Draw the whole app into `frame`. Rendering never changes what a key sees.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    app.draw(area, frame.buffer_mut());
}

/// Draw the whole app into a buffer region (what [`render`] does, for any buffer).
pub fn render_into(app: &App, area: Rect, buf: &mut Buffer) {
    app.draw(area, buf);
}

/// Draw the app into a fresh `width` x `height` buffer (tests, snapshots, previews).
pub fn render_to_buffer(app: &App, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    app.draw(area, &mut buf);
    buf
}
