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

use super::{Arg, Buf, Gpu, FC_CHUNKS, W_CHUNKS};
use crate::nn::arch::{Layer, Plan, PlannedLayer, Shape};
use crate::{Error, Result};

mod passes;

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
    /// Any other convolution (`conv_*`); `g`: input channels, output channels, input
    /// height and width, output height and width, kernel side, stride, padding (the
    /// kernels' argument order).
    Conv { g: [usize; 9] },
    /// `maxpool(2) relu` on even sides (`pool2_relu_*`; `code`: which input won).
    Pool2Relu {
        c: usize,
        h: usize,
        w: usize,
        code: Buf,
    },
    /// Max pool (`arg`: where each maximum was); `g`: channels, input height and width,
    /// output height and width, window side, stride.
    MaxPool { g: [usize; 7], arg: Buf },
    /// Average pool (`g` as for the max pool).
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
fn is_tail(layers: &[PlannedLayer], i: usize) -> bool {
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

/// Buffers made while a program is built (all given back if building fails).
struct Bufs<'a, G: Gpu> {
    gpu: &'a mut G,
    all: Vec<Buf>,
}

impl<G: Gpu> Bufs<'_, G> {
    fn get(&mut self, len: usize) -> Result<Buf> {
        if i32::try_from(len).is_err() {
            return Err(Error::Device(format!(
                "a buffer of {len} values is too large for the GPU kernels' 32-bit indices; try a smaller --batch-size"
            )));
        }
        let b = self.gpu.alloc(len.max(1))?;
        self.all.push(b);
        Ok(b)
    }
}

/// `c, h, w` of a shape (a vector: `f, 1, 1`).
fn chw(s: Shape) -> (usize, usize, usize) {
    match s {
        Shape::Maps { c, h, w } => (c, h, w),
        Shape::Flat(f) => (f, 1, 1),
    }
}

/// What the builder keeps while it goes through the layers.
struct Building {
    /// Images the buffers hold.
    n: usize,
    segs: Vec<(usize, f32)>,
    /// Sizes of the two stages of partial sums of the conv weight gradients.
    wpart: usize,
    wpart2: usize,
}

impl Building {
    /// The step of layer `i` (and the layers a fast kernel fuses with it): its kind, how
    /// many layers it takes, its output values per image. `None` for `flatten`.
    fn step<G: Gpu>(
        &mut self,
        bufs: &mut Bufs<'_, G>,
        layers: &[PlannedLayer],
        i: usize,
    ) -> Result<Option<(Kind, usize, usize)>> {
        let n = self.n;
        let l = &layers[i];
        let ((c, h, w), (_, oh, ow)) = (chw(l.input), chw(l.output));
        let out_len = l.output.len();
        let act = |kind: i32, slope: f32| Kind::Act { kind, slope };
        let kind = match l.layer {
            Layer::Conv {
                out,
                k,
                stride,
                pad,
            } => {
                let rows = out * c * k * k + out;
                self.wpart = self.wpart.max(rows * n * oh);
                self.wpart2 = self.wpart2.max(rows * W_CHUNKS);
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
                let code = bufs.get(n * out_len)?;
                return Ok(Some((Kind::Pool2Relu { c, h, w, code }, 2, out_len)));
            }
            Layer::MaxPool { k, stride } => Kind::MaxPool {
                g: [c, h, w, oh, ow, k, stride],
                arg: bufs.get(n * out_len)?,
            },
            Layer::AvgPool { k, stride } => Kind::AvgPool {
                g: [c, h, w, oh, ow, k, stride],
            },
            Layer::Relu => act(0, 0.0),
            Layer::Tanh => act(1, 0.0),
            Layer::Sigmoid => act(2, 0.0),
            Layer::LeakyRelu { slope } => act(3, slope),
            Layer::BatchNorm if l.tensors.len() == 5 => Kind::BatchNorm {
                c,
                hw: h * w,
                st: bufs.get(4 * c)?,
            },
            Layer::BatchNorm => {
                return Err(Error::Device(format!(
                    "{}: a batch norm without its 5 tensors",
                    l.layer
                )))
            }
            Layer::Dropout2d { p } if is_tail(layers, i) => {
                let fc = &layers[i + 4];
                let (f, k) = (fc.input.len(), fc.output.len());
                self.segs.push((c, p));
                if let Layer::Dropout { p } = layers[i + 2].layer {
                    self.segs.push((f, p));
                }
                let (ch, el) = (self.segs.len() - 2, self.segs.len() - 1);
                let act = bufs.get(n * f)?;
                let kind = Kind::Tail {
                    c,
                    hw: h * w,
                    k,
                    ch,
                    el,
                    act,
                };
                return Ok(Some((kind, 5, k)));
            }
            Layer::Dropout2d { p } => {
                self.segs.push((c, p));
                Kind::Dropout {
                    per: h * w,
                    seg: self.segs.len() - 1,
                }
            }
            Layer::Dropout { p } => {
                self.segs.push((l.input.len(), p));
                Kind::Dropout {
                    per: 1,
                    seg: self.segs.len() - 1,
                }
            }
            Layer::Flatten => return Ok(None),
            Layer::Linear { .. } => {
                let f = l.input.len();
                Kind::Linear {
                    f,
                    k: out_len,
                    part: bufs.get(n * out_len * chunks(f))?,
                    last: i + 1 == layers.len(),
                }
            }
        };
        Ok(Some((kind, 1, out_len)))
    }
}

/// Partial sums per output of a linear layer with `f` inputs.
fn chunks(f: usize) -> usize {
    FC_CHUNKS.min(f).max(1)
}

impl Program {
    /// The launch list of `plan` for up to `cap` images, its buffers made on `gpu`.
    pub fn new<G: Gpu>(gpu: &mut G, plan: &Plan, cap: usize) -> Result<Program> {
        let mut bufs = Bufs {
            gpu,
            all: Vec::new(),
        };
        let r = Self::build(&mut bufs, plan, cap);
        if r.is_err() {
            for b in std::mem::take(&mut bufs.all) {
                bufs.gpu.free(b);
            }
        }
        r
    }

    fn build<G: Gpu>(bufs: &mut Bufs<'_, G>, plan: &Plan, n: usize) -> Result<Program> {
        let k = plan.classes;
        let x = bufs.get(n * plan.input_len())?;
        let mut b = Building {
            n,
            segs: Vec::new(),
            wpart: 1,
            wpart2: 1,
        };
        let mut steps: Vec<Step> = Vec::new();
        let layers = &plan.layers;
        let mut i = 0;
        while i < layers.len() {
            let Some((kind, used, out_len)) = b.step(bufs, layers, i)? else {
                i += 1;
                continue;
            };
            let tensors = layers[i..i + used]
                .iter()
                .flat_map(|t| t.tensors.iter().copied())
                .collect();
            let y = match kind {
                // the last linear layer's partial sums are the loss's input
                Kind::Linear {
                    part, last: true, ..
                } => part,
                Kind::Tail { c, hw, .. } => bufs.get(n * k * chunks(c * hw))?,
                _ => bufs.get(n * out_len)?,
            };
            let x = steps.last().map_or(x, |s| s.y);
            steps.push(Step {
                kind,
                tensors,
                x,
                y,
                dx: None,
                dy: y,
                out_len,
            });
            i += used;
        }
        let last = steps
            .last()
            .ok_or_else(|| Error::Device("a network with no layers".into()))?;
        let (chunks, bias) = match last.kind {
            Kind::Linear { f, last: true, .. } => (chunks(f), Some(last.tensors[1])),
            Kind::Tail { c, hw, .. } => (chunks(c * hw), Some(last.tensors[1])),
            _ => (1, None),
        };
        let part = last.y;
        let dl = bufs.get(n * k)?;
        // each step's input gradient is the output gradient of the step before
        for s in 1..steps.len() {
            let dx = bufs.get(n * steps[s - 1].out_len)?;
            steps[s].dx = Some(dx);
            steps[s - 1].dy = dx;
        }
        if let Some(s) = steps.last_mut() {
            s.dy = dl;
        }
        let masks = b
            .segs
            .iter()
            .map(|&(u, _)| bufs.get(n * u))
            .collect::<Result<Vec<_>>>()?;
        let mut p = Program {
            plan: plan.clone(),
            cap: n,
            steps,
            segs: b.segs,
            masks,
            x,
            part,
            chunks,
            bias,
            zeros: bufs.get(k)?,
            logp: bufs.get(n * k)?,
            dl,
            loss: bufs.get(n)?,
            right: bufs.get(n)?,
            targets: bufs.get(n)?,
            stats: bufs.get(2)?,
            wpart: bufs.get(b.wpart)?,
            wpart2: bufs.get(b.wpart2)?,
            all: Vec::new(),
        };
        p.all = std::mem::take(&mut bufs.all);
        Ok(p)
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
}
