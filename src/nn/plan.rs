//! A network's [`Plan`]: an [`Arch`] placed on an input size with a class count, every
//! layer's shapes, names, tensors and FLOPs (the shape rules: [`place`]).

use std::fmt;

use super::arch::{arch_err, Arch, Layer, DEFAULT_INPUT, MAX_PARAMS};
use crate::Result;

/// A tensor's shape for one image: maps `[c, h, w]` or a vector `[n]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `c` maps of `h` x `w`.
    Maps {
        /// Channels.
        c: usize,
        /// Height.
        h: usize,
        /// Width.
        w: usize,
    },
    /// A vector of `n` values.
    Flat(usize),
}

impl Shape {
    /// Values in it.
    pub fn len(&self) -> usize {
        match *self {
            Shape::Maps { c, h, w } => c * h * w,
            Shape::Flat(n) => n,
        }
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// As PyTorch writes it for one image (`[12, 64, 64]`, `[24576]`).
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Maps { c, h, w } => vec![c, h, w],
            Shape::Flat(n) => vec![n],
        }
    }

    /// Channels and the values per channel (a vector: each value is its own channel).
    pub fn channels(&self) -> (usize, usize) {
        match *self {
            Shape::Maps { c, h, w } => (c, h * w),
            Shape::Flat(n) => (n, 1),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Shape::Maps { c, h, w } => write!(f, "{c}x{h}x{w}"),
            Shape::Flat(n) => write!(f, "{n}"),
        }
    }
}

/// A parameter or buffer of the network, by its PyTorch `state_dict` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// `conv1.weight`, `bn1.running_mean` ...
    pub name: String,
    /// PyTorch's shape (`[]` for `num_batches_tracked`).
    pub shape: Vec<usize>,
    /// Trained by the optimiser (false: a buffer, batch norm's running statistics).
    pub trainable: bool,
    /// Stored as int64 by PyTorch (`num_batches_tracked`).
    pub int: bool,
    /// The fan-in of its layer, for the default initialisation (0: not drawn).
    pub fan_in: usize,
}

impl TensorSpec {
    /// Values in it.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One layer placed in the network.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLayer {
    /// The layer.
    pub layer: Layer,
    /// What it takes, per image.
    pub input: Shape,
    /// What it gives, per image.
    pub output: Shape,
    /// Its module name in PyTorch's `state_dict` (`conv1`, `bn2`, `fc`), if it has
    /// parameters.
    pub module: Option<String>,
    /// The name of its output (`conv1`, `pool1`, `relu2`, `fc1`, `logits`), if it has one.
    pub act: Option<String>,
    /// Indices into [`Plan::tensors`] of its parameters and buffers, in `state_dict` order.
    pub tensors: Vec<usize>,
    /// Floating-point operations per image, forward (a multiply-add is two).
    pub flops: u64,
}

impl PlannedLayer {
    /// Trainable values of this layer.
    pub fn params(&self, plan: &Plan) -> usize {
        self.tensors
            .iter()
            .map(|&i| &plan.tensors[i])
            .filter(|t| t.trainable)
            .map(TensorSpec::len)
            .sum()
    }
}

/// An architecture placed on an input size with a class count: what every part of the
/// program reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The architecture.
    pub arch: Arch,
    /// The input, per image.
    pub input: Shape,
    /// Outputs of the last layer (classes).
    pub classes: usize,
    /// The layers with their shapes and names.
    pub layers: Vec<PlannedLayer>,
    /// Every parameter and buffer, in `state_dict` order.
    pub tensors: Vec<TensorSpec>,
}

impl Plan {
    /// The course's network on 3x128x128 images with `classes` outputs.
    pub fn course(classes: usize) -> Plan {
        Plan::new(&Arch::course(), DEFAULT_INPUT, classes)
            .unwrap_or_else(|e| unreachable!("the course's net plans: {e}"))
    }

    /// Place `arch` on `input` ([c, h, w]) with `classes` outputs. An architecture that
    /// cannot work is an error naming the layer and the reason.
    pub fn new(arch: &Arch, input: [usize; 3], classes: usize) -> Result<Plan> {
        let [c, h, w] = input;
        let mut shape = Shape::Maps { c, h, w };
        let mut layers = Vec::with_capacity(arch.layers.len());
        let mut tensors: Vec<TensorSpec> = Vec::new();
        let mut names = Naming::new(arch, classes);
        let linears = names.linears;
        for (i, layer) in arch.layers.iter().enumerate() {
            let fail = |msg: String| Err(arch_err(format!("layer {} {layer}: {msg}", i + 1)));
            names.last_layer = i + 1 == arch.layers.len();
            let placed = place(*layer, shape, &mut names);
            let (output, module, act, flops, specs) = match placed {
                Ok(p) => p,
                Err(msg) => return fail(msg),
            };
            if output.is_empty() {
                return fail("its output is empty".into());
            }
            let first = tensors.len();
            tensors.extend(specs);
            layers.push(PlannedLayer {
                layer: *layer,
                input: shape,
                output,
                module,
                act,
                tensors: (first..tensors.len()).collect(),
                flops,
            });
            shape = output;
        }
        if linears == 0 {
            return Err(arch_err(
                "no linear layer: end with `flatten linear` (one output per class)".into(),
            ));
        }
        match shape {
            Shape::Flat(n) if n == classes => {}
            other => {
                let n = arch.layers.len();
                return Err(arch_err(format!(
                    "layer {n} {}: the network ends with {other} values, but the data has {classes} classes: end with `linear`",
                    arch.layers[n - 1]
                )));
            }
        }
        let plan = Plan {
            arch: arch.clone(),
            input: Shape::Maps { c, h, w },
            classes,
            layers,
            tensors,
        };
        let params = plan.param_count();
        if params > MAX_PARAMS {
            return Err(arch_err(format!(
                "{params} trainable values, more than the {MAX_PARAMS} this program trains (make a linear layer smaller, or pool before it)"
            )));
        }
        Ok(plan)
    }

    /// The output shapes of `arch`'s layers on `input`, up to the first layer that
    /// cannot be placed: how far a network that fails gets (the layer editor shows it).
    pub fn shapes(arch: &Arch, input: [usize; 3], classes: usize) -> Vec<Shape> {
        let [c, h, w] = input;
        let mut shape = Shape::Maps { c, h, w };
        let mut names = Naming::new(arch, classes);
        let mut out = Vec::new();
        for (i, layer) in arch.layers.iter().enumerate() {
            names.last_layer = i + 1 == arch.layers.len();
            match place(*layer, shape, &mut names) {
                Ok((output, ..)) if !output.is_empty() => {
                    out.push(output);
                    shape = output;
                }
                _ => break,
            }
        }
        out
    }

    /// Trainable values (PyTorch's `sum(p.numel() for p in model.parameters())`).
    pub fn param_count(&self) -> usize {
        self.tensors
            .iter()
            .filter(|t| t.trainable)
            .map(TensorSpec::len)
            .sum()
    }

    /// Forward FLOPs per image (a multiply-add is two).
    pub fn flops(&self) -> u64 {
        self.layers.iter().map(|l| l.flops).sum()
    }

    /// Values in one input image.
    pub fn input_len(&self) -> usize {
        self.input.len()
    }

    /// The input as `[c, h, w]`.
    pub fn input_dims(&self) -> [usize; 3] {
        match self.input {
            Shape::Maps { c, h, w } => [c, h, w],
            Shape::Flat(n) => [n, 1, 1],
        }
    }

    /// The names of the outputs a trace keeps, in order (`conv1` ... `logits`,
    /// `log_probs`).
    pub fn act_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.layers.iter().filter_map(|l| l.act.clone()).collect();
        names.push("log_probs".into());
        names
    }

    /// The index of the tensor named `name`.
    pub fn tensor_index(&self, name: &str) -> Option<usize> {
        self.tensors.iter().position(|t| t.name == name)
    }
}

/// What placing one layer gives: its output shape, module and output names, FLOPs per
/// image and tensors.
type Placed = (Shape, Option<String>, Option<String>, u64, Vec<TensorSpec>);

/// The running names of a plan being made: each kind's count, the linear layers.
struct Naming {
    counts: std::collections::HashMap<&'static str, usize>,
    linears: usize,
    seen_linear: usize,
    last_layer: bool,
    classes: usize,
}

impl Naming {
    /// Names for `arch`'s layers with `classes` outputs.
    fn new(arch: &Arch, classes: usize) -> Naming {
        Naming {
            counts: Default::default(),
            linears: arch
                .layers
                .iter()
                .filter(|l| matches!(l, Layer::Linear { .. }))
                .count(),
            seen_linear: 0,
            last_layer: false,
            classes,
        }
    }

    /// The next number of kind `key` (from 1).
    fn count(&mut self, key: &'static str) -> usize {
        let n = self.counts.entry(key).or_insert(0);
        *n += 1;
        *n
    }
}

/// The shape rule of one layer on its input `shape`: what it gives, or why it cannot
/// work there.
fn place(layer: Layer, shape: Shape, names: &mut Naming) -> std::result::Result<Placed, String> {
    let maps = match shape {
        Shape::Maps { c, h, w } => Some((c, h, w)),
        Shape::Flat(_) => None,
    };
    let needs_maps = || {
        format!("it needs maps, but its input is already flat ({shape} values): put it before `flatten`")
    };
    Ok(match layer {
        Layer::Conv {
            out,
            k,
            stride,
            pad,
        } => place_conv((out, k, stride, pad), shape, names)?,
        Layer::MaxPool { k, stride } | Layer::AvgPool { k, stride } => {
            let Some((c, h, w)) = maps else {
                return Err(needs_maps());
            };
            if h < k || w < k {
                return Err(format!(
                    "its input is {h}x{w}, smaller than the {k}x{k} window"
                ));
            }
            let (oh, ow) = ((h - k) / stride + 1, (w - k) / stride + 1);
            let act = if matches!(layer, Layer::MaxPool { .. }) {
                format!("pool{}", names.count("pool"))
            } else {
                format!("avgpool{}", names.count("avgpool"))
            };
            let flops = (c * oh * ow * k * k) as u64;
            (
                Shape::Maps { c, h: oh, w: ow },
                None,
                Some(act),
                flops,
                Vec::new(),
            )
        }
        Layer::Relu | Layer::Tanh | Layer::Sigmoid | Layer::LeakyRelu { .. } => {
            let key = layer.keyword();
            let act = format!("{key}{}", names.count(key));
            (shape, None, Some(act), shape.len() as u64, Vec::new())
        }
        Layer::BatchNorm => {
            let Some((c, _, _)) = maps else {
                return Err(needs_maps());
            };
            let name = format!("bn{}", names.count("bn"));
            let specs = vec![
                spec(&name, "weight", vec![c], true, 0),
                spec(&name, "bias", vec![c], true, 0),
                spec(&name, "running_mean", vec![c], false, 0),
                spec(&name, "running_var", vec![c], false, 0),
                TensorSpec {
                    name: format!("{name}.num_batches_tracked"),
                    shape: Vec::new(),
                    trainable: false,
                    int: true,
                    fan_in: 0,
                },
            ];
            (
                shape,
                Some(name.clone()),
                Some(name),
                2 * shape.len() as u64,
                specs,
            )
        }
        Layer::Dropout2d { .. } => {
            if maps.is_none() {
                return Err(format!("{}; use dropout(P) on a vector", needs_maps()));
            }
            (shape, None, None, 0, Vec::new())
        }
        Layer::Dropout { .. } => (shape, None, None, 0, Vec::new()),
        Layer::Flatten => {
            if maps.is_none() {
                return Err(format!("its input is already flat ({shape} values)"));
            }
            (Shape::Flat(shape.len()), None, None, 0, Vec::new())
        }
        Layer::Linear { out } => place_linear(out, shape, names)?,
    })
}

/// A convolution's shape rule (see [`place`]).
fn place_conv(
    (out, k, stride, pad): (usize, usize, usize, usize),
    shape: Shape,
    names: &mut Naming,
) -> std::result::Result<Placed, String> {
    let Shape::Maps { c, h, w } = shape else {
        return Err(format!(
            "it needs maps, but its input is already flat ({shape} values): put it before `flatten`"
        ));
    };
    if h + 2 * pad < k || w + 2 * pad < k {
        return Err(format!(
            "its input is {h}x{w} (padded {}x{}), smaller than the {k}x{k} kernel",
            h + 2 * pad,
            w + 2 * pad
        ));
    }
    let (oh, ow) = (
        (h + 2 * pad - k) / stride + 1,
        (w + 2 * pad - k) / stride + 1,
    );
    let n = names.count("conv");
    let name = format!("conv{n}");
    let fan_in = c * k * k;
    let specs = vec![
        spec(&name, "weight", vec![out, c, k, k], true, fan_in),
        spec(&name, "bias", vec![out], true, fan_in),
    ];
    let flops = 2 * (fan_in * out * oh * ow) as u64;
    Ok((
        Shape::Maps {
            c: out,
            h: oh,
            w: ow,
        },
        Some(name.clone()),
        Some(name),
        flops,
        specs,
    ))
}

/// A linear layer's shape rule (see [`place`]).
fn place_linear(
    out: Option<usize>,
    shape: Shape,
    names: &mut Naming,
) -> std::result::Result<Placed, String> {
    let Shape::Flat(n_in) = shape else {
        return Err(format!(
            "linear before flatten (its input is {shape} maps): put `flatten` before it"
        ));
    };
    names.seen_linear += 1;
    let last = names.seen_linear == names.linears;
    let out = match out {
                Some(n) => n,
                None if names.last_layer => names.classes,
                None => {
                    return Err(
                        "`linear` without N makes the class scores: it must be the last layer (write linear(N) for a hidden layer)"
                            .into(),
                    )
                }
            };
    let name = if names.linears == 1 {
        "fc".to_string()
    } else {
        format!("fc{}", names.seen_linear)
    };
    let act = if last {
        "logits".to_string()
    } else {
        name.clone()
    };
    let specs = vec![
        spec(&name, "weight", vec![out, n_in], true, n_in),
        spec(&name, "bias", vec![out], true, n_in),
    ];
    Ok((
        Shape::Flat(out),
        Some(name),
        Some(act),
        2 * (n_in * out) as u64,
        specs,
    ))
}

fn spec(module: &str, what: &str, shape: Vec<usize>, trainable: bool, fan_in: usize) -> TensorSpec {
    TensorSpec {
        name: format!("{module}.{what}"),
        shape,
        trainable,
        int: false,
        fan_in,
    }
}
