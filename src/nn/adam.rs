//! Adam, as `torch.optim.Adam` computes it on the CPU (the single-tensor path, no AMSGrad,
//! weight decay as an L2 term added to the gradient when set); buffers (`Param::trainable` false) are left alone. Per parameter value, with `t` the step number from 1:
//!
//! ```text
//! m  = m + (g - m) * (1 - beta1)            (torch: exp_avg.lerp_(grad, 1 - beta1))
//! v  = v * beta2 + (1 - beta2) * g * g      (exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2))
//! bc1 = 1 - beta1^t,  bc2 = 1 - beta2^t     (in f64, as Python floats)
//! denom = sqrt(v) / sqrt(bc2) + eps
//! p  = p - (lr / bc1) * m / denom
//! ```
//!
//! The scalars are computed in f64 and rounded to f32 where PyTorch rounds them.

use super::net::Param;

/// Adam's settings and state.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Learning rate (PyTorch default 0.001).
    pub lr: f64,
    /// First-moment decay (0.9).
    pub beta1: f64,
    /// Second-moment decay (0.999).
    pub beta2: f64,
    /// Added to the denominator (1e-8).
    pub eps: f64,
    /// L2 penalty added to the gradient (PyTorch's `weight_decay`, 0 by default).
    pub weight_decay: f64,
    /// Steps taken so far.
    pub step: u64,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// Adam with PyTorch's defaults and learning rate `lr`, for these parameters.
    pub fn new(lr: f64, params: &[Param]) -> Adam {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            step: 0,
            m: params.iter().map(|p| vec![0.0; p.data.len()]).collect(),
            v: params.iter().map(|p| vec![0.0; p.data.len()]).collect(),
        }
    }

    /// The first and second moments, one vector per parameter.
    pub fn moments(&self) -> (&[Vec<f32>], &[Vec<f32>]) {
        (&self.m, &self.v)
    }

    /// The moments, to write (a device backend copies its own back here).
    pub fn moments_mut(&mut self) -> (&mut [Vec<f32>], &mut [Vec<f32>]) {
        (&mut self.m, &mut self.v)
    }

    /// One update of every parameter with its gradient (`grads[i]` has `params[i]`'s length).
    ///
    /// # Panics
    /// If the number or sizes of the tensors differ from those given to [`Adam::new`].
    pub fn step(&mut self, params: &mut [Param], grads: &[Vec<f32>]) {
        assert_eq!(params.len(), self.m.len(), "Adam: parameter count changed");
        assert_eq!(
            grads.len(),
            self.m.len(),
            "Adam: one gradient per parameter"
        );
        self.step += 1;
        let t = self.step as i32;
        let bc1 = 1.0 - self.beta1.powi(t);
        let bc2 = 1.0 - self.beta2.powi(t);
        let step_size = (self.lr / bc1) as f32;
        let bc2_sqrt = bc2.sqrt() as f32;
        let w1 = (1.0 - self.beta1) as f32;
        let b2 = self.beta2 as f32;
        let w2 = (1.0 - self.beta2) as f32;
        let eps = self.eps as f32;
        let wd = self.weight_decay as f32;
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            assert_eq!(p.data.len(), g.len(), "Adam: {} gradient size", p.name);
            if !p.trainable {
                // a buffer (batch norm's running statistics): not trained
                continue;
            }
            for (((pv, &gv), mv), vv) in
                p.data.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
            {
                let gv = if wd != 0.0 { gv + wd * *pv } else { gv };
                *mv += w1 * (gv - *mv);
                *vv = *vv * b2 + w2 * gv * gv;
                let denom = vv.sqrt() / bc2_sqrt + eps;
                *pv += -step_size * (*mv / denom);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_value_by_lr_against_its_gradient() {
        let mut params = vec![Param {
            name: "w".into(),
            shape: vec![3],
            data: vec![1.0, 1.0, 1.0],
            trainable: true,
        }];
        let mut adam = Adam::new(0.001, &params);
        adam.step(&mut params, &[vec![0.5, -2.0, 0.0]]);
        // m_hat = g, v_hat = g^2: the step is lr * g / (|g| + eps)
        assert!((params[0].data[0] - 0.999).abs() < 1e-7);
        assert!((params[0].data[1] - 1.001).abs() < 1e-7);
        assert_eq!(params[0].data[2], 1.0);
        assert_eq!(adam.step, 1);
    }
}
