//! The inspector's state: one image through the trained net ([`Explorer`]), which map and
//! cell the learner looks at, and the explanation of that cell, computed by the engine
//! when the cursor moves (the view only formats it).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{self, Shape};
use crate::explore::{ActCell, ConvCell, Explorer, LinearCell, NormCell, PoolCell, StageKind};
use crate::nn::net::{Net, IMAGE_SIDE, IN_LEN};

use super::super::event::Key;
use super::super::path_input::{PathInput, PathKey};
use super::super::training::{Done, Effect};
use super::actions::{self, Action};

/// What the inspector is asked to show when it opens.
#[derive(Debug, Clone)]
pub struct InspectRequest {
    /// The model.
    pub net: Net,
    /// Its class names.
    pub classes: Vec<String>,
    /// The first image: what it is ("validation image 3", "a random circle") and its
    /// 3x128x128 CHW pixels.
    pub image: Option<(String, Vec<u8>)>,
    /// Validation images to step through (`v`), the same form.
    pub validation: Vec<(String, Vec<u8>)>,
    /// Seeds the random shapes (`n`).
    pub seed: u64,
    /// A classroom session: opening a file by its path is refused.
    pub restricted: bool,
    /// The run's snapshots of the first convolution (`g`; `None`: not from a run, or
    /// a network without one).
    pub history: Option<std::sync::Arc<crate::train::growth::FilterHistory>>,
}

/// One column of the overview: a stage of the forward pass (an index into
/// [`Explorer::stages`]), or the decision (the last linear layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// A stage's maps.
    Stage(usize),
    /// The last linear layer: scores, softmax, and where they came from.
    Decision,
}

/// What the arrows move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Between maps (left/right) and stages (up/down).
    Maps,
    /// The cursor on the large map's cells.
    Cell,
    /// The pen on the drawing grid.
    Draw,
    /// How the first layer's filters grew through the run (`g`, epochs with `[`/`]`).
    Growth,
}

/// How the cell under the cursor was computed (from [`Explorer`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Explain {
    /// An input cell: the normalised value and the pixel it came from.
    Input {
        channel: usize,
        row: usize,
        col: usize,
        value: f32,
        pixel: u8,
    },
    /// A conv output cell: its products and bias.
    Conv(ConvCell),
    /// A pooled cell: its 2x2 window and winner.
    Pool(PoolCell),
    /// An activation cell: before and after.
    Act { stage: usize, cell: ActCell },
    /// A batch norm cell.
    Norm { stage: usize, cell: NormCell },
    /// A hidden linear layer's value.
    Linear {
        stage: usize,
        index: usize,
        cell: LinearCell,
    },
    /// The decision for one class, at one cell of one channel's map of what feeds it.
    Decision {
        class: usize,
        channel: usize,
        row: usize,
        col: usize,
        /// fc weight there, the activation there, their product (the map's value).
        weight: f32,
        activation: f32,
        product: f32,
        /// The class's channels, largest total first.
        ranked: Vec<(usize, f64)>,
        /// bias + every channel total.
        sum: f64,
    },
}

/// The side of the drawing grid (cells), scaled up to 128x128.
pub const DRAW_SIDE: usize = 32;

/// Colours of the pen, the first being the background (white, as the shapes').
pub const PALETTE: [(&str, [u8; 3]); 6] = [
    ("white", [255, 255, 255]),
    ("black", [0, 0, 0]),
    ("red", [220, 40, 40]),
    ("green", [40, 170, 60]),
    ("blue", [40, 70, 220]),
    ("yellow", [235, 200, 30]),
];

/// A drawing in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawing {
    /// RGB, row-major, [`DRAW_SIDE`] x [`DRAW_SIDE`].
    pub rgb: Vec<u8>,
    /// The pen (row, col).
    pub pen: (usize, usize),
    /// Index into [`PALETTE`].
    pub color: usize,
    /// Moving paints.
    pub down: bool,
}

impl Drawing {
    /// A drawing of the image `chw` (3x128x128), each grid cell the average of its block.
    pub fn of_image(chw: &[u8]) -> Drawing {
        let k = IMAGE_SIDE / DRAW_SIDE;
        let plane = IMAGE_SIDE * IMAGE_SIDE;
        let mut rgb = Vec::with_capacity(DRAW_SIDE * DRAW_SIDE * 3);
        for gy in 0..DRAW_SIDE {
            for gx in 0..DRAW_SIDE {
                for c in 0..3 {
                    let mut sum = 0u32;
                    for y in gy * k..(gy + 1) * k {
                        for x in gx * k..(gx + 1) * k {
                            sum += u32::from(
                                chw.get(c * plane + y * IMAGE_SIDE + x)
                                    .copied()
                                    .unwrap_or(255),
                            );
                        }
                    }
                    rgb.push(u8::try_from(sum / (k * k) as u32).unwrap_or(255));
                }
            }
        }
        Drawing {
            rgb,
            pen: (DRAW_SIDE / 2, DRAW_SIDE / 2),
            color: 1,
            down: false,
        }
    }

    /// Paint the cell under the pen. True when it changed.
    pub fn paint(&mut self) -> bool {
        let (r, c) = self.pen;
        let i = (r * DRAW_SIDE + c) * 3;
        let rgb = PALETTE[self.color].1;
        if self.rgb[i..i + 3] == rgb {
            return false;
        }
        self.rgb[i..i + 3].copy_from_slice(&rgb);
        true
    }

    /// The drawing scaled to 3x128x128 CHW pixels (each cell a 4x4 block).
    pub fn to_chw(&self) -> Vec<u8> {
        let k = IMAGE_SIDE / DRAW_SIDE;
        let plane = IMAGE_SIDE * IMAGE_SIDE;
        let mut chw = vec![0u8; IN_LEN];
        for y in 0..IMAGE_SIDE {
            for x in 0..IMAGE_SIDE {
                let i = ((y / k) * DRAW_SIDE + x / k) * 3;
                for c in 0..3 {
                    chw[c * plane + y * IMAGE_SIDE + x] = self.rgb[i + c];
                }
            }
        }
        chw
    }
}

/// What the app does after a key on the inspector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The inspector handled it.
    Stay,
    /// Back to where it was opened from.
    Back,
    /// Quit the app.
    Quit,
    /// Open the help overlay.
    Help,
}

/// The whole inspector screen.
#[derive(Debug)]
pub struct InspectorState {
    explorer: Explorer,
    /// What the image is (escaped).
    pub what: String,
    /// The image, 3x128x128 CHW.
    pixels: Vec<u8>,
    /// Every view, in the order of the forward pass (the stages, then the decision).
    views: Vec<View>,
    /// Index into the views.
    pub view: usize,
    /// The map shown large: a channel of the stage; on the decision, a channel of what
    /// feeds it.
    pub channel: usize,
    /// The cursor (row, column) in the large map.
    pub cell: (usize, usize),
    /// What the arrows move.
    pub focus: Focus,
    /// Conv cells: the input channel whose products are written out (`None`: the one
    /// whose subtotal is largest).
    pub input_channel: Option<usize>,
    /// The decision: the class explained.
    pub class: usize,
    /// In narrow terminals: the large area shows the layer's input (with the window)
    /// instead of the map.
    pub show_input: bool,
    /// First line of the explanation shown.
    pub scroll: u16,
    /// The explanation of the cell under the cursor.
    pub explain: Explain,
    /// A path being typed (`o`).
    pub path_input: Option<PathInput>,
    /// The drawing, while drawing.
    pub drawing: Option<Drawing>,
    /// A one-line message.
    pub notice: Option<String>,
    /// The list of keys shows (`?`; any key closes it).
    pub help: bool,
    /// Microseconds the last forward pass took (shown while drawing).
    pub last_pass_us: u128,
    /// The why view is on (`y`): the image with an attribution map.
    pub why_on: bool,
    /// Its method, class and sanity check.
    pub why: crate::tui::why_view::WhyChoice,
    /// The map shown (computed when asked for).
    pub why_map: Option<crate::why::Attribution>,
    validation: Vec<(String, Vec<u8>)>,
    /// Index into the validation images of the one shown (when one is).
    val_at: Option<usize>,
    rng: ChaCha8Rng,
    restricted: bool,
    /// The run's filter history (see [`InspectRequest::history`]).
    pub(super) history: Option<std::sync::Arc<crate::train::growth::FilterHistory>>,
    /// The filters through the epochs, while shown (`g`).
    pub growth: Option<crate::tui::training::Filters>,
}

impl InspectorState {
    /// The inspector for `req`: its image (else the first validation image, else a random
    /// shape) through its net, one forward pass. It opens on conv1's first map, the cursor
    /// on its strongest cell.
    pub fn new(req: InspectRequest) -> crate::Result<InspectorState> {
        let InspectRequest {
            net,
            classes,
            image,
            validation,
            seed,
            restricted,
            history,
        } = req;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1a5e_c7ed);
        let val_at = (image.is_none() && !validation.is_empty()).then_some(0);
        let (what, pixels) = match (image, val_at) {
            (Some(img), _) => img,
            (None, Some(i)) => validation[i].clone(),
            (None, None) => random_shape(&mut rng),
        };
        let explorer = Explorer::from_pixels(net, classes, &pixels)?;
        let views = (0..explorer.stages().len())
            .map(View::Stage)
            .chain(std::iter::once(View::Decision))
            .collect();
        let mut s = InspectorState {
            explorer,
            views,
            what: crate::text::escaped(&what).into_owned(),
            pixels,
            view: 1,
            channel: 0,
            cell: (0, 0),
            focus: Focus::Maps,
            input_channel: None,
            class: 0,
            show_input: false,
            scroll: 0,
            explain: Explain::Input {
                channel: 0,
                row: 0,
                col: 0,
                value: 0.0,
                pixel: 0,
            },
            path_input: None,
            drawing: None,
            notice: None,
            help: false,
            last_pass_us: 0,
            why_on: false,
            why: Default::default(),
            why_map: None,
            validation,
            val_at,
            rng,
            restricted,
            history,
            growth: None,
        };
        s.class = s.explorer.decision().predicted();
        s.cursor_to_strongest();
        s.refresh();
        Ok(s)
    }

    /// The explorer of the image shown.
    pub fn explorer(&self) -> &Explorer {
        &self.explorer
    }

    /// Validation image `i` of those given, 3x128x128 CHW pixels.
    pub(super) fn validation_image(&self, i: usize) -> Option<&[u8]> {
        self.validation.get(i).map(|(_, p)| p.as_slice())
    }

    /// The image shown, 3x128x128 CHW pixels.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Every view, in order.
    pub fn views(&self) -> &[View] {
        &self.views
    }

    /// The view shown.
    pub fn current(&self) -> View {
        self.views[self.view.min(self.views.len() - 1)]
    }

    /// A view's name as the overview writes it (`conv1`, ..., `fc` for the decision).
    pub fn view_name(&self, v: View) -> String {
        match v {
            View::Stage(s) => self.explorer.stages()[s].name.clone(),
            View::Decision => "fc".into(),
        }
    }

    /// The current view is a layer's output (not the image, not the decision).
    pub fn on_layer(&self) -> bool {
        matches!(self.current(), View::Stage(s) if s > 0)
    }

    /// Maps in the current view (channels; on the decision, those of what feeds it).
    pub fn maps(&self) -> usize {
        match self.current() {
            View::Stage(s) => self.explorer.map(s).dim().0,
            View::Decision => self.explorer.decision().channels,
        }
    }

    /// Rows and columns of the current view's maps.
    pub fn dims(&self) -> (usize, usize) {
        match self.current() {
            View::Stage(s) => {
                let (_, h, w) = self.explorer.map(s).dim();
                (h, w)
            }
            View::Decision => self.explorer.decision().side,
        }
    }

    /// Side of the current view's maps (their rows).
    pub fn side(&self) -> usize {
        self.dims().0
    }

    /// Opening a file by its path is allowed here (not in a classroom).
    pub fn may_open_files(&self) -> bool {
        !self.restricted
    }

    /// There are validation images to step through.
    pub fn has_validation(&self) -> bool {
        !self.validation.is_empty()
    }

    /// Whether the cursor's stage has products to choose an input channel among.
    pub fn on_conv(&self) -> bool {
        matches!(self.explain, Explain::Conv(_))
    }

    /// The input channel whose products are written out.
    pub fn chosen_input(&self) -> Option<usize> {
        match &self.explain {
            Explain::Conv(cell) => Some(
                self.input_channel
                    .filter(|&c| c < cell.inputs.len())
                    .unwrap_or_else(|| cell.strongest_input()),
            ),
            _ => None,
        }
    }

    /// Put the cursor on the strongest cell of the current map (conv stages), else keep it.
    fn cursor_to_strongest(&mut self) {
        if let View::Stage(s) = self.current() {
            if matches!(self.explorer.stages()[s].kind, StageKind::Conv { .. }) {
                if let Ok(cell) = self.explorer.strongest_cell(s, self.channel) {
                    self.cell = cell;
                }
            }
        }
    }

    /// Compute the explanation of the cell under the cursor again.
    pub fn refresh(&mut self) {
        let (h, w) = self.dims();
        self.channel = self.channel.min(self.maps() - 1);
        self.cell = (self.cell.0.min(h - 1), self.cell.1.min(w - 1));
        let (ch, (r, c)) = (self.channel, self.cell);
        let e = &self.explorer;
        let explain = match self.current() {
            View::Stage(0) => {
                let [_, ih, iw] = e.stages()[0].shape;
                Some(Explain::Input {
                    channel: ch,
                    row: r,
                    col: c,
                    value: e.map(0)[[ch, r, c]],
                    pixel: self
                        .pixels
                        .get(ch * ih * iw + r * iw + c)
                        .copied()
                        .unwrap_or(0),
                })
            }
            View::Stage(stage) => match e.stages()[stage].kind {
                StageKind::Conv { .. } => e.conv_cell(stage, ch, r, c).ok().map(Explain::Conv),
                StageKind::Pool { .. } => e.pool_cell(stage, ch, r, c).ok().map(Explain::Pool),
                StageKind::Act(_) => e
                    .act_cell(stage, ch, r, c)
                    .ok()
                    .map(|cell| Explain::Act { stage, cell }),
                StageKind::Norm => e
                    .norm_cell(stage, ch, r, c)
                    .ok()
                    .map(|cell| Explain::Norm { stage, cell }),
                StageKind::Linear => e.linear_cell(stage, ch).ok().map(|cell| Explain::Linear {
                    stage,
                    index: ch,
                    cell,
                }),
                StageKind::Input => None,
            },
            View::Decision => {
                let d = e.decision();
                let class = self.class.min(d.scores.len().saturating_sub(1));
                Some(Explain::Decision {
                    class,
                    channel: ch,
                    row: r,
                    col: c,
                    weight: d.weight(class, ch, r, c),
                    activation: e.map(d.source)[[ch, r, c]],
                    product: d.map(class, ch)[[r, c]],
                    ranked: d.ranked_channels(class),
                    sum: d.sum(class),
                })
            }
        };
        if let Some(x) = explain {
            self.explain = x;
        }
    }

    /// Show another view (stage), the cursor kept at the same place of the picture.
    fn go_view(&mut self, view: usize) {
        let view = view.min(self.views.len() - 1);
        if view == self.view {
            return;
        }
        let old = self.dims();
        self.view = view;
        let new = self.dims();
        self.cell = (
            self.cell.0 * new.0 / old.0.max(1),
            self.cell.1 * new.1 / old.1.max(1),
        );
        self.channel = self.channel.min(self.maps() - 1);
        self.input_channel = None;
        self.scroll = 0;
        self.refresh();
    }

    fn move_cell(&mut self, down: isize, right: isize) {
        let (h, w) = self.dims();
        let (r, c) = self.cell;
        self.cell = (
            r.saturating_add_signed(down).min(h - 1),
            c.saturating_add_signed(right).min(w - 1),
        );
        self.refresh();
    }

    fn move_pen(&mut self, down: isize, right: isize) {
        let Some(d) = self.drawing.as_mut() else {
            return;
        };
        let last = DRAW_SIDE - 1;
        d.pen = (
            d.pen.0.saturating_add_signed(down).min(last),
            d.pen.1.saturating_add_signed(right).min(last),
        );
        if d.down && d.paint() {
            self.redraw();
        }
    }

    /// Run the drawing through the net again.
    fn redraw(&mut self) {
        if let Some(d) = &self.drawing {
            let chw = d.to_chw();
            self.set_image("your drawing".into(), chw);
            self.val_at = None;
        }
    }

    /// Show another image: one forward pass, the cursor where it was.
    pub fn set_image(&mut self, what: String, pixels: Vec<u8>) {
        let start = std::time::Instant::now();
        let net = self.explorer.net().clone();
        let classes = self.explorer.classes().to_vec();
        match Explorer::from_pixels(net, classes, &pixels) {
            Ok(e) => {
                self.explorer = e;
                self.pixels = pixels;
                self.what = crate::text::escaped(&what).into_owned();
                self.last_pass_us = start.elapsed().as_micros();
                self.refresh();
                self.refresh_why();
            }
            Err(e) => self.notice = Some(format!("cannot run the image: {e}")),
        }
    }

    /// Handle a key: what the app does next and the effects it is to run (reading a file).
    pub fn key(&mut self, key: Key) -> (Outcome, Vec<Effect>) {
        let mut effects = Vec::new();
        if self.help && !key.ctrl {
            self.help = false;
            return (Outcome::Stay, effects);
        }
        if !key.is_ctrl_c() {
            if let Some(input) = self.path_input.as_mut() {
                match input.key(key) {
                    PathKey::Editing => {}
                    PathKey::Cancelled => self.path_input = None,
                    PathKey::Complete { text, dirs_only } => {
                        effects.push(Effect::Complete { text, dirs_only });
                    }
                    PathKey::Submitted(path) => {
                        self.path_input = None;
                        effects.push(Effect::ReadImage(path));
                    }
                }
                return (Outcome::Stay, effects);
            }
        }
        let outcome = match actions::action_for(self, key) {
            Some(a) => self.act(a, &mut effects),
            None => Outcome::Stay,
        };
        (outcome, effects)
    }

    /// True while the path box is open.
    pub fn path_box_open(&self) -> bool {
        self.path_input.is_some()
    }

    /// Pasted text: the path box takes what fits, when it is open.
    pub fn paste(&mut self, line: &str) {
        if let Some(input) = self.path_input.as_mut() {
            input.paste(line);
        }
    }

    /// Do `action`.
    /// Compute the why view's map for the image shown, when the view is on.
    pub fn refresh_why(&mut self) {
        if !self.why_on {
            return;
        }
        match self.why.compute(self.explorer.net(), &self.pixels) {
            Ok(a) => self.why_map = Some(a),
            Err(e) => {
                self.why_map = None;
                self.notice = Some(e);
            }
        }
    }

    /// The why view's keys: on or off, the next method, the next class, the untrained
    /// network; the map is computed again.
    fn act_why(&mut self, action: Action) {
        match action {
            Action::Why => self.why_on = !self.why_on,
            Action::WhyMethod => self.why.next_method(),
            Action::WhyClass => {
                let shown = self.why_map.as_ref().map_or(0, |a| a.class);
                self.why.next_class(shown, self.explorer.classes().len());
            }
            _ => self.why.untrained = !self.why.untrained,
        }
        self.refresh_why();
    }

    pub fn act(&mut self, action: Action, effects: &mut Vec<Effect>) -> Outcome {
        self.notice = None;
        match action {
            Action::Why | Action::WhyMethod | Action::WhyClass | Action::WhyUntrained => {
                self.act_why(action);
            }
            Action::Quit => return Outcome::Quit,
            Action::Help => self.help = true,
            Action::Back => return Outcome::Back,
            Action::Enter => {
                self.focus = Focus::Cell;
            }
            Action::Leave => {
                if self.drawing.is_some() {
                    self.drawing = None;
                }
                self.growth = None;
                self.focus = Focus::Maps;
            }
            Action::Growth => self.open_growth(),
            Action::PrevEpoch | Action::NextEpoch => {
                let net = self.explorer.net();
                if let Some(g) = &mut self.growth {
                    g.step_epoch(action == Action::NextEpoch, net);
                }
            }
            Action::PrevFilter | Action::NextFilter => {
                if let Some(g) = &mut self.growth {
                    g.step(action == Action::NextFilter);
                }
            }
            Action::PrevStage => self.go_view(self.view.saturating_sub(1)),
            Action::NextStage => self.go_view(self.view + 1),
            Action::PrevMap | Action::NextMap => {
                let n = self.maps();
                self.channel = if action == Action::NextMap {
                    (self.channel + 1) % n
                } else {
                    (self.channel + n - 1) % n
                };
                self.input_channel = None;
                self.cursor_to_strongest();
                self.refresh();
            }
            Action::Up => self.move_cell(-1, 0),
            Action::Down => self.move_cell(1, 0),
            Action::Left => self.move_cell(0, -1),
            Action::Right => self.move_cell(0, 1),
            Action::FarUp => self.move_cell(-8, 0),
            Action::FarDown => self.move_cell(8, 0),
            Action::FarLeft => self.move_cell(0, -8),
            Action::FarRight => self.move_cell(0, 8),
            Action::PrevInput | Action::NextInput => self.step_input(action == Action::NextInput),
            Action::ToggleInput => self.show_input = !self.show_input,
            Action::ScrollUp => self.scroll = self.scroll.saturating_sub(5),
            Action::ScrollDown => self.scroll = self.scroll.saturating_add(5).min(200),
            Action::NewShape => {
                let (what, chw) = random_shape(&mut self.rng);
                self.drawing = None;
                self.val_at = None;
                self.set_image(what, chw);
            }
            Action::NextValidation | Action::PrevValidation => {
                self.step_validation(action == Action::NextValidation);
            }
            Action::OpenFile => {
                if self.restricted {
                    self.notice = Some(super::super::training::RESTRICTED.into());
                } else {
                    self.path_input = Some(PathInput::new("image file", "open", "", false));
                }
            }
            Action::Draw => {
                self.drawing = Some(Drawing::of_image(&self.pixels));
                self.focus = Focus::Draw;
            }
            Action::PenUp => self.move_pen(-1, 0),
            Action::PenDown => self.move_pen(1, 0),
            Action::PenLeft => self.move_pen(0, -1),
            Action::PenRight => self.move_pen(0, 1),
            Action::Paint => {
                if self.drawing.as_mut().is_some_and(Drawing::paint) {
                    self.redraw();
                }
            }
            Action::PenToggle => {
                if let Some(d) = self.drawing.as_mut() {
                    d.down = !d.down;
                    if d.down && d.paint() {
                        self.redraw();
                    }
                }
            }
            Action::NextColor => {
                if let Some(d) = self.drawing.as_mut() {
                    d.color = (d.color + 1) % PALETTE.len();
                }
            }
            Action::ClearDrawing => {
                if let Some(d) = self.drawing.as_mut() {
                    d.rgb.fill(255);
                    self.redraw();
                }
            }
        }
        let _ = effects;
        Outcome::Stay
    }

    /// The next (or previous) input channel of a conv cell's terms, or class of the
    /// decision.
    fn step_input(&mut self, forward: bool) {
        if let Some(cur) = self.chosen_input() {
            let n = match &self.explain {
                Explain::Conv(c) => c.inputs.len(),
                _ => 1,
            };
            self.input_channel = Some(if forward {
                (cur + 1) % n
            } else {
                (cur + n - 1) % n
            });
        } else if self.current() == View::Decision {
            let n = self.explorer.classes().len().max(1);
            self.class = if forward {
                (self.class + 1) % n
            } else {
                (self.class + n - 1) % n
            };
            self.refresh();
        }
    }

    /// The next (or previous) validation image, when there are some.
    fn step_validation(&mut self, forward: bool) {
        let n = self.validation.len();
        if n > 0 {
            let i = match (self.val_at, forward) {
                (None, _) => 0,
                (Some(i), true) => (i + 1) % n,
                (Some(i), false) => (i + n - 1) % n,
            };
            let (what, chw) = self.validation[i].clone();
            self.drawing = None;
            self.set_image(what, chw);
            self.val_at = Some(i);
        }
    }

    /// Take the outcome of an effect the front end ran.
    pub fn done(&mut self, done: Done) {
        match done {
            Done::Image(p, chw) => {
                let name = p
                    .file_name()
                    .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into());
                self.drawing = None;
                self.val_at = None;
                self.focus = Focus::Maps;
                self.set_image(name, chw);
            }
            Done::NoImage(e) => self.notice = Some(e),
            Done::Refused(why) => self.notice = Some(why.into()),
            Done::Completed(c) => {
                if let Some(p) = self.path_input.as_mut() {
                    p.completed(c);
                }
            }
            _ => {}
        }
    }
}

/// A fresh random shape (the data set's recipe).
fn random_shape(rng: &mut ChaCha8Rng) -> (String, Vec<u8>) {
    let shape = Shape::ALL[rng.gen_range(0..Shape::ALL.len())];
    let img = data::create_image(shape, rng);
    (format!("a random {}", shape.name()), data::rgb_to_chw(&img))
}
