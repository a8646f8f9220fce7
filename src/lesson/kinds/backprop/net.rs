//! The backprop lesson's network: its parameters, one forward and backward pass with the
//! training code's ops ([`pass`]), and the terms a filter weight's gradient adds up.

use ndarray::{Array1, Array2, Array4};

use crate::lesson::draw::{as_batch, channel};
use crate::nn::net::Param;
use crate::nn::ops;

/// The network's parameters (what training changes).
#[derive(Debug, Clone)]
pub(super) struct Params {
    pub(super) filter: Array2<f32>,
    pub(super) bias: f32,
    pub(super) fc_w: Array2<f32>,
    pub(super) fc_b: Array1<f32>,
}

impl Params {
    /// As the training code's parameter list (for [`Adam`]).
    pub(super) fn to_list(&self) -> Vec<Param> {
        vec![
            Param {
                name: "conv.weight".into(),
                trainable: true,
                shape: vec![1, 1, self.filter.nrows(), self.filter.ncols()],
                data: self.filter.iter().copied().collect(),
            },
            Param {
                name: "conv.bias".into(),
                trainable: true,
                shape: vec![1],
                data: vec![self.bias],
            },
            Param {
                name: "fc.weight".into(),
                trainable: true,
                shape: vec![self.fc_w.nrows(), self.fc_w.ncols()],
                data: self.fc_w.iter().copied().collect(),
            },
            Param {
                name: "fc.bias".into(),
                trainable: true,
                shape: vec![self.fc_b.len()],
                data: self.fc_b.to_vec(),
            },
        ]
    }

    /// `p - lr x gradient` for every parameter (plain SGD, as `torch.optim.SGD`).
    pub(super) fn sgd(&self, g: &Pass, lr: f32) -> Params {
        Params {
            filter: &self.filter - &(&g.d_filter * lr),
            bias: self.bias - lr * g.d_bias,
            fc_w: &self.fc_w - &(&g.d_fc_w * lr),
            fc_b: &self.fc_b - &(&g.d_fc_b * lr),
        }
    }
}

/// One forward and backward pass, every intermediate kept.
#[derive(Debug, Clone)]
pub(super) struct Pass {
    /// The image as the network sees it (scaled), [1, 1, H, W].
    pub(super) x: Array4<f32>,
    pub(super) z: Array4<f32>,
    pub(super) a: Array4<f32>,
    pub(super) pooled: Array4<f32>,
    /// Where each pooled value came from (flat index into the ReLU map).
    pub(super) idx: Array4<u32>,
    pub(super) flat: Array2<f32>,
    pub(super) scores: Array2<f32>,
    pub(super) probs: Vec<f32>,
    pub(super) loss: f32,
    pub(super) d_scores: Array2<f32>,
    pub(super) d_fc_w: Array2<f32>,
    pub(super) d_fc_b: Array1<f32>,
    pub(super) d_flat: Array2<f32>,
    pub(super) d_pooled: Array4<f32>,
    pub(super) d_a: Array4<f32>,
    pub(super) d_z: Array4<f32>,
    pub(super) d_filter: Array2<f32>,
    pub(super) d_bias: f32,
}

/// Forward and backward with the training code's ops, in the network's order.
pub(super) fn pass(x: &Array4<f32>, p: &Params, pool: usize, target: usize) -> Pass {
    let w = as_batch(&p.filter);
    let b = Array1::from_elem(1, p.bias);
    let z = ops::conv2d(x, &w, Some(&b), 1, 0);
    let a = ops::relu(&z);
    let (pooled, idx) = ops::max_pool2d_with_indices(&a, pool, pool);
    let flat = ops::flatten(&pooled);
    let scores = ops::linear(&flat, &p.fc_w, &p.fc_b);
    let log_probs = ops::log_softmax(&scores);
    let loss = ops::nll_loss(&log_probs, &[target]);
    let probs = log_probs.row(0).mapv(f32::exp).to_vec();
    // backward, last op first
    let d_log = ops::nll_loss_backward(log_probs.dim(), &[target]);
    let d_scores = ops::log_softmax_backward(&log_probs, &d_log);
    let (d_flat, d_fc_w, d_fc_b) = ops::linear_backward(&flat, &p.fc_w, &d_scores);
    let d_pooled = ops::unflatten(&d_flat, pooled.dim());
    let d_a = ops::max_pool2d_backward(&d_pooled, &idx, a.dim());
    let d_z = ops::relu_backward(&a, &d_a);
    let (_, d_w, d_b) = ops::conv2d_backward(x, &w, &d_z, 1, 0);
    Pass {
        x: x.clone(),
        z,
        a,
        pooled,
        idx,
        flat,
        scores,
        probs,
        loss,
        d_scores,
        d_fc_w,
        d_fc_b,
        d_flat,
        d_pooled,
        d_a,
        d_z,
        d_filter: channel(&d_w, 0),
        d_bias: d_b[0],
    }
}

pub(super) fn row_of(v: &[f32]) -> Array2<f32> {
    Array2::from_shape_vec((1, v.len()), v.to_vec()).unwrap_or_else(|_| Array2::zeros((1, 0)))
}

/// The terms of filter weight (ky, kx)'s gradient: (pixel under it, dL/dz) for every
/// window whose dL/dz is not 0, in reading order. Their sum is what
/// [`ops::conv2d_backward`] returns for that weight (the windows with dL/dz = 0 add 0).
pub(super) fn filter_terms(
    x: &Array2<f32>,
    dz: &Array2<f32>,
    ky: usize,
    kx: usize,
) -> Vec<(f32, f32)> {
    let (oh, ow) = dz.dim();
    (0..oh)
        .flat_map(|oy| (0..ow).map(move |ox| (oy, ox)))
        .filter(|&(oy, ox)| dz[[oy, ox]] != 0.0)
        .map(|(oy, ox)| (x[[oy + ky, ox + kx]], dz[[oy, ox]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn net() -> (Array4<f32>, Params) {
        let img = crate::nn::ops::seed_image();
        let p = Params {
            filter: array![[1., -1., 1.], [-1., 0., -1.], [1., -1., 1.]],
            bias: -0.1,
            fc_w: array![
                [0.5, -0.3, 0.2, 0.1],
                [-0.2, 0.4, 0.3, -0.1],
                [0.1, 0.2, -0.4, 0.3]
            ],
            fc_b: array![0.0, 0.1, -0.1],
        };
        (as_batch(&img.mapv(|v| v / 255.0)), p)
    }

    #[test]
    fn the_written_terms_add_up_to_the_engines_gradient() {
        let (x, p) = net();
        let g = pass(&x, &p, 2, 1);
        let xi = channel(&g.x, 0);
        let dz = channel(&g.d_z, 0);
        for ky in 0..3 {
            for kx in 0..3 {
                let sum: f32 = filter_terms(&xi, &dz, ky, kx)
                    .iter()
                    .map(|(a, b)| a * b)
                    .sum();
                assert!((sum - g.d_filter[[ky, kx]]).abs() < 1e-6, "{ky},{kx}");
            }
        }
        // the bias gradient is the sum of dL/dz, the score gradient p - y
        assert!((dz.sum() - g.d_bias).abs() < 1e-6);
        for j in 0..3 {
            let y = if j == 1 { 1.0 } else { 0.0 };
            assert!((g.d_scores[[0, j]] - (g.probs[j] - y)).abs() < 1e-6);
        }
    }

    #[test]
    fn pool_ties_send_the_gradient_to_the_first_cell_in_reading_order() {
        let a = array![[2.0f32, 2.0], [2.0, 1.0]]
            .insert_axis(ndarray::Axis(0))
            .insert_axis(ndarray::Axis(0));
        let (_, idx) = ops::max_pool2d_with_indices(&a, 2, 2);
        let d = ops::max_pool2d_backward(&Array4::from_elem((1, 1, 1, 1), 5.0), &idx, a.dim());
        assert_eq!(
            d.iter().copied().collect::<Vec<_>>(),
            vec![5.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn one_small_sgd_step_lowers_the_loss() {
        let (x, p) = net();
        let g = pass(&x, &p, 2, 0);
        let g1 = pass(&x, &p.sgd(&g, 0.1), 2, 0);
        assert!(g1.loss < g.loss, "{} -> {}", g.loss, g1.loss);
    }
}
