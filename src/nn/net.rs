//! A network's tensors (named and shaped as PyTorch's `state_dict`, in the order its
//! [`Plan`] gives) and the reference forward pass; the course's `Net` is the default:
//!
//! ```text
//! x [N,3,128,128] → conv1 (3→12, 3x3, s1, p1) → pool 2x2 → relu          [N,12,64,64]
//!                 → conv2 (12→12)             → pool 2x2 → relu          [N,12,32,32]
//!                 → conv3 (12→24)             → dropout2d(0.2) → relu    [N,24,32,32]
//!                 → dropout(0.5) → flatten [N,24576] → fc (24576→3) → log_softmax
//! ```

use std::sync::Arc;

use ndarray::{Array2, Array4, ArrayD, ArrayView1, ArrayView2, ArrayView4, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::arch::{Layer, Plan};
use super::ops;

// The input the data loader gives, and the course's net's geometry: code that has not
// yet moved to reading a [`Plan`] takes its sizes from here.

/// Input channels (RGB).
pub const IN_CHANNELS: usize = 3;
/// Side of the input images (and of conv1's output: every conv keeps the size).
pub const IMAGE_SIDE: usize = 128;
/// Side after the first 2x2 pool (conv2's input and output): 64.
pub const POOL1_SIDE: usize = IMAGE_SIDE / 2;
/// Side after the second 2x2 pool (conv3's input and output): 32.
pub const POOL2_SIDE: usize = POOL1_SIDE / 2;
/// Floats in one input image: 3 x 128 x 128.
pub const IN_LEN: usize = IN_CHANNELS * IMAGE_SIDE * IMAGE_SIDE;
/// Side of every convolution kernel (3x3, stride 1, padding 1).
pub const KERNEL: usize = 3;
/// conv1 output channels.
pub const C1: usize = 12;
/// conv2 output channels.
pub const C2: usize = 12;
/// conv3 output channels.
pub const C3: usize = 24;
/// Features entering the fully connected layer: 24 x 32 x 32.
pub const FC_IN: usize = C3 * POOL2_SIDE * POOL2_SIDE;
/// Classes of the seed course (circle, square, triangle).
pub const NUM_CLASSES: usize = 3;
/// Dropout2d probability after conv3.
pub const DROP2D_P: f32 = 0.2;
/// Elementwise dropout probability before the fully connected layer.
pub const DROP_P: f32 = 0.5;

/// Index of each parameter of the course's net in [`Net::params`].
pub mod idx {
    /// `conv1.weight`.
    pub const CONV1_W: usize = 0;
    /// `conv1.bias`.
    pub const CONV1_B: usize = 1;
    /// `conv2.weight`.
    pub const CONV2_W: usize = 2;
    /// `conv2.bias`.
    pub const CONV2_B: usize = 3;
    /// `conv3.weight`.
    pub const CONV3_W: usize = 4;
    /// `conv3.bias`.
    pub const CONV3_B: usize = 5;
    /// `fc.weight`.
    pub const FC_W: usize = 6;
    /// `fc.bias`.
    pub const FC_B: usize = 7;
}

/// One named tensor of the network (a parameter, or a buffer such as batch norm's running
/// statistics), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// PyTorch `state_dict` key, e.g. `conv1.weight`.
    pub name: String,
    /// PyTorch shape.
    pub shape: Vec<usize>,
    /// Values, row-major (`shape.iter().product()` of them).
    pub data: Vec<f32>,
    /// Trained by the optimiser (false: a buffer).
    pub trainable: bool,
}

/// A network: its [`Plan`] and its tensors in `state_dict` order (see [`Plan::tensors`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Net {
    /// What the network is: layers, shapes, names.
    pub plan: Arc<Plan>,
    /// Parameters and buffers, in `state_dict` order.
    pub params: Vec<Param>,
}

/// Every named output of one forward pass with the dropouts off (eval mode), in layer
/// order (`conv1`, `pool1`, ... `logits`, `log_probs`; see [`Plan::act_names`]), each
/// [N, ...] as PyTorch shapes it: from the reference array ops ([`Net::forward_trace`],
/// the lessons and `verify`) or from the CPU backend's own pass
/// (`backend::cpu::forward_trace`, the inspector).
#[derive(Debug, Clone)]
pub struct Trace {
    /// The outputs, by name, in order.
    pub acts: Vec<(String, ArrayD<f32>)>,
}

impl Trace {
    /// The output named `name`.
    pub fn get(&self, name: &str) -> Option<&ArrayD<f32>> {
        self.acts.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// A map output as [N, C, H, W].
    pub fn maps(&self, name: &str) -> Option<ArrayView4<'_, f32>> {
        self.get(name)?.view().into_dimensionality().ok()
    }

    /// The last linear layer's output, [N, classes].
    pub fn logits(&self) -> ArrayView2<'_, f32> {
        self.rows("logits")
    }

    /// log_softmax of the network's output, [N, classes].
    pub fn log_probs(&self) -> ArrayView2<'_, f32> {
        self.rows("log_probs")
    }

    fn rows(&self, name: &str) -> ArrayView2<'_, f32> {
        self.get(name)
            .and_then(|a| a.view().into_dimensionality().ok())
            .unwrap_or_else(|| unreachable!("every trace ends with logits and log_probs"))
    }
}

impl Net {
    /// A net initialised like PyTorch's defaults, from `seed`: every convolution and
    /// linear weight and bias uniform in +-1/sqrt(fan_in) (Kaiming-uniform with a = sqrt(5)
    /// gives exactly that bound for the weights), drawn in `state_dict` order from ChaCha8;
    /// batch norm's weight 1, bias 0, running mean 0, running variance 1.
    pub fn new(plan: Plan, seed: u64) -> Net {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let params = plan
            .tensors
            .iter()
            .map(|t| {
                let n = t.len();
                let data = if t.fan_in > 0 {
                    let bound = 1.0 / (t.fan_in as f32).sqrt();
                    (0..n).map(|_| rng.gen_range(-bound..bound)).collect()
                } else if t.name.ends_with(".weight") || t.name.ends_with(".running_var") {
                    vec![1.0; n]
                } else {
                    vec![0.0; n]
                };
                Param {
                    name: t.name.clone(),
                    shape: t.shape.clone(),
                    data,
                    trainable: t.trainable,
                }
            })
            .collect();
        Net {
            plan: Arc::new(plan),
            params,
        }
    }

    /// The course's net on 3x128x128 images with `classes` outputs, initialised from
    /// `seed`.
    pub fn course(seed: u64, classes: usize) -> Net {
        Net::new(Plan::course(classes), seed)
    }

    /// Build a net from tensors in `state_dict` order (names, shapes and sizes as the plan
    /// says; `trainable` is taken from the plan); `None` when one differs.
    pub fn from_params(plan: Plan, params: Vec<Param>) -> Option<Net> {
        if params.len() != plan.tensors.len()
            || params
                .iter()
                .zip(&plan.tensors)
                .any(|(p, t)| p.name != t.name || p.shape != t.shape || p.data.len() != t.len())
        {
            return None;
        }
        let params = params
            .into_iter()
            .zip(&plan.tensors)
            .map(|(p, t)| Param {
                trainable: t.trainable,
                ..p
            })
            .collect();
        Some(Net {
            plan: Arc::new(plan),
            params,
        })
    }

    /// Number of output classes.
    pub fn classes(&self) -> usize {
        self.plan.classes
    }

    /// Total number of trainable values.
    pub fn num_values(&self) -> usize {
        self.params
            .iter()
            .filter(|p| p.trainable)
            .map(|p| p.data.len())
            .sum()
    }

    /// The tensor named `name` (a `state_dict` key).
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// A convolution weight as [cout, cin, k, k] (`i`: its index in `params`).
    pub fn conv_weight(&self, i: usize) -> ArrayView4<'_, f32> {
        let s = &self.params[i].shape;
        ArrayView4::from_shape((s[0], s[1], s[2], s[3]), &self.params[i].data)
            .unwrap_or_else(|_| unreachable!("shapes are checked on construction"))
    }

    /// The first convolution: the indices of its weight and bias in `params`, and its
    /// stride and padding (`None`: the network has no convolution).
    pub fn first_conv(&self) -> Option<(usize, usize, usize, usize)> {
        self.plan.layers.iter().find_map(|l| match l.layer {
            Layer::Conv { stride, pad, .. } => Some((l.tensors[0], l.tensors[1], stride, pad)),
            _ => None,
        })
    }

    /// A bias vector (`i`: its index in `params`).
    pub fn bias(&self, i: usize) -> ArrayView1<'_, f32> {
        ArrayView1::from(&self.params[i].data)
    }

    /// A linear weight as [out, in] (`i`: its index in `params`).
    pub fn linear_weight(&self, i: usize) -> ArrayView2<'_, f32> {
        let s = &self.params[i].shape;
        ArrayView2::from_shape((s[0], s[1]), &self.params[i].data)
            .unwrap_or_else(|_| unreachable!("shapes are checked on construction"))
    }

    /// The last linear layer's weight as [classes, in].
    pub fn fc_weight(&self) -> ArrayView2<'_, f32> {
        let layer = self
            .plan
            .layers
            .iter()
            .rev()
            .find(|l| matches!(l.layer, Layer::Linear { .. }))
            .unwrap_or_else(|| unreachable!("a plan has a linear layer"));
        self.linear_weight(layer.tensors[0])
    }

    /// Forward pass in eval mode (dropouts off, batch norm on its running statistics) with
    /// the reference array ops, keeping every named output. `x` is [N, C, H, W] as the
    /// plan's input, normalised.
    pub fn forward_trace(&self, x: &Array4<f32>) -> Trace {
        self.forward_trace_mode(x, false)
    }

    /// [`Net::forward_trace`], or with `train` batch norm on the batch's statistics (the
    /// dropouts stay off: a training-mode reference with p = 0).
    pub fn forward_trace_mode(&self, x: &Array4<f32>, train: bool) -> Trace {
        let mut acts = Vec::new();
        let mut cur = x.clone().into_dyn();
        for l in &self.plan.layers {
            let t = &l.tensors;
            let maps = |a: &ArrayD<f32>| -> Array4<f32> {
                a.view()
                    .into_dimensionality()
                    .unwrap_or_else(|_| unreachable!("the plan puts maps here"))
                    .to_owned()
            };
            cur = match l.layer {
                Layer::Conv { stride, pad, .. } => {
                    let w = self.conv_weight(t[0]).to_owned();
                    let b = self.bias(t[1]).to_owned();
                    ops::conv2d(&maps(&cur), &w, Some(&b), stride, pad).into_dyn()
                }
                Layer::MaxPool { k, stride } => ops::max_pool2d(&maps(&cur), k, stride).into_dyn(),
                Layer::AvgPool { k, stride } => ops::avg_pool2d(&maps(&cur), k, stride).into_dyn(),
                Layer::Relu => ops::relu(&cur),
                Layer::Tanh => cur.mapv(f32::tanh),
                Layer::Sigmoid => cur.mapv(ops::sigmoid),
                Layer::LeakyRelu { slope } => cur.mapv(|v| ops::leaky_relu(v, slope)),
                Layer::BatchNorm => {
                    let p = |i: usize| self.bias(t[i]).to_owned();
                    if train {
                        ops::batch_norm_train(&maps(&cur), &p(0), &p(1))
                            .0
                            .into_dyn()
                    } else {
                        ops::batch_norm_eval(&maps(&cur), &p(0), &p(1), &p(2), &p(3)).into_dyn()
                    }
                }
                Layer::Dropout2d { .. } | Layer::Dropout { .. } => cur,
                Layer::Flatten => {
                    let n = cur.shape()[0];
                    let len = cur.len() / n.max(1);
                    cur.as_standard_layout()
                        .to_owned()
                        .into_shape_with_order(IxDyn(&[n, len]))
                        .unwrap_or_else(|_| unreachable!("a standard-layout array reshapes"))
                }
                Layer::Linear { .. } => {
                    let xin: Array2<f32> = cur
                        .view()
                        .into_dimensionality()
                        .unwrap_or_else(|_| unreachable!("linear follows flatten"))
                        .to_owned();
                    let w = self.linear_weight(t[0]).to_owned();
                    let b = self.bias(t[1]).to_owned();
                    ops::linear(&xin, &w, &b).into_dyn()
                }
            };
            if let Some(name) = &l.act {
                acts.push((name.clone(), cur.clone()));
            }
        }
        let out: Array2<f32> = cur
            .into_dimensionality()
            .unwrap_or_else(|_| unreachable!("a plan ends with a vector"));
        acts.push(("log_probs".into(), ops::log_softmax(&out).into_dyn()));
        Trace { acts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_seeded_and_bounded_like_pytorch() {
        let a = Net::course(7, 3);
        let b = Net::course(7, 3);
        let c = Net::course(8, 3);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let names: Vec<_> = a.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "conv1.weight",
                "conv1.bias",
                "conv2.weight",
                "conv2.bias",
                "conv3.weight",
                "conv3.bias",
                "fc.weight",
                "fc.bias"
            ]
        );
        // bounds: 1/sqrt(27), 1/sqrt(108), 1/sqrt(108), 1/sqrt(24576)
        let bounds = [27.0f32, 27.0, 108.0, 108.0, 108.0, 108.0, 24576.0, 24576.0];
        for (p, fan) in a.params.iter().zip(bounds) {
            let bound = 1.0 / fan.sqrt();
            let max = p.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(max <= bound, "{}: {max} > {bound}", p.name);
            if p.data.len() > 100 {
                assert!(max > 0.9 * bound, "{}: {max} fills the range", p.name);
            }
        }
        assert_eq!(a.num_values(), 324 + 12 + 1296 + 12 + 2592 + 24 + 73728 + 3);
    }
}
