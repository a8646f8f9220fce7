//! The layer editor of the training settings: the chosen network as a list a learner
//! edits with keys (select a layer, change its numbers, add one after it from a short
//! list, delete it, move it, back to the course's net), with the plan's table redrawn
//! after every change. Every change goes through the description's own parser, so a
//! number out of range is refused with the parser's reason, and a network that cannot
//! run says which layer and why (and cannot be started).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::nn::arch::{Arch, Layer, Plan, Shape, MAX_LAYERS};
use crate::nn::presets::PRESETS;

use super::super::event::KeyCode;
use super::super::theme::Theme;
use super::actions::Action;
use super::network_panel::{count, shape_text};
use super::settings::{SettingsForm, TrainSettings};
use super::view::block;

/// The layers the editor adds, with the numbers they start with.
pub const ADDABLE: [Layer; 12] = [
    Layer::Conv {
        out: 12,
        k: 3,
        stride: 1,
        pad: 1,
    },
    Layer::MaxPool { k: 2, stride: 2 },
    Layer::AvgPool { k: 2, stride: 2 },
    Layer::Relu,
    Layer::Tanh,
    Layer::Sigmoid,
    Layer::LeakyRelu { slope: 0.01 },
    Layer::BatchNorm,
    Layer::Dropout2d { p: 0.2 },
    Layer::Dropout { p: 0.5 },
    Layer::Flatten,
    Layer::Linear { out: Some(32) },
];

/// Where the editor is: the selected layer and number, what is being typed, and the
/// list of layers to add while one is being chosen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchEditor {
    /// The selected layer (index into the network's layers).
    pub layer: usize,
    /// The selected number of that layer (index into [`numbers`]).
    pub number: usize,
    /// Digits typed for the selected number.
    pub input: String,
    /// Choosing a layer to add after the selected one: the index into [`ADDABLE`].
    pub adding: Option<usize>,
}

/// What a change did: `Ok(true)` when the network changed, `Ok(false)` when nothing
/// did, `Err` with the reason it was refused.
pub type Change = Result<bool, String>;

/// A layer's editable numbers: what each is called and its value as text.
pub fn numbers(layer: &Layer) -> Vec<(&'static str, String)> {
    match *layer {
        Layer::Conv {
            out,
            k,
            stride,
            pad,
        } => vec![
            ("filters", out.to_string()),
            ("kernel", k.to_string()),
            ("stride", stride.to_string()),
            ("padding", pad.to_string()),
        ],
        Layer::MaxPool { k, stride } | Layer::AvgPool { k, stride } => {
            vec![("window", k.to_string()), ("stride", stride.to_string())]
        }
        Layer::LeakyRelu { slope } => vec![("slope", slope.to_string())],
        Layer::Dropout2d { p } | Layer::Dropout { p } => {
            vec![("drop probability", p.to_string())]
        }
        Layer::Linear { out } => vec![(
            "outputs",
            out.map_or_else(|| "one per class".to_string(), |n| n.to_string()),
        )],
        Layer::Relu | Layer::Tanh | Layer::Sigmoid | Layer::BatchNorm | Layer::Flatten => {
            Vec::new()
        }
    }
}

/// The next value up (`up`) or down from `v` on `ladder` (values between rungs go to
/// the nearest rung in that direction).
fn ladder_step(ladder: &[usize], v: usize, up: bool) -> usize {
    if up {
        ladder.iter().copied().find(|&r| r > v).unwrap_or(v)
    } else {
        ladder.iter().rev().copied().find(|&r| r < v).unwrap_or(v)
    }
}

fn float_step(ladder: &[f32], v: f32, up: bool) -> f32 {
    if up {
        ladder.iter().copied().find(|&r| r > v + 1e-6).unwrap_or(v)
    } else {
        ladder
            .iter()
            .rev()
            .copied()
            .find(|&r| r < v - 1e-6)
            .unwrap_or(v)
    }
}

const CHANNELS: [usize; 16] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256];
const KERNELS: [usize; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SMALL: [usize; 9] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const OUTPUTS: [usize; 10] = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const PROBS: [f32; 10] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const SLOPES: [f32; 6] = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3];

/// `layer` with its number `which` stepped up or down. A convolution's padding follows
/// its kernel while it is the default (K/2), and a pool's stride its window.
fn stepped(layer: Layer, which: usize, up: bool) -> Layer {
    match layer {
        Layer::Conv {
            out,
            k,
            stride,
            pad,
        } => match which {
            0 => Layer::Conv {
                out: ladder_step(&CHANNELS, out, up),
                k,
                stride,
                pad,
            },
            1 => {
                let nk = ladder_step(&KERNELS, k, up);
                let pad = if pad == k / 2 { nk / 2 } else { pad };
                Layer::Conv {
                    out,
                    k: nk,
                    stride,
                    pad,
                }
            }
            2 => Layer::Conv {
                out,
                k,
                stride: ladder_step(&SMALL[1..], stride, up),
                pad,
            },
            _ => Layer::Conv {
                out,
                k,
                stride,
                pad: ladder_step(&SMALL, pad, up),
            },
        },
        Layer::MaxPool { k, stride } | Layer::AvgPool { k, stride } => {
            let (k2, s2) = if which == 0 {
                let nk = ladder_step(&SMALL[1..], k, up);
                (nk, if stride == k { nk } else { stride })
            } else {
                (k, ladder_step(&SMALL[1..], stride, up))
            };
            if matches!(layer, Layer::MaxPool { .. }) {
                Layer::MaxPool { k: k2, stride: s2 }
            } else {
                Layer::AvgPool { k: k2, stride: s2 }
            }
        }
        Layer::LeakyRelu { slope } => Layer::LeakyRelu {
            slope: float_step(&SLOPES, slope, up),
        },
        Layer::Dropout2d { p } => Layer::Dropout2d {
            p: float_step(&PROBS, p, up),
        },
        Layer::Dropout { p } => Layer::Dropout {
            p: float_step(&PROBS, p, up),
        },
        Layer::Linear { out } => Layer::Linear {
            out: match (out, up) {
                (None, true) => Some(OUTPUTS[0]),
                (None, false) => None,
                (Some(n), false) if n <= OUTPUTS[0] => None,
                (Some(n), _) => Some(ladder_step(&OUTPUTS, n, up)),
            },
        },
        other => other,
    }
}

/// `layer` with its number `which` set to the typed `text`, as the description's
/// parser reads it: `Err` with the parser's reason when it is not allowed.
fn typed(layer: Layer, which: usize, text: &str) -> Result<Layer, String> {
    let mut parts: Vec<String> = numbers(&layer).into_iter().map(|(_, v)| v).collect();
    let Some(slot) = parts.get_mut(which) else {
        return Ok(layer);
    };
    *slot = text.to_string();
    let kw = layer.keyword();
    let candidate = match layer {
        Layer::Conv { .. } => format!(
            "conv({},{},stride={},pad={})",
            parts[0], parts[1], parts[2], parts[3]
        ),
        Layer::MaxPool { .. } | Layer::AvgPool { .. } => {
            format!("{kw}({},stride={})", parts[0], parts[1])
        }
        Layer::Linear { .. } if which == 0 && text == "0" => "linear".to_string(),
        _ => format!("{kw}({})", parts[0]),
    };
    let arch = Arch::parse(&candidate).map_err(|e| {
        let msg = e.to_string();
        // the parser names "layer 1 `text`" of the one-layer text: keep only the reason
        msg.rsplit_once("`: ")
            .or_else(|| msg.rsplit_once(": "))
            .map(|(_, rest)| rest.to_string())
            .unwrap_or(msg)
    })?;
    Ok(arch.layers[0])
}

impl ArchEditor {
    /// An editor on the first layer.
    pub fn new() -> ArchEditor {
        ArchEditor::default()
    }

    /// Keep the selection inside `arch`.
    pub fn clamp(&mut self, arch: &Arch) {
        self.layer = self.layer.min(arch.layers.len().saturating_sub(1));
        let n = arch.layers.get(self.layer).map_or(0, |l| numbers(l).len());
        self.number = self.number.min(n.saturating_sub(1));
    }

    /// Select the layer above (`down` false) or below.
    pub fn select(&mut self, arch: &Arch, down: bool) {
        self.input.clear();
        if let Some(a) = &mut self.adding {
            *a = if down {
                (*a + 1).min(ADDABLE.len() - 1)
            } else {
                a.saturating_sub(1)
            };
            return;
        }
        self.layer = if down {
            self.layer + 1
        } else {
            self.layer.saturating_sub(1)
        };
        self.number = 0;
        self.clamp(arch);
    }

    /// Select the layer's next number (wrapping).
    pub fn next_number(&mut self, arch: &Arch) {
        self.input.clear();
        let n = arch.layers.get(self.layer).map_or(0, |l| numbers(l).len());
        if n > 0 {
            self.number = (self.number + 1) % n;
        }
    }

    /// Step the selected number up or down.
    pub fn step(&mut self, arch: &mut Arch, up: bool) -> Change {
        self.input.clear();
        if let Some(a) = &mut self.adding {
            *a = if up {
                (*a + 1) % ADDABLE.len()
            } else {
                (*a + ADDABLE.len() - 1) % ADDABLE.len()
            };
            return Ok(false);
        }
        let Some(layer) = arch.layers.get(self.layer).copied() else {
            return Ok(false);
        };
        if numbers(&layer).is_empty() {
            return Err(format!("{layer} has no numbers to change"));
        }
        let new = stepped(layer, self.number, up);
        arch.layers[self.layer] = new;
        Ok(new != layer)
    }

    /// Type a character of a number (digits and `.`; at most 8).
    pub fn type_char(&mut self, c: char) {
        if self.adding.is_none() && self.input.len() < 8 && (c.is_ascii_digit() || c == '.') {
            self.input.push(c);
        }
    }

    /// Apply what was typed to the selected number.
    pub fn commit(&mut self, arch: &mut Arch) -> Change {
        if self.input.is_empty() {
            return Ok(false);
        }
        let text = std::mem::take(&mut self.input);
        let Some(layer) = arch.layers.get(self.layer).copied() else {
            return Ok(false);
        };
        let Some(name) = numbers(&layer).get(self.number).map(|(n, _)| *n) else {
            return Err(format!("{layer} has no numbers to change"));
        };
        let new = typed(layer, self.number, &text)
            .map_err(|why| format!("{name} {text} refused: {why}"))?;
        arch.layers[self.layer] = new;
        Ok(new != layer)
    }

    /// Open the list of layers to add after the selected one, or add the chosen one.
    pub fn add(&mut self, arch: &mut Arch) -> Change {
        self.input.clear();
        match self.adding.take() {
            None => {
                if arch.layers.len() >= MAX_LAYERS {
                    return Err(format!("a network has at most {MAX_LAYERS} layers"));
                }
                self.adding = Some(0);
                Ok(false)
            }
            Some(i) => {
                let at = (self.layer + 1).min(arch.layers.len());
                arch.layers.insert(at, ADDABLE[i]);
                self.layer = at;
                self.number = 0;
                Ok(true)
            }
        }
    }

    /// Close the list of layers to add (`true` when it was open).
    pub fn cancel_add(&mut self) -> bool {
        self.input.clear();
        self.adding.take().is_some()
    }

    /// Delete the selected layer (a network keeps at least one).
    pub fn delete(&mut self, arch: &mut Arch) -> Change {
        self.input.clear();
        if arch.layers.len() <= 1 {
            return Err("a network needs at least one layer".into());
        }
        arch.layers.remove(self.layer);
        self.number = 0;
        self.clamp(arch);
        Ok(true)
    }

    /// Move the selected layer one place up (`down` false) or down.
    pub fn move_layer(&mut self, arch: &mut Arch, down: bool) -> Change {
        self.input.clear();
        let i = self.layer;
        let j = if down {
            i + 1
        } else {
            match i.checked_sub(1) {
                Some(j) => j,
                None => return Ok(false),
            }
        };
        if j >= arch.layers.len() {
            return Ok(false);
        }
        arch.layers.swap(i, j);
        self.layer = j;
        Ok(true)
    }
}

/// Do an editor action on the settings (`settings.edited` holds the edited network):
/// the notice to show, if any.
pub(crate) fn act(
    action: Action,
    code: KeyCode,
    settings: &mut TrainSettings,
    form: &mut SettingsForm,
) -> Option<String> {
    if action == Action::EditNetwork {
        let mut e = ArchEditor::new();
        e.clamp(&settings.arch());
        form.editor = Some(Box::new(e));
        return None;
    }
    let e = form.editor.as_mut()?;
    let mut arch = settings.arch();
    let change: Change = match action {
        Action::LayerUp | Action::LayerDown => {
            e.select(&arch, action == Action::LayerDown);
            Ok(false)
        }
        Action::LayerLess | Action::LayerMore => e.step(&mut arch, action == Action::LayerMore),
        Action::LayerNumber => {
            e.next_number(&arch);
            Ok(false)
        }
        Action::LayerType => {
            if let KeyCode::Char(c) = code {
                e.type_char(c);
            }
            Ok(false)
        }
        Action::LayerErase => {
            e.input.pop();
            Ok(false)
        }
        Action::LayerAdd => e.add(&mut arch),
        Action::LayerDelete => e.delete(&mut arch),
        Action::LayerMoveUp | Action::LayerMoveDown => {
            e.move_layer(&mut arch, action == Action::LayerMoveDown)
        }
        Action::CourseNet => {
            arch = Arch::course();
            e.clamp(&arch);
            Ok(true)
        }
        Action::NextPreset => {
            settings.edited = None;
            settings.network = (settings.network + 1) % PRESETS.len();
            e.clamp(&settings.arch());
            return Some(format!("network: {}", settings.preset().name));
        }
        Action::LayerEnter if e.adding.is_some() => e.add(&mut arch),
        Action::LayerEnter if !e.input.is_empty() => e.commit(&mut arch),
        Action::LayerEnter => {
            form.editor = None;
            return None;
        }
        Action::LayerEsc => {
            if !e.cancel_add() && e.input.is_empty() {
                form.editor = None;
            }
            e_clear(form);
            return None;
        }
        _ => Ok(false),
    };
    match change {
        Ok(true) => {
            settings.set_arch(arch);
            None
        }
        Ok(false) => None,
        Err(why) => Some(why),
    }
}

fn e_clear(form: &mut SettingsForm) {
    if let Some(e) = form.editor.as_mut() {
        e.input.clear();
    }
}

/// The layer a plan's error names (`layer 7 maxpool(2): ...`), from 0.
pub fn failing_layer(error: &str) -> Option<usize> {
    let rest = error.split("layer ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<usize>().ok()?.checked_sub(1)
}

/// Everything the editor's panel shows.
pub struct EditorView<'a> {
    /// The network as edited.
    pub arch: &'a Arch,
    /// Its plan on this data, or why it cannot run.
    pub plan: Result<&'a Plan, &'a str>,
    /// The layers' output shapes up to the one that fails (all of them when it plans).
    pub shapes: Vec<Shape>,
    /// Where the network came from (`the course's net`, `edited from: smaller`).
    pub name: String,
    /// Seconds per epoch, when timed.
    pub epoch: Option<f64>,
    /// The editor's place.
    pub editor: &'a ArchEditor,
}

/// The table rows: one per layer, with its shape, parameters and MFLOP when the network
/// plans (only its text and a mark on the failing layer when it does not).
fn layer_rows(v: &EditorView, theme: &Theme) -> Vec<Line<'static>> {
    let sym = theme.symbols();
    let bad = v.plan.err().and_then(failing_layer);
    v.arch
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let pointer = if i == v.editor.layer {
                sym.pointer
            } else {
                " "
            };
            let mark = if bad == Some(i) { "!" } else { " " };
            let numbers = match v.plan {
                Ok(p) => {
                    let pl = &p.layers[i];
                    format!(
                        "{:>12}{:>10}{:>9.1}",
                        shape_text(pl.output),
                        count(pl.params(p) as u64),
                        pl.flops as f64 / 1e6
                    )
                }
                Err(_) => v
                    .shapes
                    .get(i)
                    .map_or_else(String::new, |s| format!("{:>12}", shape_text(*s))),
            };
            let text = format!("{pointer}{mark}{:<3}{:<22}{numbers}", i + 1, l.to_string());
            if i == v.editor.layer {
                Line::styled(text, theme.selected())
            } else if bad == Some(i) {
                Line::styled(text, theme.emphasis())
            } else {
                Line::raw(text)
            }
        })
        .collect()
}

/// The line under the table: the selected layer's numbers (the chosen one bracketed,
/// with what is being typed), or the list of layers to add.
fn detail_line(v: &EditorView, theme: &Theme) -> Line<'static> {
    let e = v.editor;
    if let Some(a) = e.adding {
        let mut spans = vec![Span::raw(format!("Add after layer {}: ", e.layer + 1))];
        for (i, l) in ADDABLE.iter().enumerate() {
            let t = l.to_string();
            if i == a {
                spans.push(Span::styled(format!("[{t}]"), theme.selected()));
            } else {
                spans.push(Span::raw(format!(" {t} ")));
            }
        }
        return Line::from(spans);
    }
    let Some(layer) = v.arch.layers.get(e.layer) else {
        return Line::raw("");
    };
    let nums = numbers(layer);
    if nums.is_empty() {
        return Line::raw(format!(
            "Layer {} {layer}: nothing to set (a to add after it, x to delete)",
            e.layer + 1
        ));
    }
    let mut spans = vec![Span::raw(format!(
        "Layer {} {}: ",
        e.layer + 1,
        layer.keyword()
    ))];
    for (i, (name, value)) in nums.iter().enumerate() {
        if i == e.number {
            let shown = if e.input.is_empty() {
                value.clone()
            } else {
                format!("{}_", e.input)
            };
            spans.push(Span::styled(format!("{name} [{shown}]"), theme.selected()));
        } else {
            spans.push(Span::raw(format!("{name} {value}")));
        }
        spans.push(Span::raw("  "));
    }
    Line::from(spans)
}

/// Draw the editor in `area`: the network's name, the table (scrolled to keep the
/// selected layer in view), the totals or the reason it cannot run, and the selected
/// layer's numbers.
pub fn render(theme: &Theme, v: &EditorView, area: Rect, buf: &mut Buffer) {
    let b = block(theme, "The network: edit its layers");
    let inner = b.inner(area);
    b.render(area, buf);
    let rows = layer_rows(v, theme);
    let total = match v.plan {
        Ok(p) => {
            let time = v.epoch.map_or_else(
                || "timing one step...".to_string(),
                |s| format!("about {s:.1} s per epoch here"),
            );
            Line::styled(
                format!(
                    "Total: {} weights, {:.1} MFLOP per image; {time}.",
                    count(p.param_count() as u64),
                    p.flops() as f64 / 1e6,
                ),
                theme.emphasis(),
            )
        }
        Err(e) => Line::styled(
            format!("Cannot start: {}", e.trim_start_matches("architecture: ")),
            theme.notice(),
        ),
    };
    let head = Line::styled(
        format!(
            "  {:<3}{:<22}{:>12}{:>10}{:>9}",
            "#", "layer", "output", "params", "MFLOP"
        ),
        theme.heading(),
    );
    let detail = detail_line(v, theme);
    let width = usize::from(inner.width.max(1));
    let tall = |l: &Line| (l.width().max(1)).div_ceil(width);
    // the name, the header, the total and the detail line; the rest for the layers
    let fixed = 2 + tall(&total) + tall(&detail);
    let room = usize::from(inner.height).saturating_sub(fixed).max(1);
    let first = scroll_start(v.editor.layer, rows.len(), room);
    let shown = rows.len().min(room);
    let more = if shown < rows.len() {
        format!(
            "  (layers {}-{} of {})",
            first + 1,
            first + shown,
            rows.len()
        )
    } else {
        String::new()
    };
    let mut lines = vec![Line::raw(format!("{}{more}", v.name)), head];
    lines.extend(rows.into_iter().skip(first).take(room));
    lines.push(total);
    lines.push(detail);
    let lines = theme.lines(lines);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// The first row shown so that `selected` is in view, a row of context kept above it
/// where there is room.
fn scroll_start(selected: usize, len: usize, room: usize) -> usize {
    if len <= room {
        return 0;
    }
    let max_start = len - room;
    selected.saturating_sub(room / 2).min(max_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course() -> Arch {
        Arch::course()
    }

    #[test]
    fn numbers_step_along_their_ladders_and_padding_follows_the_kernel() {
        let mut a = course();
        let mut e = ArchEditor::new();
        assert_eq!(e.step(&mut a, true), Ok(true));
        assert_eq!(a.layers[0].to_string(), "conv(16,3)");
        e.next_number(&a);
        e.step(&mut a, true).unwrap();
        e.step(&mut a, true).unwrap();
        // kernel 5 keeps the default padding (2), so the text has no pad
        assert_eq!(a.layers[0].to_string(), "conv(16,5)");
        e.next_number(&a);
        e.step(&mut a, true).unwrap();
        assert_eq!(a.layers[0].to_string(), "conv(16,5,stride=2)");
        // a pool's stride follows its window
        e.select(&a, true);
        e.step(&mut a, true).unwrap();
        assert_eq!(a.layers[1].to_string(), "maxpool(3)");
        // the last linear goes from one per class to a number and back
        e.layer = a.layers.len() - 1;
        e.number = 0;
        e.step(&mut a, true).unwrap();
        assert_eq!(a.layers[e.layer].to_string(), "linear(2)");
        e.step(&mut a, false).unwrap();
        assert_eq!(a.layers[e.layer].to_string(), "linear");
        // relu has nothing to change
        e.layer = 2;
        assert!(e.step(&mut a, true).unwrap_err().contains("no numbers"));
    }

    #[test]
    fn typed_numbers_go_through_the_parser_and_out_of_range_is_refused_with_its_reason() {
        let mut a = course();
        let mut e = ArchEditor::new();
        for c in "300".chars() {
            e.type_char(c);
        }
        let err = e.commit(&mut a).unwrap_err();
        assert!(err.starts_with("filters 300 refused"), "{err}");
        assert!(err.contains("256"), "{err}");
        assert!(!err.contains("layer 1"), "{err}");
        assert_eq!(a, course(), "a refused number changes nothing");
        for c in "40".chars() {
            e.type_char(c);
        }
        assert_eq!(e.commit(&mut a), Ok(true));
        assert_eq!(a.layers[0].to_string(), "conv(40,3)");
        // dropout's p
        e.layer = 9;
        for c in "1.5".chars() {
            e.type_char(c);
        }
        let err = e.commit(&mut a).unwrap_err();
        assert!(err.starts_with("drop probability 1.5 refused"), "{err}");
        for c in "0.3".chars() {
            e.type_char(c);
        }
        e.commit(&mut a).unwrap();
        assert_eq!(a.layers[9].to_string(), "dropout(0.3)");
    }

    #[test]
    fn add_delete_move_and_an_impossible_network_names_its_layer() {
        let mut a = course();
        let mut e = ArchEditor::new();
        // add a batch norm after conv1
        assert_eq!(e.add(&mut a), Ok(false));
        for _ in 0..7 {
            e.step(&mut a, true).unwrap();
        }
        assert_eq!(e.add(&mut a), Ok(true));
        assert_eq!(a.layers[1], Layer::BatchNorm);
        assert_eq!(e.layer, 1);
        // move it below the pool, then delete it
        e.move_layer(&mut a, true).unwrap();
        assert_eq!(a.layers[2], Layer::BatchNorm);
        assert_eq!(e.layer, 2);
        e.delete(&mut a).unwrap();
        assert_eq!(a, course());
        // six more max pools after the first make the maps vanish: the plan says where
        let mut e = ArchEditor::new();
        e.layer = 1;
        for _ in 0..7 {
            e.add(&mut a).unwrap();
            e.step(&mut a, true).unwrap();
            e.add(&mut a).unwrap();
        }
        let err = Plan::new(&a, crate::nn::arch::DEFAULT_INPUT, 3)
            .unwrap_err()
            .to_string();
        let bad = failing_layer(&err).expect("the error names a layer");
        // the shapes go as far as the layer before the failing one, the last 1x1
        let shapes = Plan::shapes(&a, crate::nn::arch::DEFAULT_INPUT, 3);
        assert_eq!(shapes.len(), bad, "{shapes:?}");
        assert_eq!(shape_text(shapes[bad - 1]), "12x1x1");
        assert!(
            matches!(a.layers[bad], Layer::MaxPool { .. }),
            "{err} {:?}",
            a.layers[bad]
        );
        // a network keeps one layer
        let mut one = Arch::parse("linear").unwrap();
        assert!(ArchEditor::new().delete(&mut one).is_err());
        assert_eq!(scroll_start(10, 12, 5), 7);
        assert_eq!(scroll_start(0, 12, 5), 0);
        assert_eq!(scroll_start(6, 12, 5), 4);
    }
}
