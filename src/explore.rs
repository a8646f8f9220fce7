//! The inspector's engine (issue 13): one image through a trained net, every map kept,
//! and any cell explained with the learned weights.
//!
//! [`Explorer::new`] runs the eval-mode forward pass once ([`cpu::forward_trace`], the
//! pass that `predict`, `evaluate` and training run; dropout is off) and computes the
//! decision maps once. Every query after that is cheap and allocates little:
//!
//! - [`Explorer::conv_cell`]: a conv output cell as the bias plus its 27 (conv1) or 108
//!   (conv2, conv3) products input x weight, grouped per input channel; the value shown
//!   is the forward pass's, and the products are read from the same weights and the same
//!   layer input (a test checks that they sum to it);
//! - [`Explorer::pool_cell`]: the 2x2 window of a pooled cell and its winner (the first
//!   maximum in reading order, as PyTorch's `MaxPool2d`);
//! - [`Explorer::relu_cell`]: the value before and after a ReLU;
//! - [`Explorer::decision`]: the fully connected sum split into a weight x activation map
//!   per conv3 channel and class, the channel totals, the scores and the softmax;
//! - [`Explorer::map`] and [`Explorer::stages`]: any stage's map, its shape and range.

use ndarray::{ArrayView2, ArrayView3};

use crate::backend::cpu::{self, argmax};
use crate::nn::net::{idx, Net, Trace, C1, C2, C3, IMAGE_SIDE, IN_CHANNELS, KERNEL};
use crate::nn::net::{POOL1_SIDE, POOL2_SIDE};
use crate::{Error, Result};

/// A convolution of the net, named as PyTorch's module. Each one starts a block:
/// conv, then (conv1, conv2) the 2x2 max pool, then the ReLU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConvLayer {
    /// `conv1`, 3 → 12 channels, 128x128.
    Conv1,
    /// `conv2`, 12 → 12 channels, 64x64.
    Conv2,
    /// `conv3`, 12 → 24 channels, 32x32.
    Conv3,
}

impl ConvLayer {
    /// All three, in order.
    pub const ALL: [ConvLayer; 3] = [ConvLayer::Conv1, ConvLayer::Conv2, ConvLayer::Conv3];

    /// PyTorch's module name.
    pub fn name(self) -> &'static str {
        match self {
            ConvLayer::Conv1 => "conv1",
            ConvLayer::Conv2 => "conv2",
            ConvLayer::Conv3 => "conv3",
        }
    }

    /// Channels fed into the layer.
    pub fn in_channels(self) -> usize {
        match self {
            ConvLayer::Conv1 => IN_CHANNELS,
            ConvLayer::Conv2 => C1,
            ConvLayer::Conv3 => C2,
        }
    }

    /// Channels it outputs.
    pub fn out_channels(self) -> usize {
        match self {
            ConvLayer::Conv1 => C1,
            ConvLayer::Conv2 => C2,
            ConvLayer::Conv3 => C3,
        }
    }

    /// Side of its input and output maps (3x3, stride 1, padding 1 keeps the size).
    pub fn side(self) -> usize {
        match self {
            ConvLayer::Conv1 => IMAGE_SIDE,
            ConvLayer::Conv2 => POOL1_SIDE,
            ConvLayer::Conv3 => POOL2_SIDE,
        }
    }

    /// Whether a 2x2 max pool follows it (conv1, conv2).
    pub fn is_pooled(self) -> bool {
        self != ConvLayer::Conv3
    }

    fn weight_index(self) -> usize {
        match self {
            ConvLayer::Conv1 => idx::CONV1_W,
            ConvLayer::Conv2 => idx::CONV2_W,
            ConvLayer::Conv3 => idx::CONV3_W,
        }
    }
}

/// Every map one image passes through, in order (the names of `shared/golden/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The normalised image.
    Input,
    Conv1,
    Pool1,
    Relu1,
    Conv2,
    Pool2,
    Relu2,
    Conv3,
    Relu3,
}

impl Stage {
    /// All stages, in the order of the forward pass.
    pub const ALL: [Stage; 9] = [
        Stage::Input,
        Stage::Conv1,
        Stage::Pool1,
        Stage::Relu1,
        Stage::Conv2,
        Stage::Pool2,
        Stage::Relu2,
        Stage::Conv3,
        Stage::Relu3,
    ];

    /// Its name: `input`, `conv1`, `pool1`, `relu1` ...
    pub fn name(self) -> &'static str {
        match self {
            Stage::Input => "input",
            Stage::Conv1 => "conv1",
            Stage::Pool1 => "pool1",
            Stage::Relu1 => "relu1",
            Stage::Conv2 => "conv2",
            Stage::Pool2 => "pool2",
            Stage::Relu2 => "relu2",
            Stage::Conv3 => "conv3",
            Stage::Relu3 => "relu3",
        }
    }
}

/// A stage's shape and value range, for the overview.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageInfo {
    pub stage: Stage,
    /// channels, height, width
    pub shape: [usize; 3],
    pub min: f32,
    pub max: f32,
}

/// One product of a convolution cell: the layer input at one position times one weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    /// Input channel.
    pub channel: usize,
    /// Kernel row and column, 0..3.
    pub ky: usize,
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

/// The nine products of one input channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelTerms {
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
    pub layer: ConvLayer,
    /// Output channel, row and column.
    pub channel: usize,
    pub row: usize,
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
}

/// A cell of the 2x2 max pool after conv1 or conv2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolCell {
    /// The conv whose output is pooled.
    pub layer: ConvLayer,
    /// Channel, row and column of the pooled cell.
    pub channel: usize,
    pub row: usize,
    pub col: usize,
    /// The conv outputs of the window, row-major: rows 2*row, 2*row+1, columns 2*col, 2*col+1.
    pub window: [f32; 4],
    /// Which of `window` won: the first maximum in reading order (as PyTorch).
    pub winner: usize,
    /// The pooled value the forward pass computed (= `window[winner]`).
    pub value: f32,
}

/// Index of the window's maximum, the first one in reading order on ties (as PyTorch's
/// `MaxPool2d` picks, and its indices report).
pub fn pool_winner(window: &[f32; 4]) -> usize {
    let mut best = 0;
    for (i, &v) in window.iter().enumerate() {
        if v > window[best] {
            best = i;
        }
    }
    best
}

/// A ReLU cell: the value before and after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReluCell {
    pub before: f32,
    pub after: f32,
}

/// The fully connected layer's sum, split into where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Scores (logits) from the forward pass, one per class.
    pub scores: Vec<f32>,
    /// softmax of the scores.
    pub probabilities: Vec<f32>,
    /// `fc.bias`.
    pub bias: Vec<f32>,
    /// `[class][channel]`: the sum of that channel's weight x activation map.
    pub channel_totals: Vec<Vec<f64>>,
    /// `[class][channel][row][col]` flattened: fc weight x relu3 activation.
    maps: Vec<f32>,
}

impl Decision {
    /// For `class`, the 32x32 map of weight x activation of conv3 channel `channel`:
    /// which regions pushed the score up (positive) or down.
    pub fn map(&self, class: usize, channel: usize) -> ArrayView2<'_, f32> {
        let plane = POOL2_SIDE * POOL2_SIDE;
        let start = (class * C3 + channel) * plane;
        ArrayView2::from_shape((POOL2_SIDE, POOL2_SIDE), &self.maps[start..start + plane])
            .unwrap_or_else(|_| unreachable!("the maps are [classes, 24, 32, 32]"))
    }

    /// The conv3 channels of `class`, most positive total first (ties: lower channel first).
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
    /// The normalised image, [3, 128, 128] CHW.
    input: Vec<f32>,
    trace: Trace,
    decision: Decision,
}

impl Explorer {
    /// Run `input` (one normalised 3x128x128 CHW image) through `net` once, dropout off.
    /// `classes`: the class names (as the checkpoint names them; missing names are
    /// filled in as `class{i}`).
    pub fn new(net: Net, classes: Vec<String>, input: Vec<f32>) -> Result<Explorer> {
        if !net.plan.arch.is_course() {
            return Err(Error::Other(format!(
                "explore looks inside the course's network only (this model is `{}`)",
                net.plan.arch
            )));
        }
        if input.len() != crate::nn::net::IN_LEN {
            return Err(Error::Other(format!(
                "explore takes one {IN_CHANNELS}x{IMAGE_SIDE}x{IMAGE_SIDE} image, not {} floats",
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
        let decision = decide(&net, &trace);
        Ok(Explorer {
            net,
            classes,
            input,
            trace,
            decision,
        })
    }

    /// Run `pixels` (one 3x128x128 CHW u8 image, as [`crate::data::load_image`] and
    /// [`crate::data::rgb_to_chw`] give) through `net`, normalised as training does.
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

    /// The net explored.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// Class names, one per output.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Every intermediate tensor of the forward pass (batch of one).
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The decision: scores, probabilities and where the scores came from.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// A stage's maps, [channels, side, side].
    pub fn map(&self, stage: Stage) -> ArrayView3<'_, f32> {
        let t = &self.trace;
        let a = match stage {
            Stage::Input => {
                return ArrayView3::from_shape((IN_CHANNELS, IMAGE_SIDE, IMAGE_SIDE), &self.input)
                    .unwrap_or_else(|_| unreachable!("checked in Explorer::new"))
            }
            Stage::Conv1 => "conv1",
            Stage::Pool1 => "pool1",
            Stage::Relu1 => "relu1",
            Stage::Conv2 => "conv2",
            Stage::Pool2 => "pool2",
            Stage::Relu2 => "relu2",
            Stage::Conv3 => "conv3",
            Stage::Relu3 => "relu3",
        };
        let a = t
            .maps(a)
            .unwrap_or_else(|| unreachable!("the course's net names every stage"));
        a.index_axis_move(ndarray::Axis(0), 0)
    }

    /// Every stage's shape and value range, in order.
    pub fn stages(&self) -> Vec<StageInfo> {
        Stage::ALL
            .iter()
            .map(|&stage| {
                let m = self.map(stage);
                let (c, h, w) = m.dim();
                let (min, max) = m
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                        (a.min(v), b.max(v))
                    });
                StageInfo {
                    stage,
                    shape: [c, h, w],
                    min,
                    max,
                }
            })
            .collect()
    }

    /// The map fed into `layer`: the image for conv1, relu1 for conv2, relu2 for conv3.
    pub fn layer_input(&self, layer: ConvLayer) -> ArrayView3<'_, f32> {
        self.map(match layer {
            ConvLayer::Conv1 => Stage::Input,
            ConvLayer::Conv2 => Stage::Relu1,
            ConvLayer::Conv3 => Stage::Relu2,
        })
    }

    /// A conv layer's output map, before pooling and ReLU.
    pub fn layer_output(&self, layer: ConvLayer) -> ArrayView3<'_, f32> {
        self.map(match layer {
            ConvLayer::Conv1 => Stage::Conv1,
            ConvLayer::Conv2 => Stage::Conv2,
            ConvLayer::Conv3 => Stage::Conv3,
        })
    }

    /// The cell of `channel` of `layer`'s output with the largest value (the first in
    /// reading order on ties): where that filter answers most strongly.
    pub fn strongest_cell(&self, layer: ConvLayer, channel: usize) -> Result<(usize, usize)> {
        check_channel(layer.name(), channel, layer.out_channels())?;
        let m = self.layer_output(layer);
        let plane = m.index_axis(ndarray::Axis(0), channel);
        let mut best = (0, 0);
        for ((r, c), &v) in plane.indexed_iter() {
            if v > plane[best] {
                best = (r, c);
            }
        }
        Ok(best)
    }

    /// How cell (`channel`, `row`, `col`) of `layer`'s output was computed. A channel or
    /// position out of range is an [`Error::Usage`] naming the valid range.
    pub fn conv_cell(
        &self,
        layer: ConvLayer,
        channel: usize,
        row: usize,
        col: usize,
    ) -> Result<ConvCell> {
        let side = layer.side();
        check_channel(layer.name(), channel, layer.out_channels())?;
        check_position(layer.name(), row, col, side)?;
        let w = self.net.conv_weight(layer.weight_index());
        let bias = self.net.bias(layer.weight_index() + 1)[channel];
        let x = self.layer_input(layer);
        let inputs = (0..layer.in_channels())
            .map(|ci| {
                let mut terms = Vec::with_capacity(KERNEL * KERNEL);
                for ky in 0..KERNEL {
                    for kx in 0..KERNEL {
                        // padding 1: kernel position (ky, kx) reads input (row+ky-1, col+kx-1)
                        let at = (row + ky)
                            .checked_sub(1)
                            .zip((col + kx).checked_sub(1))
                            .filter(|&(r, c)| r < side && c < side);
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
            layer,
            channel,
            row,
            col,
            value: self.layer_output(layer)[[channel, row, col]],
            bias,
            inputs,
        })
    }

    /// The 2x2 window of pooled cell (`channel`, `row`, `col`) after `layer` (conv1 or
    /// conv2) and its winner.
    pub fn pool_cell(
        &self,
        layer: ConvLayer,
        channel: usize,
        row: usize,
        col: usize,
    ) -> Result<PoolCell> {
        let name = match layer {
            ConvLayer::Conv1 => "pool1",
            ConvLayer::Conv2 => "pool2",
            ConvLayer::Conv3 => {
                return Err(Error::Usage(
                    "conv3 is not pooled (pools follow conv1 and conv2)".into(),
                ))
            }
        };
        check_channel(name, channel, layer.out_channels())?;
        check_position(name, row, col, layer.side() / 2)?;
        let conv = self.layer_output(layer);
        let (r, c) = (2 * row, 2 * col);
        let window = [
            conv[[channel, r, c]],
            conv[[channel, r, c + 1]],
            conv[[channel, r + 1, c]],
            conv[[channel, r + 1, c + 1]],
        ];
        let pooled = self.map(if layer == ConvLayer::Conv1 {
            Stage::Pool1
        } else {
            Stage::Pool2
        });
        Ok(PoolCell {
            layer,
            channel,
            row,
            col,
            window,
            winner: pool_winner(&window),
            value: pooled[[channel, row, col]],
        })
    }

    /// The ReLU ending `layer`'s block at (`channel`, `row`, `col`): for conv1 and conv2
    /// it follows the pool (so the position is in the pooled map), for conv3 the conv.
    pub fn relu_cell(
        &self,
        layer: ConvLayer,
        channel: usize,
        row: usize,
        col: usize,
    ) -> Result<ReluCell> {
        let (before, after, name, side) = match layer {
            ConvLayer::Conv1 => (Stage::Pool1, Stage::Relu1, "relu1", POOL1_SIDE),
            ConvLayer::Conv2 => (Stage::Pool2, Stage::Relu2, "relu2", POOL2_SIDE),
            ConvLayer::Conv3 => (Stage::Conv3, Stage::Relu3, "relu3", POOL2_SIDE),
        };
        check_channel(name, channel, layer.out_channels())?;
        check_position(name, row, col, side)?;
        Ok(ReluCell {
            before: self.map(before)[[channel, row, col]],
            after: self.map(after)[[channel, row, col]],
        })
    }
}

/// The fc layer's sum per class and conv3 channel, from the weights and relu3.
fn decide(net: &Net, trace: &Trace) -> Decision {
    let k = net.classes();
    let plane = POOL2_SIDE * POOL2_SIDE;
    let act = trace.get("relu3").and_then(|a| a.as_slice()).unwrap_or(&[]);
    let fcw = &net.params[idx::FC_W].data;
    let mut maps = Vec::with_capacity(k * act.len());
    let mut channel_totals = Vec::with_capacity(k);
    for class in 0..k {
        let row = &fcw[class * act.len()..(class + 1) * act.len()];
        let start = maps.len();
        maps.extend(row.iter().zip(act).map(|(&w, &a)| w * a));
        let totals = (0..C3)
            .map(|c| {
                row[c * plane..(c + 1) * plane]
                    .iter()
                    .zip(&act[c * plane..(c + 1) * plane])
                    .map(|(&w, &a)| f64::from(w) * f64::from(a))
                    .sum()
            })
            .collect();
        debug_assert_eq!(maps.len() - start, act.len());
        channel_totals.push(totals);
    }
    let scores: Vec<f32> = trace.logits().iter().copied().collect();
    let probabilities = trace.log_probs().iter().map(|v| v.exp()).collect();
    Decision {
        scores,
        probabilities,
        bias: net.params[idx::FC_B].data.clone(),
        channel_totals,
        maps,
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

fn check_position(name: &str, row: usize, col: usize, side: usize) -> Result<()> {
    if row >= side || col >= side {
        return Err(Error::Usage(format!(
            "position {row},{col} is out of range: {name} is {side}x{side}, rows and columns 0 to {}",
            side - 1
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explorer() -> Explorer {
        let net = Net::course(5, 3);
        // a smooth, varied image in [-1, 1]
        let input: Vec<f32> = (0..crate::nn::net::IN_LEN)
            .map(|i| ((i as f32) * 0.013).sin())
            .collect();
        Explorer::new(net, vec!["a".into(), "b".into(), "c".into()], input).unwrap()
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
        for (layer, side) in [(ConvLayer::Conv1, 64), (ConvLayer::Conv2, 32)] {
            for (ch, r, c) in [(0, 0, 0), (3, 10, 20), (11, side - 1, side - 1)] {
                let p = e.pool_cell(layer, ch, r, c).unwrap();
                assert_eq!(p.value, p.window[p.winner], "{layer:?} {ch},{r},{c}");
                assert!(p.window.iter().all(|&v| v <= p.value));
                let relu = e.relu_cell(layer, ch, r, c).unwrap();
                assert_eq!(relu.before, p.value);
            }
        }
        let err = e.pool_cell(ConvLayer::Conv1, 0, 64, 0).unwrap_err();
        assert!(err.to_string().contains("0 to 63"), "{err}");
        assert!(e.pool_cell(ConvLayer::Conv3, 0, 0, 0).is_err());
    }

    #[test]
    fn relu_keeps_positives_and_zeroes_negatives() {
        let e = explorer();
        let (mut pos, mut neg) = (0, 0);
        for layer in ConvLayer::ALL {
            for r in 0..8 {
                let cell = e.relu_cell(layer, 1, r, 2 * r).unwrap();
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

    #[test]
    fn conv_terms_sum_to_the_forward_value() {
        let e = explorer();
        for layer in ConvLayer::ALL {
            let side = layer.side();
            for (ch, r, c) in [(0, 0, 0), (2, side / 2, side / 3), (5, side - 1, 7)] {
                let cell = e.conv_cell(layer, ch, r, c).unwrap();
                assert_eq!(cell.terms().count(), 9 * layer.in_channels());
                let abs: f64 = cell.terms().map(|t| t.product().abs()).sum();
                let err = (cell.sum() - f64::from(cell.value)).abs();
                assert!(
                    err <= 1e-5 * abs + 1e-4 * f64::from(cell.value.abs()) + 1e-7,
                    "{layer:?} {ch},{r},{c}: {} vs {}",
                    cell.sum(),
                    cell.value
                );
            }
        }
        // corner cells read the padding: 5 of the 9 positions per channel
        let corner = e.conv_cell(ConvLayer::Conv2, 0, 0, 0).unwrap();
        let padded = corner.inputs[0].terms.iter().filter(|t| t.at.is_none());
        assert_eq!(padded.count(), 5);
    }

    #[test]
    fn decision_sums_to_the_scores() {
        let e = explorer();
        let d = e.decision();
        for class in 0..3 {
            let s = d.sum(class);
            assert!((s - f64::from(d.scores[class])).abs() < 1e-4, "{s}");
            let map_total: f64 = (0..C3)
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
        let err = e.conv_cell(ConvLayer::Conv1, 12, 0, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "channel 12 is out of range: conv1 has channels 0 to 11"
        );
        let err = e.conv_cell(ConvLayer::Conv3, 0, 3, 32).unwrap_err();
        assert_eq!(
            err.to_string(),
            "position 3,32 is out of range: conv3 is 32x32, rows and columns 0 to 31"
        );
    }
}
