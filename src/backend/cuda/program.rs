//! A network's [`Plan`] made into a launch list for the CUDA backend, once per plan and
//! batch capacity: one [`Step`] per layer (or per run of layers a fast kernel fuses), each
//! with its device buffers (input, output, input gradient, what its backward pass reads)
//! chosen when the program is built. [`Program::forward`] and [`Program::backward`] then
//! launch each step's kernels in order for a batch of up to `cap` images.
//!
//! The course's layers keep their fast kernels (and so today's launches): a 3x3 stride-1
//! padding-1 convolution runs `conv3x3_*`, `maxpool(2) relu` runs `pool2_relu_*`, and a
//! convolution followed by `dropout2d relu dropout flatten linear` at the end runs
//! `drop_relu_fwd` / `fc_bwd_x`. Every other layer has its general kernels. `flatten` is no
//! step at all (NCHW maps are already the flat vector).

use super::{launch, Arg, Buf, Gpu, FC_CHUNKS, W_CHUNKS};
use crate::nn::arch::{Layer, Plan, Shape, BN_EPS, BN_MOMENTUM};
use crate::nn::dropout::{keep_scale, MaskStream};
use crate::{Error, Result};

/// What one step computes, with the buffers only it uses.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// 3x3 convolution, stride 1, padding 1 (`conv3x3_*`).
    Conv3 {
        cin: usize,
        cout: usize,
        h: usize,
        w: usize,
    },
    /// Any other convolution (`conv_*`).
    Conv { g: [usize; 9] },
    /// `maxpool(2) relu` on even sides (`pool2_relu_*`; `code`: which input won).
    Pool2Relu {
        c: usize,
        h: usize,
        w: usize,
        code: Buf,
    },
    /// Max pool (`arg`: where each maximum was).
    MaxPool { g: [usize; 7], arg: Buf },
    /// Average pool.
    AvgPool { g: [usize; 7] },
    /// Activation: 0 relu, 1 tanh, 2 sigmoid, 3 leaky relu with `slope`.
    Act { kind: i32, slope: f32 },
    /// BatchNorm2d (`st`: mean, 1/std and the backward pass's two means per channel).
    BatchNorm { c: usize, hw: usize, st: Buf },
    /// Dropout (`per` 1) or dropout2d (`per` = values per map), mask segment `seg`.
    Dropout { per: usize, seg: usize },
    /// Linear layer, `f` inputs, `k` outputs: partial sums in `part` (the loss's input
    /// when it is the last step), then the hidden layer's bias.
    Linear {
        f: usize,
        k: usize,
        part: Buf,
        last: bool,
    },
    /// `dropout2d relu dropout flatten linear` at the end, after a convolution: `act` is
    /// the linear layer's input; the ReLU's output replaces the convolution's in place.
    Tail {
        c: usize,
        hw: usize,
        k: usize,
        ch: usize,
        el: usize,
        act: Buf,
    },
}

/// One step of the pass and its buffers (`dy`: the gradient at its output).
#[derive(Debug, Clone)]
struct Step {
    kind: Kind,
    tensors: Vec<usize>,
    x: Buf,
    y: Buf,
    dx: Option<Buf>,
    dy: Buf,
    out_len: usize,
}

/// Where the tensors live on the device: parameters (and buffers), their gradients, and
/// each tensor's offset in both.
pub(super) struct Tensors<'a> {
    pub params: Buf,
    pub grads: Buf,
    pub offsets: &'a [usize],
}

impl Tensors<'_> {
    fn p(&self, i: usize) -> Arg {
        Arg::Buf(self.params, self.offsets[i])
    }
    fn g(&self, i: usize) -> Arg {
        Arg::Buf(self.grads, self.offsets[i])
    }
}

/// A plan's launch list and buffers for up to `cap` images.
#[derive(Debug)]
pub(super) struct Program {
    pub plan: Plan,
    pub cap: usize,
    steps: Vec<Step>,
    /// Per dropout layer in layer order: values per image and the drop probability.
    segs: Vec<(usize, f32)>,
    masks: Vec<Buf>,
    /// The images.
    pub x: Buf,
    /// The loss's input: partial sums of the logits (`chunks` per logit) and the bias
    /// added to them (the last linear layer's, or zeros).
    part: Buf,
    chunks: usize,
    bias: Option<usize>,
    zeros: Buf,
    pub logp: Buf,
    dl: Buf,
    loss: Buf,
    right: Buf,
    pub targets: Buf,
    pub stats: Buf,
    wpart: Buf,
    wpart2: Buf,
    all: Vec<Buf>,
}

fn int(v: usize) -> Arg {
    Arg::I32(v as i32)
}

fn at(b: Buf) -> Arg {
    Arg::Buf(b, 0)
}

/// Layers from `i` that make the fused tail `dropout2d relu dropout flatten linear`,
/// ending the net, after a convolution.
fn is_tail(layers: &[crate::nn::arch::PlannedLayer], i: usize) -> bool {
    let kinds: Vec<Layer> = layers[i..].iter().map(|l| l.layer).collect();
    i > 0
        && matches!(layers[i - 1].layer, Layer::Conv { .. })
        && matches!(
            kinds.as_slice(),
            [
                Layer::Dropout2d { .. },
                Layer::Relu,
                Layer::Dropout { .. },
                Layer::Flatten,
                Layer::Linear { .. }
            ]
        )
}

impl Program {
    /// The launch list of `plan` for up to `cap` images, its buffers made on `gpu`.
    pub fn new<G: Gpu>(gpu: &mut G, plan: &Plan, cap: usize) -> Result<Program> {
        let mut all = Vec::new();
        let r = Self::build(gpu, plan, cap, &mut all);
        if r.is_err() {
            for b in all {
                gpu.free(b);
            }
        }
        r
    }

    fn build<G: Gpu>(gpu: &mut G, plan: &Plan, cap: usize, all: &mut Vec<Buf>) -> Result<Program> {
        let n = cap;
        let mut alloc = |gpu: &mut G, len: usize| -> Result<Buf> {
            let b = gpu.alloc(len.max(1))?;
            all.push(b);
            Ok(b)
        };
        let k = plan.classes;
        let x = alloc(gpu, n * plan.input_len())?;
        let mut steps: Vec<Step> = Vec::new();
        let mut segs = Vec::new();
        let (mut wpart, mut wpart2) = (1, 1);
        let layers = &plan.layers;
        let mut cur = x;
        let mut i = 0;
        while i < layers.len() {
            let l = &layers[i];
            let (c, h, w) = match l.input {
                Shape::Maps { c, h, w } => (c, h, w),
                Shape::Flat(f) => (f, 1, 1),
            };
            let (oc, oh, ow) = match l.output {
                Shape::Maps { c, h, w } => (c, h, w),
                Shape::Flat(f) => (f, 1, 1),
            };
            let last = i + 1 == layers.len();
            let mut used = 1;
            let mut out_len = l.output.len();
            let kind = match l.layer {
                Layer::Conv {
                    out,
                    k,
                    stride,
                    pad,
                } => {
                    let rows = out * c * k * k + out;
                    wpart = wpart.max(rows * n * oh);
                    wpart2 = wpart2.max(rows * W_CHUNKS);
                    if (k, stride, pad) == (3, 1, 1) {
                        Kind::Conv3 {
                            cin: c,
                            cout: out,
                            h,
                            w,
                        }
                    } else {
                        Kind::Conv {
                            g: [c, out, h, w, oh, ow, k, stride, pad],
                        }
                    }
                }
                Layer::MaxPool { k: 2, stride: 2 }
                    if h % 2 == 0
                        && w % 2 == 0
                        && layers.get(i + 1).map(|n| n.layer) == Some(Layer::Relu) =>
                {
                    used = 2;
                    Kind::Pool2Relu {
                        c,
                        h,
                        w,
                        code: alloc(gpu, n * l.output.len())?,
                    }
                }
                Layer::MaxPool { k, stride } => Kind::MaxPool {
                    g: [c, h, w, oh, ow, k, stride],
                    arg: alloc(gpu, n * l.output.len())?,
                },
                Layer::AvgPool { k, stride } => Kind::AvgPool {
                    g: [c, h, w, oh, ow, k, stride],
                },
                Layer::Relu => Kind::Act {
                    kind: 0,
                    slope: 0.0,
                },
                Layer::Tanh => Kind::Act {
                    kind: 1,
                    slope: 0.0,
                },
                Layer::Sigmoid => Kind::Act {
                    kind: 2,
                    slope: 0.0,
                },
                Layer::LeakyRelu { slope } => Kind::Act { kind: 3, slope },
                Layer::BatchNorm => {
                    if l.tensors.len() != 5 {
                        return Err(Error::Device(format!(
                            "{}: batch norm without its 5 tensors",
                            l.layer
                        )));
                    }
                    Kind::BatchNorm {
                        c,
                        hw: h * w,
                        st: alloc(gpu, 4 * c)?,
                    }
                }
                Layer::Dropout2d { p } if is_tail(layers, i) => {
                    let (fl, kk) = (layers[i + 4].input.len(), layers[i + 4].output.len());
                    segs.push((c, p));
                    if let Layer::Dropout { p } = layers[i + 2].layer {
                        segs.push((fl, p));
                    }
                    used = 5;
                    out_len = kk;
                    let act = alloc(gpu, n * fl)?;
                    Kind::Tail {
                        c,
                        hw: h * w,
                        k: kk,
                        ch: segs.len() - 2,
                        el: segs.len() - 1,
                        act,
                    }
                }
                Layer::Dropout2d { p } => {
                    segs.push((c, p));
                    Kind::Dropout {
                        per: h * w,
                        seg: segs.len() - 1,
                    }
                }
                Layer::Dropout { p } => {
                    segs.push((l.input.len(), p));
                    Kind::Dropout {
                        per: 1,
                        seg: segs.len() - 1,
                    }
                }
                Layer::Flatten => {
                    i += 1;
                    continue;
                }
                Layer::Linear { .. } => {
                    let f = l.input.len();
                    let chunks = FC_CHUNKS.min(f).max(1);
                    Kind::Linear {
                        f,
                        k: oc * oh * ow,
                        part: alloc(gpu, n * oc * chunks)?,
                        last,
                    }
                }
            };
            let tensors = layers[i..i + used]
                .iter()
                .flat_map(|t| t.tensors.iter().copied())
                .collect();
            let y = match kind {
                // the convolution's output buffer becomes the ReLU's
                Kind::Tail { .. } | Kind::Linear { last: true, .. } => Buf {
                    id: usize::MAX,
                    len: 0,
                },
                _ => alloc(gpu, n * out_len)?,
            };
            steps.push(Step {
                kind,
                tensors,
                x: cur,
                y,
                dx: None,
                dy: x,
                out_len,
            });
            cur = y;
            i += used;
        }
        let chunks_of = |s: &Step| match s.kind {
            Kind::Linear { f, last: true, .. } => Some(FC_CHUNKS.min(f).max(1)),
            Kind::Tail { c, hw, .. } => Some(FC_CHUNKS.min(c * hw).max(1)),
            _ => None,
        };
        let last = steps
            .last()
            .ok_or_else(|| Error::Device("a network with no layers".into()))?;
        let (part, chunks, bias) = match (last.kind, chunks_of(last)) {
            (Kind::Linear { part, .. }, Some(ch)) => (part, ch, Some(last.tensors[1])),
            (Kind::Tail { .. }, Some(ch)) => (alloc(gpu, n * k * ch)?, ch, Some(last.tensors[1])),
            _ => (last.y, 1, None),
        };
        let dl = alloc(gpu, n * k)?;
        // gradient buffers: each step's input gradient is the step before's output gradient
        for s in 1..steps.len() {
            let len = n * steps[s - 1].out_len;
            steps[s].dx = Some(alloc(gpu, len)?);
        }
        for s in 0..steps.len() {
            steps[s].dy = match steps.get(s + 1) {
                Some(next) => next.dx.unwrap_or(dl),
                None => dl,
            };
            if s + 1 == steps.len() && chunks_of(&steps[s]).is_some() {
                steps[s].y = part;
            }
        }
        let masks = segs
            .iter()
            .map(|&(u, _)| alloc(gpu, n * u))
            .collect::<Result<Vec<_>>>()?;
        Ok(Program {
            plan: plan.clone(),
            cap,
            steps,
            segs,
            masks,
            x,
            part,
            chunks,
            bias,
            zeros: alloc(gpu, k)?,
            logp: alloc(gpu, n * k)?,
            dl,
            loss: alloc(gpu, n)?,
            right: alloc(gpu, n)?,
            targets: alloc(gpu, n)?,
            stats: alloc(gpu, 2)?,
            wpart: alloc(gpu, wpart)?,
            wpart2: alloc(gpu, wpart2)?,
            all: Vec::new(),
        })
        .map(|mut p| {
            p.all = std::mem::take(all);
            p
        })
    }

    /// Give every buffer back.
    pub fn free<G: Gpu>(self, gpu: &mut G) {
        for b in self.all {
            gpu.free(b);
        }
    }

    /// Whether the plan has batch norms (training updates their running statistics).
    pub fn has_batchnorm(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.kind, Kind::BatchNorm { .. }))
    }

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
                let chunks = FC_CHUNKS.min(f).max(1);
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
                let chunks = FC_CHUNKS.min(f).max(1);
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
        let (x, y, dy) = (at(s.x), at(s.y), at(s.dy));
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
        }
    }
}
