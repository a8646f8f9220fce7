//! The gradient of one class's score with respect to the input image and to a named
//! feature map: what saliency and Grad-CAM ([`crate::why`]) are made of.
//!
//! The same steps as training, compiled without the fused fast paths (so every named
//! output is a step's output and its gradient is the next step's input gradient) and with
//! the first step's input gradient on; eval mode (dropout off, batch norm on its running
//! statistics); the backward pass starts from d logit_c / d logits, the one-hot vector of
//! class `c`, instead of the loss's gradient.

use super::*;

/// One image's class score and its gradients.
#[derive(Debug, Clone)]
pub struct ScoreGrads {
    /// The scores (logits) of every class.
    pub logits: Vec<f32>,
    /// d logit_c / d input, in the input's CHW layout.
    pub input: Vec<f32>,
    /// The named feature map asked for: its values and d logit_c / d it (CHW).
    pub map: Option<(Vec<f32>, Vec<f32>)>,
}

/// d logit_`class` / d input for one normalised image (`input`: CHW, the plan's input
/// size), and the same for the named output `at` (with its values) when given.
pub fn score_gradients(
    net: &Net,
    input: &[f32],
    class: usize,
    at: Option<&str>,
) -> Result<ScoreGrads> {
    let n = super::super::check_input(net, input, None)?;
    if n != 1 {
        return Err(Error::Other(format!(
            "gradients are taken for one image at a time, not {n}"
        )));
    }
    if class >= net.classes() {
        return Err(Error::Other(format!(
            "class {class} is not one of the net's {} classes",
            net.classes()
        )));
    }
    let c = Compiled::with(&net.plan, false, true);
    let at_op = match at {
        None => None,
        Some(name) => Some(
            c.ops
                .iter()
                .position(|o| o.names.iter().any(|(n, s)| n == name && *s == Src::Out))
                .ok_or_else(|| {
                    Error::Other(format!(
                        "`{}` is not a named output of this network",
                        crate::text::escaped(name)
                    ))
                })?,
        ),
    };
    let flipped: Vec<Vec<f32>> = c
        .ops
        .iter()
        .map(|op| {
            let mut f = Vec::new();
            if let Some(&t) = op.tensors.first() {
                flip_into(&op.kind, &net.params[t].data, &mut f);
            }
            f
        })
        .collect();
    let bn = eval_stats(&c, net);
    let ctx = Ctx {
        c: &c,
        net,
        flipped: &flipped,
        masks: &[],
        stream: None,
        bn: &bn,
        train: false,
        batch: 1,
    };
    let mut slot = Slot::new(&c);
    let mut timer = StageTimer::default();
    let all = 0..c.ops.len();
    forward_range(&ctx, &mut slot, input, 0, all.clone(), &mut timer);
    let logits = slot.outs.last().cloned().unwrap_or_default();
    slot.dlogits.fill(0.0);
    slot.dlogits[class] = 1.0;
    let mut grads: Vec<Vec<f32>> = net.params.iter().map(|p| vec![0.0; p.data.len()]).collect();
    backward_range(&ctx, &mut slot, input, 0, all, &mut grads, &mut timer);
    let last = c.ops.len() - 1;
    let map = at_op.map(|i| {
        let grad = if i == last {
            slot.dlogits.clone()
        } else {
            slot.dins[i + 1].clone()
        };
        (slot.outs[i].clone(), grad)
    });
    Ok(ScoreGrads {
        logits,
        input: std::mem::take(&mut slot.dins[0]),
        map,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::{Arch, Plan};

    /// Central differences of the class score against the backward pass, for a few input
    /// values and a few values of a named map, on a small net with every kind of step.
    #[test]
    fn gradients_match_finite_differences() {
        let text = "conv(4,3) batchnorm relu maxpool(2) conv(5,5,stride=2) tanh \
                    avgpool(2) dropout2d(0.5) flatten dropout(0.5) linear(6) sigmoid linear";
        let plan = Plan::new(&Arch::parse(text).unwrap(), [2, 16, 16], 3).unwrap();
        let mut net = Net::new(plan, 3);
        // running statistics that are not the defaults
        for p in net.params.iter_mut() {
            if p.name.ends_with("running_mean") {
                p.data
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = 0.1 * i as f32);
            }
            if p.name.ends_with("running_var") {
                p.data
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = 0.5 + 0.2 * i as f32);
            }
        }
        let x: Vec<f32> = (0..2 * 16 * 16)
            .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
            .collect();
        let class = 2;
        let g = score_gradients(&net, &x, class, Some("tanh1")).unwrap();
        let score =
            |x: &[f32]| f64::from(score_gradients(&net, x, class, None).unwrap().logits[class]);
        let eps = 1e-2f32;
        for &i in &[0usize, 17, 100, 255, 300, 511] {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += eps;
            down[i] -= eps;
            let numeric = (score(&up) - score(&down)) / (2.0 * f64::from(eps));
            let diff = (numeric - f64::from(g.input[i])).abs();
            assert!(
                diff < 2e-3,
                "input {i}: backward {} numeric {numeric}",
                g.input[i]
            );
        }
        let (values, grad) = g.map.unwrap();
        assert_eq!(values.len(), grad.len());
        assert_eq!(values.len(), 5 * 4 * 4);
        assert!(grad.iter().any(|&v| v != 0.0));
    }

    #[test]
    fn a_name_the_net_does_not_have_is_an_error() {
        let net = Net::course(1, 3);
        let x = vec![0.0; net.plan.input_len()];
        let e = score_gradients(&net, &x, 0, Some("conv9")).unwrap_err();
        assert!(e.to_string().contains("conv9"), "{e}");
        assert!(score_gradients(&net, &x, 3, None).is_err());
    }
}
