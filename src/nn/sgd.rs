//! SGD with momentum, as `torch.optim.SGD` computes it (no dampening, no Nesterov), for
//! the lab's second optimizer. Per trainable value, with weight decay `wd` and momentum
//! `mu`:
//!
//! ```text
//! g   = g + wd * p                 (when wd != 0)
//! buf = g                          (first step)        buf = mu * buf + g   (later)
//! p   = p - lr * buf               (buf = g when mu == 0)
//! ```
//!
//! Buffers (`Param::trainable` false) are left alone.

use super::net::Param;

/// SGD's settings and state.
#[derive(Debug, Clone, PartialEq)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f64,
    /// Momentum (0: plain SGD).
    pub momentum: f64,
    /// L2 penalty added to the gradient (PyTorch's `weight_decay`).
    pub weight_decay: f64,
    /// Steps taken so far.
    pub step: u64,
    buf: Vec<Vec<f32>>,
}

impl Sgd {
    /// SGD for these parameters.
    pub fn new(lr: f64, momentum: f64, weight_decay: f64, params: &[Param]) -> Sgd {
        Sgd {
            lr,
            momentum,
            weight_decay,
            step: 0,
            buf: params.iter().map(|p| vec![0.0; p.data.len()]).collect(),
        }
    }

    /// One update of every trainable parameter with its gradient.
    ///
    /// # Panics
    /// If the number or sizes of the tensors differ from those given to [`Sgd::new`].
    pub fn step(&mut self, params: &mut [Param], grads: &[Vec<f32>]) {
        assert_eq!(params.len(), self.buf.len(), "SGD: parameter count changed");
        assert_eq!(
            grads.len(),
            self.buf.len(),
            "SGD: one gradient per parameter"
        );
        let first = self.step == 0;
        self.step += 1;
        let (lr, mu, wd) = (
            self.lr as f32,
            self.momentum as f32,
            self.weight_decay as f32,
        );
        for ((p, g), b) in params.iter_mut().zip(grads).zip(&mut self.buf) {
            assert_eq!(p.data.len(), g.len(), "SGD: {} gradient size", p.name);
            if !p.trainable {
                continue;
            }
            for ((pv, &gv), bv) in p.data.iter_mut().zip(g).zip(b.iter_mut()) {
                let mut d = gv;
                if wd != 0.0 {
                    d += wd * *pv;
                }
                if mu != 0.0 {
                    *bv = if first { d } else { mu * *bv + d };
                    d = *bv;
                }
                *pv -= lr * d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn momentum_accumulates_as_pytorch_does() {
        let mut params = vec![Param {
            name: "w".into(),
            shape: vec![2],
            data: vec![1.0, -1.0],
            trainable: true,
        }];
        let mut sgd = Sgd::new(0.1, 0.9, 0.0, &params);
        sgd.step(&mut params, &[vec![1.0, 0.5]]);
        // first step: buf = g
        assert_eq!(params[0].data, [0.9, -1.05]);
        sgd.step(&mut params, &[vec![1.0, 0.5]]);
        // buf = 0.9 * 1 + 1 = 1.9; 0.9 * 0.5 + 0.5 = 0.95
        assert!((params[0].data[0] - (0.9 - 0.19)).abs() < 1e-6);
        assert!((params[0].data[1] - (-1.05 - 0.095)).abs() < 1e-6);
        // weight decay adds wd * p to the gradient; buffers are not trained
        let mut two = vec![
            Param {
                name: "w".into(),
                shape: vec![1],
                data: vec![2.0],
                trainable: true,
            },
            Param {
                name: "bn.running_mean".into(),
                shape: vec![1],
                data: vec![5.0],
                trainable: false,
            },
        ];
        let mut sgd = Sgd::new(0.5, 0.0, 0.1, &two);
        sgd.step(&mut two, &[vec![1.0], vec![3.0]]);
        assert_eq!(two[0].data, [2.0 - 0.5 * (1.0 + 0.2)]);
        assert_eq!(two[1].data, [5.0]);
    }
}
