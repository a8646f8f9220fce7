//! The launches of a [`Program`]: each step's kernels forward and backward.

use super::{at, chunks, int, Kind, Program, Step, Tensors};
use crate::backend::cuda::{launch, Arg, Gpu, W_CHUNKS};
use crate::nn::arch::{BN_EPS, BN_MOMENTUM};
use crate::nn::dropout::{keep_scale, MaskStream};
use crate::{Error, Result};

impl Program {
    /// Draw mask segment `seg` of `n` images on the device from `masks`' positions.
    fn draw<G: Gpu>(&self, gpu: &mut G, masks: &MaskStream, seg: usize, n: usize) -> Result<()> {
        let (units, prob) = self.segs[seg];
        let len = n * units;
        let start = masks.at(seg, 0);
        let stream = masks.generator().get_stream();
        let mut args = vec![at(self.masks[seg]), int(len)];
        args.extend(
            masks
                .generator()
                .get_seed()
                .chunks_exact(4)
                .map(|c| Arg::I32(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        );
        args.extend([
            Arg::I32(stream as u32 as i32),
            Arg::I32((stream >> 32) as u32 as i32),
            Arg::I32(start as u32 as i32),
            Arg::I32((start >> 32) as u32 as i32),
            Arg::F32(prob),
            Arg::F32(keep_scale(prob)),
        ]);
        launch(gpu, "chacha8_mask", len, &args)
    }

    /// The mask values each image takes per dropout layer, for [`MaskStream::take`].
    pub fn units(&self) -> Vec<usize> {
        self.segs.iter().map(|s| s.0).collect()
    }

    /// The forward pass of `n` images (already uploaded) and the log-softmax, with
    /// `targets` (uploaded) the loss and its gradient. `masks`: training mode (dropout on,
    /// batch norm on batch statistics, its running statistics updated).
    pub fn forward<G: Gpu>(
        &self,
        gpu: &mut G,
        t: &Tensors<'_>,
        n: usize,
        masks: Option<&MaskStream>,
        targets: bool,
    ) -> Result<()> {
        for s in &self.steps {
            self.step_forward(gpu, t, s, n, masks)?;
        }
        let bias = self.bias.map_or(at(self.zeros), |b| t.p(b));
        let k = self.plan.classes;
        launch(
            gpu,
            "log_softmax_nll",
            n,
            &[
                at(self.part),
                bias,
                at(self.targets),
                at(self.logp),
                at(self.dl),
                at(self.loss),
                at(self.right),
                int(n),
                int(k),
                int(self.chunks),
                int(usize::from(targets)),
                Arg::F32(1.0 / n as f32),
            ],
        )
    }

    fn step_forward<G: Gpu>(
        &self,
        gpu: &mut G,
        t: &Tensors<'_>,
        s: &Step,
        n: usize,
        masks: Option<&MaskStream>,
    ) -> Result<()> {
        let (x, y) = (at(s.x), at(s.y));
        let len = n * s.out_len;
        match s.kind {
            Kind::Conv3 { cin, cout, h, w } => {
                let a = [
                    x,
                    t.p(s.tensors[0]),
                    t.p(s.tensors[1]),
                    y,
                    int(n),
                    int(cin),
                    int(cout),
                    int(h),
                    int(w),
                ];
                launch(gpu, "conv3x3_fwd", len, &a)
            }
            Kind::Conv { g } => {
                let mut a = vec![x, t.p(s.tensors[0]), t.p(s.tensors[1]), y, int(n)];
                a.extend(g.map(int));
                launch(gpu, "conv_fwd", len, &a)
            }
            Kind::Pool2Relu { c, h, w, code } => launch(
                gpu,
                "pool2_relu_fwd",
                len,
                &[x, y, at(code), int(n * c), int(h), int(w)],
            ),
            Kind::MaxPool { g, arg } => {
                let mut a = vec![x, y, at(arg), int(n * g[0])];
                a.extend(g[1..].iter().map(|&v| int(v)));
                launch(gpu, "maxpool_fwd", len, &a)
            }
            Kind::AvgPool { g } => {
                let mut a = vec![x, y, int(n * g[0])];
                a.extend(g[1..].iter().map(|&v| int(v)));
                a.push(Arg::F32(1.0 / (g[5] * g[5]) as f32));
                launch(gpu, "avgpool_fwd", len, &a)
            }
            Kind::Act { kind, slope } => launch(
                gpu,
                "act_fwd",
                len,
                &[x, y, int(len), Arg::I32(kind), Arg::F32(slope)],
            ),
            _ => self.step_forward_more(gpu, t, s, n, masks),
        }
    }

    /// [`Program::step_forward`] of batch norm, dropout and linear steps.
    fn step_forward_more<G: Gpu>(
        &self,
        gpu: &mut G,
        t: &Tensors<'_>,
        s: &Step,
        n: usize,
        masks: Option<&MaskStream>,
    ) -> Result<()> {
        let (x, y) = (at(s.x), at(s.y));
        let len = n * s.out_len;
        match s.kind {
            Kind::BatchNorm { c, hw, st } => {
                let tn = &s.tensors;
                if masks.is_some() {
                    let count = n * hw;
                    let unbias = count as f32 / (count.max(2) - 1) as f32;
                    let a = [
                        x,
                        t.p(tn[2]),
                        t.p(tn[3]),
                        t.p(tn[4]),
                        at(st),
                        int(n),
                        int(c),
                        int(hw),
                        Arg::F32(BN_EPS),
                        Arg::F32(BN_MOMENTUM),
                        Arg::F32(unbias),
                    ];
                    launch(gpu, "bn_train_stats", c, &a)?;
                } else {
                    let a = [t.p(tn[2]), t.p(tn[3]), at(st), int(c), Arg::F32(BN_EPS)];
                    launch(gpu, "bn_eval_stats", c, &a)?;
                }
                let a = [
                    x,
                    at(st),
                    t.p(tn[0]),
                    t.p(tn[1]),
                    y,
                    int(n),
                    int(c),
                    int(hw),
                ];
                launch(gpu, "bn_apply", len, &a)
            }
            Kind::Dropout { per, seg } => {
                if let Some(m) = masks {
                    self.draw(gpu, m, seg, n)?;
                }
                let a = [
                    x,
                    at(self.masks[seg]),
                    y,
                    int(len),
                    int(per),
                    int(usize::from(masks.is_some())),
                ];
                launch(gpu, "dropout_apply", len, &a)
            }
            Kind::Linear { f, k, part, last } => {
                let chunks = chunks(f);
                let a = [
                    x,
                    t.p(s.tensors[0]),
                    at(part),
                    int(n),
                    int(k),
                    int(f),
                    int(chunks),
                ];
                launch(gpu, "fc_fwd_part", n * k * chunks, &a)?;
                if last {
                    return Ok(());
                }
                let a = [at(part), t.p(s.tensors[1]), y, int(n), int(k), int(chunks)];
                launch(gpu, "linear_bias", n * k, &a)
            }
            Kind::Tail {
                c,
                hw,
                k,
                ch,
                el,
                act,
            } => {
                if let Some(m) = masks {
                    self.draw(gpu, m, ch, n)?;
                    self.draw(gpu, m, el, n)?;
                }
                let masked = int(usize::from(masks.is_some()));
                let a = [
                    x,
                    at(act),
                    at(self.masks[ch]),
                    at(self.masks[el]),
                    int(n),
                    int(c),
                    int(hw),
                    masked,
                ];
                launch(gpu, "drop_relu_fwd", n * c * hw, &a)?;
                let f = c * hw;
                let chunks = chunks(f);
                let a = [
                    at(act),
                    t.p(s.tensors[0]),
                    y,
                    int(n),
                    int(k),
                    int(f),
                    int(chunks),
                ];
                launch(gpu, "fc_fwd_part", n * k * chunks, &a)
            }
            // the other kinds are launched by `step_forward`
            _ => Ok(()),
        }
    }

    /// The backward pass after [`Program::forward`] with targets: every parameter's
    /// gradient into `t.grads`. `train`: batch norm on batch statistics, masks applied.
    pub fn backward<G: Gpu>(
        &self,
        gpu: &mut G,
        t: &Tensors<'_>,
        n: usize,
        train: bool,
    ) -> Result<()> {
        for s in self.steps.iter().rev() {
            self.step_backward(gpu, t, s, n, train)?;
        }
        Ok(())
    }

    /// The loss sum and number right of the last forward pass with targets, read back.
    pub fn batch_stats<G: Gpu>(&self, gpu: &mut G, n: usize) -> Result<(f32, f32)> {
        launch(
            gpu,
            "batch_stats",
            1,
            &[at(self.loss), at(self.right), at(self.stats), int(n)],
        )?;
        let mut stats = [0.0f32; 2];
        gpu.download(self.stats, 0, &mut stats)?;
        Ok((stats[0], stats[1]))
    }

    /// Weight and bias gradients of a convolution (`part_kernel` and its arguments: the
    /// first stage, `rows` gradient values of `cols` partial sums each), in two more stages.
    fn conv_grads<G: Gpu>(
        &self,
        gpu: &mut G,
        part_kernel: &str,
        args: &[Arg],
        rows: usize,
        cols: usize,
        g: Arg,
    ) -> Result<()> {
        launch(gpu, part_kernel, rows * cols, args)?;
        // rows of n*oh partial sums: in two stages, so that many threads share the work
        let a = [
            at(self.wpart),
            at(self.wpart2),
            int(rows),
            int(cols),
            int(W_CHUNKS),
        ];
        launch(gpu, "reduce_rows_part", rows * W_CHUNKS, &a)?;
        launch(
            gpu,
            "reduce_rows",
            rows,
            &[at(self.wpart2), g, int(rows), int(W_CHUNKS)],
        )
    }

    fn step_backward<G: Gpu>(
        &self,
        gpu: &mut G,
        t: &Tensors<'_>,
        s: &Step,
        n: usize,
        train: bool,
    ) -> Result<()> {
        let (x, dy) = (at(s.x), at(s.dy));
        let dx = s.dx.map(at);
        let tn = &s.tensors;
        match s.kind {
            Kind::Conv3 { cin, cout, h, w } => {
                let a = [
                    x,
                    dy,
                    at(self.wpart),
                    int(n),
                    int(cin),
                    int(cout),
                    int(h),
                    int(w),
                ];
                self.conv_grads(
                    gpu,
                    "conv3x3_dwb_part",
                    &a,
                    cout * cin * 9 + cout,
                    n * h,
                    t.g(tn[0]),
                )?;
                if let Some(dx) = dx {
                    let a = [
                        dy,
                        t.p(tn[0]),
                        dx,
                        int(n),
                        int(cin),
                        int(cout),
                        int(h),
                        int(w),
                    ];
                    launch(gpu, "conv3x3_dx", n * cin * h * w, &a)?;
                }
                Ok(())
            }
            Kind::Conv { g } => {
                let [cin, cout, h, w, oh, _, k, _, _] = g;
                let mut a = vec![x, dy, at(self.wpart), int(n)];
                a.extend(g.map(int));
                self.conv_grads(
                    gpu,
                    "conv_dwb_part",
                    &a,
                    cout * cin * k * k + cout,
                    n * oh,
                    t.g(tn[0]),
                )?;
                if let Some(dx) = dx {
                    let mut a = vec![dy, t.p(tn[0]), dx, int(n)];
                    a.extend(g.map(int));
                    launch(gpu, "conv_dx", n * cin * h * w, &a)?;
                }
                Ok(())
            }
            Kind::Linear { f, k, .. } => {
                launch(
                    gpu,
                    "fc_bwd_wb",
                    k * f + k,
                    &[dy, x, t.g(tn[0]), int(n), int(k), int(f)],
                )?;
                match dx {
                    Some(dx) => launch(
                        gpu,
                        "linear_bwd_x",
                        n * f,
                        &[dy, t.p(tn[0]), dx, int(n), int(k), int(f)],
                    ),
                    None => Ok(()),
                }
            }
            Kind::Tail {
                c,
                hw,
                k,
                ch,
                el,
                act,
            } => {
                let f = c * hw;
                launch(
                    gpu,
                    "fc_bwd_wb",
                    k * f + k,
                    &[dy, at(act), t.g(tn[0]), int(n), int(k), int(f)],
                )?;
                let dx =
                    dx.ok_or_else(|| Error::Device("the fused tail follows a convolution".into()))?;
                let (chm, elm) = (at(self.masks[ch]), at(self.masks[el]));
                let a = [
                    dy,
                    t.p(tn[0]),
                    x,
                    chm,
                    elm,
                    dx,
                    int(n),
                    int(k),
                    int(c),
                    int(hw),
                    int(usize::from(train)),
                ];
                launch(gpu, "fc_bwd_x", n * f, &a)
            }
            _ => self.step_backward_more(gpu, t, s, n, train),
        }
    }

    /// [`Program::step_backward`] of pools, activations and dropout.
    fn step_backward_more<G: Gpu>(
        &self,
        gpu: &mut G,
        t: &Tensors<'_>,
        s: &Step,
        n: usize,
        train: bool,
    ) -> Result<()> {
        let (x, y, dy) = (at(s.x), at(s.y), at(s.dy));
        let dx = s.dx.map(at);
        let tn = &s.tensors;
        match s.kind {
            Kind::Pool2Relu { c, h, w, code } => match dx {
                Some(dx) => launch(
                    gpu,
                    "pool2_relu_bwd",
                    n * c * h * w,
                    &[dy, y, at(code), dx, int(n * c), int(h), int(w)],
                ),
                None => Ok(()),
            },
            Kind::MaxPool { g, arg } => match dx {
                Some(dx) => {
                    let mut a = vec![dy, at(arg), dx, int(n * g[0])];
                    a.extend(g[1..].iter().map(|&v| int(v)));
                    launch(gpu, "maxpool_bwd", n * g[0] * g[1] * g[2], &a)
                }
                None => Ok(()),
            },
            Kind::AvgPool { g } => match dx {
                Some(dx) => {
                    let mut a = vec![dy, dx, int(n * g[0])];
                    a.extend(g[1..].iter().map(|&v| int(v)));
                    a.push(Arg::F32(1.0 / (g[5] * g[5]) as f32));
                    launch(gpu, "avgpool_bwd", n * g[0] * g[1] * g[2], &a)
                }
                None => Ok(()),
            },
            Kind::Act { kind, slope } => match dx {
                Some(dx) => {
                    let len = n * s.out_len;
                    launch(
                        gpu,
                        "act_bwd",
                        len,
                        &[x, y, dy, dx, int(len), Arg::I32(kind), Arg::F32(slope)],
                    )
                }
                None => Ok(()),
            },
            Kind::BatchNorm { c, hw, st } => {
                let a = [
                    dy,
                    x,
                    at(st),
                    t.g(tn[0]),
                    t.g(tn[1]),
                    int(n),
                    int(c),
                    int(hw),
                ];
                launch(gpu, "bn_grad_sums", c, &a)?;
                match dx {
                    Some(dx) => {
                        let a = [
                            dy,
                            x,
                            at(st),
                            t.p(tn[0]),
                            dx,
                            int(n),
                            int(c),
                            int(hw),
                            int(usize::from(train)),
                        ];
                        launch(gpu, "bn_bwd", n * c * hw, &a)
                    }
                    None => Ok(()),
                }
            }
            Kind::Dropout { per, seg } => match dx {
                Some(dx) => {
                    let len = n * s.out_len;
                    let a = [
                        dy,
                        at(self.masks[seg]),
                        dx,
                        int(len),
                        int(per),
                        int(usize::from(train)),
                    ];
                    launch(gpu, "dropout_apply", len, &a)
                }
                None => Ok(()),
            },
            // the other kinds are launched by `step_backward`
            _ => Ok(()),
        }
    }
}
