//! The seed course's `Net`, with its parameters named and shaped as PyTorch's `state_dict`.
//!
//! ```text
//! x [N,3,128,128] → conv1 (3→12, 3x3, s1, p1) → pool 2x2 → relu          [N,12,64,64]
//!                 → conv2 (12→12)             → pool 2x2 → relu          [N,12,32,32]
//!                 → conv3 (12→24)             → dropout2d(0.2) → relu    [N,24,32,32]
//!                 → dropout(0.5) → flatten [N,24576] → fc (24576→3) → log_softmax
//! ```

use ndarray::{Array1, Array2, Array4, ArrayView1, ArrayView2, ArrayView4};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::ops;

// The geometry of the net, written once: the backends, the data loader and the tests
// take every size from here.

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

/// Index of each parameter in [`ShapesNet::params`].
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

/// Names (PyTorch `state_dict` keys) and shapes of the parameters, in `state_dict` order,
/// for a net with `classes` outputs.
pub fn param_specs(classes: usize) -> [(&'static str, Vec<usize>); 8] {
    [
        ("conv1.weight", vec![C1, IN_CHANNELS, KERNEL, KERNEL]),
        ("conv1.bias", vec![C1]),
        ("conv2.weight", vec![C2, C1, KERNEL, KERNEL]),
        ("conv2.bias", vec![C2]),
        ("conv3.weight", vec![C3, C2, KERNEL, KERNEL]),
        ("conv3.bias", vec![C3]),
        ("fc.weight", vec![classes, FC_IN]),
        ("fc.bias", vec![classes]),
    ]
}

/// One named parameter tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// PyTorch `state_dict` key, e.g. `conv1.weight`.
    pub name: &'static str,
    /// PyTorch shape.
    pub shape: Vec<usize>,
    /// Values, row-major (`shape.iter().product()` of them).
    pub data: Vec<f32>,
}

/// The seed's `Net`: eight parameter tensors in `state_dict` order (see [`idx`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ShapesNet {
    /// The parameters, in `state_dict` order.
    pub params: Vec<Param>,
}

/// Every intermediate tensor of one forward pass with the dropouts off (eval mode),
/// named as in `../shared/golden/README.md`: from the reference array ops
/// ([`ShapesNet::forward_trace`], the lessons and `verify`) or from the CPU backend's own
/// pass (`backend::cpu::forward_trace`, the inspector).
#[derive(Debug, Clone)]
pub struct Trace {
    /// conv1(x).
    pub conv1: Array4<f32>,
    /// pool(conv1).
    pub pool1: Array4<f32>,
    /// relu(pool(conv1)).
    pub relu1: Array4<f32>,
    /// conv2(relu1).
    pub conv2: Array4<f32>,
    /// pool(conv2).
    pub pool2: Array4<f32>,
    /// relu(pool(conv2)).
    pub relu2: Array4<f32>,
    /// conv3(relu2).
    pub conv3: Array4<f32>,
    /// relu(conv3).
    pub relu3: Array4<f32>,
    /// fc(flatten(relu3)).
    pub logits: Array2<f32>,
    /// log_softmax(logits).
    pub log_probs: Array2<f32>,
}

impl ShapesNet {
    /// A net initialised like PyTorch's defaults, from `seed`: every weight and bias
    /// uniform in ±1/sqrt(fan_in) (Kaiming-uniform with a = sqrt(5) gives exactly that
    /// bound for the weights), drawn in `state_dict` order from ChaCha8.
    pub fn new(seed: u64, classes: usize) -> ShapesNet {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let params = param_specs(classes)
            .into_iter()
            .enumerate()
            .map(|(i, (name, shape))| {
                // fan_in of the layer this tensor belongs to (weight and bias share it)
                let wshape = if i % 2 == 0 {
                    shape.clone()
                } else {
                    param_specs(classes)[i - 1].1.clone()
                };
                let fan_in: usize = wshape[1..].iter().product();
                let bound = 1.0 / (fan_in as f32).sqrt();
                let n: usize = shape.iter().product();
                let data = (0..n).map(|_| rng.gen_range(-bound..bound)).collect();
                Param { name, shape, data }
            })
            .collect();
        ShapesNet { params }
    }

    /// Build a net from tensors in `state_dict` order; `None` when a shape is wrong.
    pub fn from_params(params: Vec<Param>) -> Option<ShapesNet> {
        let classes = params.get(idx::FC_B)?.shape.first().copied()?;
        let specs = param_specs(classes);
        if params.len() != specs.len()
            || params.iter().zip(&specs).any(|(p, (name, shape))| {
                p.name != *name
                    || &p.shape != shape
                    || p.data.len() != shape.iter().product::<usize>()
            })
        {
            return None;
        }
        Some(ShapesNet { params })
    }

    /// Number of output classes.
    pub fn classes(&self) -> usize {
        self.params[idx::FC_B].data.len()
    }

    /// Total number of trainable values.
    pub fn num_values(&self) -> usize {
        self.params.iter().map(|p| p.data.len()).sum()
    }

    /// The parameter named `name` (a `state_dict` key).
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// A convolution weight as [cout, cin, 3, 3] (`i` = idx::CONV*_W).
    pub fn conv_weight(&self, i: usize) -> ArrayView4<'_, f32> {
        let s = &self.params[i].shape;
        ArrayView4::from_shape((s[0], s[1], s[2], s[3]), &self.params[i].data)
            .unwrap_or_else(|_| unreachable!("shapes are checked on construction"))
    }

    /// A bias vector (`i` = idx::*_B).
    pub fn bias(&self, i: usize) -> ArrayView1<'_, f32> {
        ArrayView1::from(&self.params[i].data)
    }

    /// `fc.weight` as [classes, 24576].
    pub fn fc_weight(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.classes(), FC_IN), &self.params[idx::FC_W].data)
            .unwrap_or_else(|_| unreachable!("shapes are checked on construction"))
    }

    /// Forward pass in eval mode (dropouts off) with the reference array ops, keeping every
    /// intermediate tensor. `x` is [N, 3, 128, 128], normalised.
    pub fn forward_trace(&self, x: &Array4<f32>) -> Trace {
        let w1 = self.conv_weight(idx::CONV1_W).to_owned();
        let w2 = self.conv_weight(idx::CONV2_W).to_owned();
        let w3 = self.conv_weight(idx::CONV3_W).to_owned();
        let b1: Array1<f32> = self.bias(idx::CONV1_B).to_owned();
        let b2: Array1<f32> = self.bias(idx::CONV2_B).to_owned();
        let b3: Array1<f32> = self.bias(idx::CONV3_B).to_owned();
        let conv1 = ops::conv2d(x, &w1, Some(&b1), 1, 1);
        let pool1 = ops::max_pool2d(&conv1, 2, 2);
        let relu1 = ops::relu(&pool1);
        let conv2 = ops::conv2d(&relu1, &w2, Some(&b2), 1, 1);
        let pool2 = ops::max_pool2d(&conv2, 2, 2);
        let relu2 = ops::relu(&pool2);
        let conv3 = ops::conv2d(&relu2, &w3, Some(&b3), 1, 1);
        let relu3 = ops::relu(&conv3);
        let flat = ops::flatten(&relu3);
        let logits = ops::linear(
            &flat,
            &self.fc_weight().to_owned(),
            &self.bias(idx::FC_B).to_owned(),
        );
        let log_probs = ops::log_softmax(&logits);
        Trace {
            conv1,
            pool1,
            relu1,
            conv2,
            pool2,
            relu2,
            conv3,
            relu3,
            logits,
            log_probs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_seeded_and_bounded_like_pytorch() {
        let a = ShapesNet::new(7, 3);
        let b = ShapesNet::new(7, 3);
        let c = ShapesNet::new(8, 3);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let names: Vec<_> = a.params.iter().map(|p| p.name).collect();
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
