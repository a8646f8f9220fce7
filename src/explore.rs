//! The inspector's engine (issue 13): one image through a trained net, every map kept,
//! and any cell explained with the learned weights, for any architecture: the stages are
//! the net's named outputs (its [`Plan`](crate::nn::arch::Plan)), in order.
//!
//! [`Explorer::new`] runs the eval-mode forward pass once ([`cpu::forward_trace`], the
//! pass that `predict`, `evaluate` and training run; dropout is off) and computes the
//! decision maps once. Every query after that is cheap and allocates little:
//!
//! - [`Explorer::conv_cell`]: a convolution's output cell as the bias plus its products
//!   input x weight (K x K per input channel, at the layer's stride and padding), grouped
//!   per input channel; the value shown is the forward pass's, and the products are read
//!   from the same weights and the same layer input (a test checks that they sum to it);
//! - [`Explorer::pool_cell`]: a pooled cell's window and its winner (the first maximum in
//!   reading order, as PyTorch's `MaxPool2d`) or its mean (`AvgPool2d`);
//! - [`Explorer::act_cell`]: the value before and after an activation function;
//! - [`Explorer::norm_cell`]: batch norm's arithmetic with its running statistics;
//! - [`Explorer::linear_cell`]: a hidden linear layer's output as its bias and largest
//!   products;
//! - [`Explorer::decision`]: the last linear layer's sum split into a weight x activation
//!   map per channel of what feeds it, the channel totals, the scores and the softmax;
//! - [`Explorer::map`] and [`Explorer::stages`]: any stage's map, its shape and range.

use ndarray::{ArrayView2, ArrayView3};

use crate::backend::cpu::{self, argmax};
use crate::nn::arch::{Layer, Shape};
use crate::nn::layers::Act;
use crate::nn::net::{Net, Trace};
use crate::{Error, Result};

/// What a stage is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StageKind {
    /// The normalised image.
    Input,
    /// A convolution's output.
    Conv {
        /// Kernel side.
        k: usize,
        /// Step.
        stride: usize,
        /// Zero padding.
        pad: usize,
    },
    /// A pool's output.
    Pool {
        /// Max (else average) pooling.
        max: bool,
        /// Window side.
        k: usize,
        /// Step.
        stride: usize,
    },
    /// An activation function's output.
    Act(Act),
    /// Batch norm's output.
    Norm,
    /// A hidden linear layer's output (a vector: `n` maps of 1x1).
    Linear,
}

impl StageKind {
    /// What it does, in a few words (`3x3 convolution`, `2x2 max pool`, `ReLU`).
    pub fn summary(&self) -> String {
        match *self {
            StageKind::Input => "the image, normalised".into(),
            StageKind::Conv { k, stride, pad } => {
                let mut s = format!("{k}x{k} convolution");
                if stride != 1 {
                    s.push_str(&format!(", stride {stride}"));
                }
                if pad != k / 2 {
                    s.push_str(&format!(", padding {pad}"));
                }
                s
            }
            StageKind::Pool { max, k, stride } => {
                let mut s = format!("{k}x{k} {} pool", if max { "max" } else { "average" });
                if stride != k {
                    s.push_str(&format!(", stride {stride}"));
                }
                s
            }
            StageKind::Act(a) => act_name(a),
            StageKind::Norm => "batch norm".into(),
            StageKind::Linear => "fully connected".into(),
        }
    }
}

/// The name of an activation function as the explanations write it.
pub fn act_name(a: Act) -> String {
    match a {
        Act::Relu => "ReLU".into(),
        Act::Tanh => "tanh".into(),
        Act::Sigmoid => "sigmoid".into(),
        Act::Leaky(s) => format!("leaky ReLU (slope {s})"),
    }
}

/// One map one image passes through: the input, or a named output of the net.
#[derive(Debug, Clone, PartialEq)]
pub struct StageInfo {
    /// `input`, or the output's name (`conv1`, `pool1`, `relu1`, `bn1`, `fc1` ...).
    pub name: String,
    /// What it is.
    pub kind: StageKind,
    /// The plan's layer that makes it (`None`: the input).
    pub layer: Option<usize>,
    /// The stage it is computed from (`None`: the input).
    pub from: Option<usize>,
    /// channels, height, width (a vector: its values as channels of 1x1)
    pub shape: [usize; 3],
    /// A vector (after `flatten`), not maps.
    pub flat: bool,
    /// Its smallest and largest value.
    pub min: f32,
    /// See `min`.
    pub max: f32,
}

/// One product of a convolution cell: the layer input at one position times one weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    /// Input channel.
    pub channel: usize,
    /// Kernel row and column, 0..K.
    pub ky: usize,
    /// See `ky`.
    pub kx: usize,
    /// Position in the layer input, or `None` where the kernel lies on the zero padding
    /// (then `input` is 0).
    pub at: Option<(usize, usize)>,
    /// The value fed into the layer there.
    pub input: f32,
    /// The learned weight.
    pub weight: f32,
}

impl Term {
    /// input x weight, in f64.
    pub fn product(&self) -> f64 {
        f64::from(self.input) * f64::from(self.weight)
    }
}

/// The K x K products of one input channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelTerms {
    /// The input channel.
    pub channel: usize,
    /// In kernel reading order (ky, then kx).
    pub terms: Vec<Term>,
}

impl ChannelTerms {
    /// The sum of this channel's products.
    pub fn subtotal(&self) -> f64 {
        self.terms.iter().map(Term::product).sum()
    }
}

/// How one convolution output cell was computed.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvCell {
    /// The stage (index into [`Explorer::stages`]).
    pub stage: usize,
    /// Its name (`conv1`).
    pub name: String,
    /// Kernel side, stride, padding.
    pub k: usize,
    /// See `k`.
    pub stride: usize,
    /// See `k`.
    pub pad: usize,
    /// Output channel, row and column.
    pub channel: usize,
    /// See `channel`.
    pub row: usize,
    /// See `channel`.
    pub col: usize,
    /// The value the forward pass computed.
    pub value: f32,
    /// The channel's learned bias.
    pub bias: f32,
    /// One group per input channel, in channel order.
    pub inputs: Vec<ChannelTerms>,
}

impl ConvCell {
    /// bias + every product, in f64: equals [`ConvCell::value`] up to float rounding.
    pub fn sum(&self) -> f64 {
        f64::from(self.bias) + self.inputs.iter().map(ChannelTerms::subtotal).sum::<f64>()
    }

    /// Every product, channel by channel.
    pub fn terms(&self) -> impl Iterator<Item = &Term> {
        self.inputs.iter().flat_map(|g| g.terms.iter())
    }

    /// The input channel whose subtotal is largest in size (the first on ties).
    pub fn strongest_input(&self) -> usize {
        let mut best = 0;
        let mut best_abs = f64::NEG_INFINITY;
        for g in &self.inputs {
            let a = g.subtotal().abs();
            if a > best_abs {
                best = g.channel;
                best_abs = a;
            }
        }
        best
    }

    /// The top-left input position of the window (may lie on the padding: negative).
    pub fn origin(&self) -> (isize, isize) {
        (
            (self.row * self.stride) as isize - self.pad as isize,
            (self.col * self.stride) as isize - self.pad as isize,
        )
    }
}

/// A pooled cell.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolCell {
    /// The stage (index into [`Explorer::stages`]).
    pub stage: usize,
    /// Its name (`pool1`, `avgpool1`).
    pub name: String,
    /// Max (else average) pooling.
    pub max: bool,
    /// Window side.
    pub k: usize,
    /// Channel, row and column of the pooled cell.
    pub channel: usize,
    /// See `channel`.
    pub row: usize,
    /// See `channel`.
    pub col: usize,
    /// The window's top-left position in the pool's input.
    pub origin: (usize, usize),
    /// The window's inputs, row-major, k x k.
    pub window: Vec<f32>,
    /// Which of `window` won: the first maximum in reading order (as PyTorch); `None`
    /// for average pooling.
    pub winner: Option<usize>,
    /// The pooled value the forward pass computed.
    pub value: f32,
}

/// Index of the window's maximum, the first one in reading order on ties (as PyTorch's
/// `MaxPool2d` picks, and its indices report).
pub fn pool_winner(window: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in window.iter().enumerate() {
        if v > window[best] {
            best = i;
        }
    }
    best
}

/// An activation cell: the function, the value before and after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActCell {
    /// The function.
    pub act: Act,
    /// Its input.
    pub before: f32,
    /// Its output (the forward pass's).
    pub after: f32,
}

/// A batch norm cell: `(before - mean) / sqrt(var + eps) * weight + bias`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormCell {
    /// Its input.
    pub before: f32,
    /// The channel's running mean and variance (eval mode).
    pub mean: f32,
    /// See `mean`.
    pub var: f32,
    /// The channel's learned scale and shift.
    pub weight: f32,
    /// See `weight`.
    pub bias: f32,
    /// Its output (the forward pass's).
    pub after: f32,
}

/// A hidden linear layer's output value: its bias and its largest products.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearCell {
    /// The value the forward pass computed.
    pub value: f32,
    /// The bias.
    pub bias: f32,
    /// Inputs.
    pub inputs: usize,
    /// The largest products by size: (input index, input, weight), at most 12.
    pub top: Vec<(usize, f32, f32)>,
    /// bias + every product, in f64.
    pub sum: f64,
}

/// The last linear layer's sum, split into where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Scores (logits) from the forward pass, one per class.
    pub scores: Vec<f32>,
    /// softmax of the scores.
    pub probabilities: Vec<f32>,
    /// The last linear layer's bias.
    pub bias: Vec<f32>,
    /// The stage whose values feed it (index into [`Explorer::stages`]).
    pub source: usize,
    /// Its channels and the side of each channel's map (rows, columns).
    pub channels: usize,
    /// See `channels`.
    pub side: (usize, usize),
    /// `[class][channel]`: the sum of that channel's weight x activation map.
    pub channel_totals: Vec<Vec<f64>>,
    /// `[class][channel][row][col]` flattened: weight x activation.
    maps: Vec<f32>,
    /// The weights, `[class][channel][row][col]` flattened.
    weights: Vec<f32>,
}

impl Decision {
    /// For `class`, the map of weight x activation of channel `channel`: which regions
    /// pushed the score up (positive) or down.
    pub fn map(&self, class: usize, channel: usize) -> ArrayView2<'_, f32> {
        let plane = self.side.0 * self.side.1;
        let start = (class * self.channels + channel) * plane;
        ArrayView2::from_shape(self.side, &self.maps[start..start + plane])
            .unwrap_or_else(|_| unreachable!("the maps are [classes, channels, h, w]"))
    }

    /// The weight of `class` at (`channel`, `row`, `col`) of its input.
    pub fn weight(&self, class: usize, channel: usize, row: usize, col: usize) -> f32 {
        let (h, w) = self.side;
        self.weights[((class * self.channels + channel) * h + row) * w + col]
    }

    /// The channels of `class`, most positive total first (ties: lower channel first).
    pub fn ranked_channels(&self, class: usize) -> Vec<(usize, f64)> {
        let mut v: Vec<(usize, f64)> = self.channel_totals[class]
            .iter()
            .copied()
            .enumerate()
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// bias + every channel total of `class`, in f64: the score up to float rounding.
    pub fn sum(&self, class: usize) -> f64 {
        f64::from(self.bias[class]) + self.channel_totals[class].iter().sum::<f64>()
    }

    /// The predicted class (highest score, the first on ties).
    pub fn predicted(&self) -> usize {
        argmax(&self.scores)
    }
}

/// One image through a net, with every map kept (see the module docs).
#[derive(Debug, Clone)]
pub struct Explorer {
    net: Net,
    classes: Vec<String>,
    /// The normalised image, CHW as the plan's input.
    input: Vec<f32>,
    trace: Trace,
    stages: Vec<StageInfo>,
    decision: Decision,
}

fn dims3(shape: Shape) -> [usize; 3] {
    match shape {
        Shape::Maps { c, h, w } => [c, h, w],
        Shape::Flat(n) => [n, 1, 1],
    }
}

impl Explorer {
    /// Run `input` (one normalised CHW image of the net's input size) through `net` once,
    /// dropout off. `classes`: the class names (as the checkpoint names them; missing
    /// names are filled in as `class{i}`).
    pub fn new(net: Net, classes: Vec<String>, input: Vec<f32>) -> Result<Explorer> {
        if input.len() != net.plan.input_len() {
            let [c, h, w] = net.plan.input_dims();
            return Err(Error::Other(format!(
                "explore takes one {c}x{h}x{w} image, not {} floats",
                input.len()
            )));
        }
        let trace = cpu::forward_trace(&net, &input)?;
        let k = net.classes();
        let mut classes = classes;
        classes.truncate(k);
        while classes.len() < k {
            classes.push(format!("class{}", classes.len()));
        }
        let stages = stages_of(&net, &trace, &input);
        let decision = decide(&net, &trace, &stages, &input);
        Ok(Explorer {
            net,
            classes,
            input,
            trace,
            stages,
            decision,
        })
    }

    /// Run `pixels` (one CHW u8 image of the net's input size, as
    /// [`crate::data::load_image`] and [`crate::data::rgb_to_chw`] give) through `net`,
    /// normalised as training does.
    pub fn from_pixels(net: Net, classes: Vec<String>, pixels: &[u8]) -> Result<Explorer> {
        let lut = crate::data::normalize_table();
        let input = pixels.iter().map(|&p| lut[usize::from(p)]).collect();
        Explorer::new(net, classes, input)
    }

    /// Load a checkpoint and an image file (decoded, resized and normalised as `predict`
    /// and `evaluate` do) and run it.
    pub fn from_files(model: &std::path::Path, image: &std::path::Path) -> Result<Explorer> {
        let (net, meta) = crate::nn::checkpoint::load(model)?;
        let pixels = crate::data::load_image(image)?;
        Explorer::from_pixels(net, meta.classes, &pixels)
    }

    /// The image explored: normalised, CHW.
    pub fn input(&self) -> &[f32] {
        &self.input
    }

    /// The net explored.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// Class names, one per output.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Every named output of the forward pass (batch of one).
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The decision: scores, probabilities and where the scores came from.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// Every stage (the input, then each named output but the scores), with its shape
    /// and value range, in order.
    pub fn stages(&self) -> &[StageInfo] {
        &self.stages
    }

    /// The stage named `name` (`input`, `conv1`, `relu2` ...).
    pub fn stage(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }

    /// The stage named `name`, or a usage error listing the names there are.
    pub fn stage_named(&self, name: &str) -> Result<usize> {
        self.stage(name).ok_or_else(|| {
            let names: Vec<&str> = self.stages.iter().map(|s| s.name.as_str()).collect();
            Error::Usage(format!(
                "this network has no layer output `{}` (it has: {}, fc)",
                crate::text::escaped(name),
                names.join(", ")
            ))
        })
    }

    /// A stage's maps, [channels, height, width] (a vector: [values, 1, 1]).
    pub fn map(&self, stage: usize) -> ArrayView3<'_, f32> {
        let s = &self.stages[stage];
        let [c, h, w] = s.shape;
        let data: &[f32] = if s.layer.is_none() {
            &self.input
        } else {
            self.trace
                .get(&s.name)
                .and_then(|a| a.as_slice())
                .unwrap_or_else(|| unreachable!("every stage is in the trace"))
        };
        ArrayView3::from_shape((c, h, w), data)
            .unwrap_or_else(|_| unreachable!("the stage's shape is its plan's"))
    }

    /// The cell of `channel` of `stage` with the largest value (the first in reading
    /// order on ties): where that filter answers most strongly.
    pub fn strongest_cell(&self, stage: usize, channel: usize) -> Result<(usize, usize)> {
        let s = &self.stages[stage];
        check_channel(&s.name, channel, s.shape[0])?;
        let m = self.map(stage);
        let plane = m.index_axis(ndarray::Axis(0), channel);
        let mut best = (0, 0);
        for ((r, c), &v) in plane.indexed_iter() {
            if v > plane[best] {
                best = (r, c);
            }
        }
        Ok(best)
    }

    fn check_cell(&self, stage: usize, channel: usize, row: usize, col: usize) -> Result<()> {
        let s = &self.stages[stage];
        check_channel(&s.name, channel, s.shape[0])?;
        check_position(&s.name, row, col, (s.shape[1], s.shape[2]))
    }

    fn input_map(&self, stage: usize) -> ArrayView3<'_, f32> {
        self.map(self.stages[stage].from.unwrap_or(0))
    }

    /// How cell (`channel`, `row`, `col`) of a convolution stage was computed. A channel
    /// or position out of range is an [`Error::Usage`] naming the valid range.
    pub fn conv_cell(
        &self,
        stage: usize,
        channel: usize,
        row: usize,
        col: usize,
    ) -> Result<ConvCell> {
        let s = &self.stages[stage];
        let StageKind::Conv { k, stride, pad } = s.kind else {
            return Err(Error::Usage(format!("{} is not a convolution", s.name)));
        };
        self.check_cell(stage, channel, row, col)?;
        let layer = &self.net.plan.layers[s.layer.unwrap_or(0)];
        let w = self.net.conv_weight(layer.tensors[0]);
        let bias = self.net.bias(layer.tensors[1])[channel];
        let x = self.input_map(stage);
        let (cin, h, wd) = x.dim();
        let (r0, c0) = (
            (row * stride) as isize - pad as isize,
            (col * stride) as isize - pad as isize,
        );
        let inputs = (0..cin)
            .map(|ci| {
                let mut terms = Vec::with_capacity(k * k);
                for ky in 0..k {
                    for kx in 0..k {
                        let (r, c) = (r0 + ky as isize, c0 + kx as isize);
                        let at = (r >= 0 && c >= 0 && (r as usize) < h && (c as usize) < wd)
                            .then_some((r as usize, c as usize));
                        terms.push(Term {
                            channel: ci,
                            ky,
                            kx,
                            at,
                            input: at.map_or(0.0, |(r, c)| x[[ci, r, c]]),
                            weight: w[[channel, ci, ky, kx]],
                        });
                    }
                }
                ChannelTerms { channel: ci, terms }
            })
            .collect();
        Ok(ConvCell {
            stage,
            name: s.name.clone(),
            k,
            stride,
            pad,
            channel,
            row,
            col,
            value: self.map(stage)[[channel, row, col]],
            bias,
            inputs,
        })
    }

    /// The window of pooled cell (`channel`, `row`, `col`) of a pool stage and its winner
    /// (max) or mean (average).
    pub fn pool_cell(
        &self,
        stage: usize,
        channel: usize,
        row: usize,
        col: usize,
    ) -> Result<PoolCell> {
        let s = &self.stages[stage];
        let StageKind::Pool { max, k, stride } = s.kind else {
            return Err(Error::Usage(format!("{} is not a pool", s.name)));
        };
        self.check_cell(stage, channel, row, col)?;
        let x = self.input_map(stage);
        let origin = (row * stride, col * stride);
        let mut window = Vec::with_capacity(k * k);
        for ky in 0..k {
            for kx in 0..k {
                window.push(x[[channel, origin.0 + ky, origin.1 + kx]]);
            }
        }
        Ok(PoolCell {
            stage,
            name: s.name.clone(),
            max,
            k,
            channel,
            row,
            col,
            origin,
            winner: max.then(|| pool_winner(&window)),
            window,
            value: self.map(stage)[[channel, row, col]],
        })
    }

    /// An activation stage's cell: the value before and after.
    pub fn act_cell(
        &self,
        stage: usize,
        channel: usize,
        row: usize,
        col: usize,
    ) -> Result<ActCell> {
        let s = &self.stages[stage];
        let StageKind::Act(act) = s.kind else {
            return Err(Error::Usage(format!("{} is not an activation", s.name)));
        };
        self.check_cell(stage, channel, row, col)?;
        Ok(ActCell {
            act,
            before: self.input_value(stage, channel, row, col),
            after: self.map(stage)[[channel, row, col]],
        })
    }

    /// A batch norm stage's cell, with the channel's running statistics and parameters.
    pub fn norm_cell(
        &self,
        stage: usize,
        channel: usize,
        row: usize,
        col: usize,
    ) -> Result<NormCell> {
        let s = &self.stages[stage];
        if s.kind != StageKind::Norm {
            return Err(Error::Usage(format!("{} is not a batch norm", s.name)));
        }
        self.check_cell(stage, channel, row, col)?;
        let t = &self.net.plan.layers[s.layer.unwrap_or(0)].tensors;
        let p = |i: usize| self.net.params[t[i]].data[channel];
        Ok(NormCell {
            before: self.input_value(stage, channel, row, col),
            mean: p(2),
            var: p(3),
            weight: p(0),
            bias: p(1),
            after: self.map(stage)[[channel, row, col]],
        })
    }

    /// A hidden linear stage's value `channel` (its output index).
    pub fn linear_cell(&self, stage: usize, channel: usize) -> Result<LinearCell> {
        let s = &self.stages[stage];
        if s.kind != StageKind::Linear {
            return Err(Error::Usage(format!("{} is not a linear layer", s.name)));
        }
        check_channel(&s.name, channel, s.shape[0])?;
        let t = &self.net.plan.layers[s.layer.unwrap_or(0)].tensors;
        let x: Vec<f32> = self.input_map(stage).iter().copied().collect();
        let w = &self.net.params[t[0]].data[channel * x.len()..(channel + 1) * x.len()];
        let bias = self.net.params[t[1]].data[channel];
        let mut top: Vec<(usize, f32, f32)> = x
            .iter()
            .zip(w)
            .enumerate()
            .map(|(i, (&a, &b))| (i, a, b))
            .collect();
        let sum = f64::from(bias)
            + top
                .iter()
                .map(|&(_, a, b)| f64::from(a) * f64::from(b))
                .sum::<f64>();
        top.sort_by(|a, b| {
            (b.1 * b.2)
                .abs()
                .total_cmp(&(a.1 * a.2).abs())
                .then(a.0.cmp(&b.0))
        });
        top.truncate(12);
        Ok(LinearCell {
            value: self.map(stage)[[channel, 0, 0]],
            bias,
            inputs: x.len(),
            top,
            sum,
        })
    }

    /// The input of a one-to-one stage (activation, batch norm) at the same cell.
    fn input_value(&self, stage: usize, channel: usize, row: usize, col: usize) -> f32 {
        let x = self.input_map(stage);
        let [_, h, w] = self.stages[stage].shape;
        let (xc, xh, xw) = x.dim();
        if (xh, xw) == (h, w) {
            x[[channel, row, col]]
        } else {
            // the stage before was flattened: the same value in PyTorch's order
            let i = channel * h * w + row * w + col;
            x[[i / (xh * xw) % xc, i / xw % xh, i % xw]]
        }
    }
}

/// The stages of a forward pass: the input, then every named output but the scores.
fn stages_of(net: &Net, trace: &Trace, input: &[f32]) -> Vec<StageInfo> {
    let range = |v: &mut dyn Iterator<Item = f32>| {
        v.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        })
    };
    let (min, max) = range(&mut input.iter().copied());
    let mut stages = vec![StageInfo {
        name: "input".into(),
        kind: StageKind::Input,
        layer: None,
        from: None,
        shape: net.plan.input_dims(),
        flat: false,
        min,
        max,
    }];
    for (i, l) in net.plan.layers.iter().enumerate() {
        let Some(name) = &l.act else { continue };
        if name == "logits" {
            continue;
        }
        let kind = match l.layer {
            Layer::Conv { k, stride, pad, .. } => StageKind::Conv { k, stride, pad },
            Layer::MaxPool { k, stride } => StageKind::Pool {
                max: true,
                k,
                stride,
            },
            Layer::AvgPool { k, stride } => StageKind::Pool {
                max: false,
                k,
                stride,
            },
            Layer::Relu => StageKind::Act(Act::Relu),
            Layer::Tanh => StageKind::Act(Act::Tanh),
            Layer::Sigmoid => StageKind::Act(Act::Sigmoid),
            Layer::LeakyRelu { slope } => StageKind::Act(Act::Leaky(slope)),
            Layer::BatchNorm => StageKind::Norm,
            Layer::Linear { .. } => StageKind::Linear,
            Layer::Dropout2d { .. } | Layer::Dropout { .. } | Layer::Flatten => continue,
        };
        let (min, max) = trace
            .get(name)
            .map_or((0.0, 0.0), |a| range(&mut a.iter().copied()));
        let from = stages.len() - 1;
        stages.push(StageInfo {
            name: name.clone(),
            kind,
            layer: Some(i),
            from: Some(from),
            shape: dims3(l.output),
            flat: matches!(l.output, Shape::Flat(_)),
            min,
            max,
        });
    }
    stages
}

/// The last linear layer's sum per class and per channel of the stage feeding it.
fn decide(net: &Net, trace: &Trace, stages: &[StageInfo], input: &[f32]) -> Decision {
    let k = net.classes();
    let last = net
        .plan
        .layers
        .iter()
        .rposition(|l| matches!(l.layer, Layer::Linear { .. }))
        .unwrap_or_else(|| unreachable!("a plan has a linear layer"));
    let layer = &net.plan.layers[last];
    let source = stages
        .iter()
        .rposition(|s| s.layer.is_none_or(|l| l < last))
        .unwrap_or(0);
    let src = &stages[source];
    let act: &[f32] = if src.layer.is_none() {
        input
    } else {
        trace
            .get(&src.name)
            .and_then(|a| a.as_slice())
            .unwrap_or(&[])
    };
    let [channels, h, w] = src.shape;
    let plane = h * w;
    let fcw = &net.params[layer.tensors[0]].data;
    let n = act.len();
    let mut maps = Vec::with_capacity(k * n);
    let mut channel_totals = Vec::with_capacity(k);
    for class in 0..k {
        let row = &fcw[class * n..(class + 1) * n];
        maps.extend(row.iter().zip(act).map(|(&w, &a)| w * a));
        let totals = (0..channels)
            .map(|c| {
                row[c * plane..(c + 1) * plane]
                    .iter()
                    .zip(&act[c * plane..(c + 1) * plane])
                    .map(|(&w, &a)| f64::from(w) * f64::from(a))
                    .sum()
            })
            .collect();
        channel_totals.push(totals);
    }
    let scores: Vec<f32> = trace.logits().iter().copied().collect();
    let probabilities = trace.log_probs().iter().map(|v| v.exp()).collect();
    Decision {
        scores,
        probabilities,
        bias: net.params[layer.tensors[1]].data.clone(),
        source,
        channels,
        side: (h, w),
        channel_totals,
        maps,
        weights: fcw[..k * n].to_vec(),
    }
}

fn check_channel(name: &str, channel: usize, channels: usize) -> Result<()> {
    if channel >= channels {
        return Err(Error::Usage(format!(
            "channel {channel} is out of range: {name} has channels 0 to {}",
            channels - 1
        )));
    }
    Ok(())
}

fn check_position(name: &str, row: usize, col: usize, (h, w): (usize, usize)) -> Result<()> {
    if row >= h || col >= w {
        let range = if h == w {
            format!("rows and columns 0 to {}", h - 1)
        } else {
            format!("rows 0 to {}, columns 0 to {}", h - 1, w - 1)
        };
        return Err(Error::Usage(format!(
            "position {row},{col} is out of range: {name} is {h}x{w}, {range}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::{Arch, Plan, BN_EPS};

    fn explorer_of(net: Net) -> Explorer {
        // a smooth, varied image in [-1, 1]
        let input: Vec<f32> = (0..net.plan.input_len())
            .map(|i| ((i as f32) * 0.013).sin())
            .collect();
        Explorer::new(net, vec!["a".into(), "b".into(), "c".into()], input).unwrap()
    }

    fn explorer() -> Explorer {
        explorer_of(Net::course(5, 3))
    }

    #[test]
    fn the_course_nets_stages_are_todays() {
        let e = explorer();
        let names: Vec<&str> = e.stages().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["input", "conv1", "pool1", "relu1", "conv2", "pool2", "relu2", "conv3", "relu3"]
        );
        assert_eq!(e.stages()[3].shape, [12, 64, 64]);
        assert_eq!(e.decision().source, 8);
        assert_eq!((e.decision().channels, e.decision().side), (24, (32, 32)));
    }

    #[test]
    fn pool_winner_is_the_first_maximum_in_reading_order() {
        assert_eq!(pool_winner(&[1.0, 3.0, 2.0, 0.0]), 1);
        assert_eq!(pool_winner(&[2.0, 2.0, 2.0, 2.0]), 0);
        assert_eq!(pool_winner(&[0.0, 5.0, 1.0, 5.0]), 1);
        assert_eq!(pool_winner(&[-3.0, -2.0, -1.0, -1.0]), 2);
    }

    #[test]
    fn pool_cells_match_the_forward_pass() {
        let e = explorer();
        for (pool, relu, side) in [("pool1", "relu1", 64), ("pool2", "relu2", 32)] {
            let (p_at, r_at) = (e.stage(pool).unwrap(), e.stage(relu).unwrap());
            for (ch, r, c) in [(0, 0, 0), (3, 10, 20), (11, side - 1, side - 1)] {
                let p = e.pool_cell(p_at, ch, r, c).unwrap();
                assert_eq!(p.value, p.window[p.winner.unwrap()], "{pool} {ch},{r},{c}");
                assert!(p.window.iter().all(|&v| v <= p.value));
                let a = e.act_cell(r_at, ch, r, c).unwrap();
                assert_eq!(a.before, p.value);
            }
        }
        let err = e
            .pool_cell(e.stage("pool1").unwrap(), 0, 64, 0)
            .unwrap_err();
        assert!(err.to_string().contains("0 to 63"), "{err}");
        assert!(e.pool_cell(e.stage("conv3").unwrap(), 0, 0, 0).is_err());
    }

    #[test]
    fn relu_keeps_positives_and_zeroes_negatives() {
        let e = explorer();
        let (mut pos, mut neg) = (0, 0);
        for name in ["relu1", "relu2", "relu3"] {
            let s = e.stage(name).unwrap();
            for r in 0..8 {
                let cell = e.act_cell(s, 1, r, 2 * r).unwrap();
                if cell.before > 0.0 {
                    pos += 1;
                    assert_eq!(cell.after, cell.before);
                } else {
                    neg += 1;
                    assert_eq!(cell.after, 0.0);
                }
            }
        }
        assert!(pos > 0 && neg > 0, "both signs seen: {pos} {neg}");
    }

    fn assert_conv_sums(e: &Explorer, stage: usize, cells: &[(usize, usize, usize)]) {
        for &(ch, r, c) in cells {
            let cell = e.conv_cell(stage, ch, r, c).unwrap();
            let abs: f64 = cell.terms().map(|t| t.product().abs()).sum();
            let err = (cell.sum() - f64::from(cell.value)).abs();
            assert!(
                err <= 1e-5 * abs + 1e-4 * f64::from(cell.value.abs()) + 1e-7,
                "{} {ch},{r},{c}: {} vs {}",
                cell.name,
                cell.sum(),
                cell.value
            );
        }
    }

    #[test]
    fn conv_terms_sum_to_the_forward_value() {
        let e = explorer();
        for name in ["conv1", "conv2", "conv3"] {
            let s = e.stage(name).unwrap();
            let side = e.stages()[s].shape[1];
            let cell = e.conv_cell(s, 0, 0, 0).unwrap();
            assert_eq!(cell.terms().count(), 9 * e.input_map(s).dim().0);
            assert_conv_sums(
                &e,
                s,
                &[(0, 0, 0), (2, side / 2, side / 3), (5, side - 1, 7)],
            );
        }
        // corner cells read the padding: 5 of the 9 positions per channel
        let corner = e.conv_cell(e.stage("conv2").unwrap(), 0, 0, 0).unwrap();
        let padded = corner.inputs[0].terms.iter().filter(|t| t.at.is_none());
        assert_eq!(padded.count(), 5);
    }

    /// Any architecture: strided 5x5 and 1x1 convolutions, batch norm, average pooling,
    /// tanh, a hidden linear layer: every cell adds up to the forward pass's value.
    #[test]
    fn any_architectures_cells_add_up() {
        let arch = Arch::parse(
            "conv(6,5,stride=2) batchnorm leakyrelu(0.1) avgpool(3,stride=2) conv(4,1) tanh \
             flatten linear(10) sigmoid linear",
        )
        .unwrap();
        let mut net = Net::new(Plan::new(&arch, [3, 32, 32], 3).unwrap(), 3);
        // running statistics away from 0 and 1
        for p in net
            .params
            .iter_mut()
            .filter(|p| p.name.starts_with("bn1.running"))
        {
            for (i, v) in p.data.iter_mut().enumerate() {
                *v = 0.5 + 0.1 * i as f32;
            }
        }
        let e = explorer_of(net);
        let names: Vec<&str> = e.stages().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "input",
                "conv1",
                "bn1",
                "leakyrelu1",
                "avgpool1",
                "conv2",
                "tanh1",
                "fc1",
                "sigmoid1"
            ]
        );
        assert_conv_sums(&e, 1, &[(0, 0, 0), (5, 15, 15), (3, 7, 2)]);
        assert_conv_sums(&e, 5, &[(0, 0, 0), (3, 6, 6)]);
        let n = e.norm_cell(2, 4, 3, 9).unwrap();
        let want = (n.before - n.mean) / (n.var + BN_EPS).sqrt() * n.weight + n.bias;
        assert!((want - n.after).abs() < 1e-5, "{n:?}");
        let a = e.act_cell(3, 4, 3, 9).unwrap();
        assert_eq!(a.before, n.after);
        assert_eq!(
            a.after,
            if a.before > 0.0 {
                a.before
            } else {
                0.1 * a.before
            }
        );
        let p = e.pool_cell(4, 1, 2, 3).unwrap();
        let mean = p.window.iter().sum::<f32>() / 9.0;
        assert!((mean - p.value).abs() < 1e-6 && p.winner.is_none());
        let l = e.linear_cell(7, 4).unwrap();
        assert!((l.sum - f64::from(l.value)).abs() < 1e-4, "{l:?}");
        assert_eq!(l.inputs, 4 * 7 * 7);
        let s = e.act_cell(8, 4, 0, 0).unwrap();
        assert_eq!(s.before, l.value);
        // the decision splits the last linear's sum over sigmoid1's 10 values
        let d = e.decision();
        assert_eq!((d.source, d.channels, d.side), (8, 10, (1, 1)));
        for class in 0..3 {
            assert!((d.sum(class) - f64::from(d.scores[class])).abs() < 1e-4);
        }
    }

    #[test]
    fn decision_sums_to_the_scores() {
        let e = explorer();
        let d = e.decision();
        for class in 0..3 {
            let s = d.sum(class);
            assert!((s - f64::from(d.scores[class])).abs() < 1e-4, "{s}");
            let map_total: f64 = (0..d.channels)
                .map(|c| d.map(class, c).iter().map(|&v| f64::from(v)).sum::<f64>())
                .sum();
            assert!((map_total + f64::from(d.bias[class]) - s).abs() < 1e-4);
            let ranked = d.ranked_channels(class);
            assert!(ranked.windows(2).all(|w| w[0].1 >= w[1].1));
        }
        let p: f32 = d.probabilities.iter().sum();
        assert!((p - 1.0).abs() < 1e-5);
    }

    #[test]
    fn out_of_range_names_the_valid_range() {
        let e = explorer();
        let err = e.conv_cell(1, 12, 0, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "channel 12 is out of range: conv1 has channels 0 to 11"
        );
        let err = e.conv_cell(7, 0, 3, 32).unwrap_err();
        assert_eq!(
            err.to_string(),
            "position 3,32 is out of range: conv3 is 32x32, rows and columns 0 to 31"
        );
        let err = e.stage_named("conv4").unwrap_err().to_string();
        assert!(
            err.contains("no layer output `conv4`") && err.contains("relu3, fc"),
            "{err}"
        );
    }
}
