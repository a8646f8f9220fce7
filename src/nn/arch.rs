//! The network as data: an architecture is a list of layers, written once as a line of
//! text that learners type, checkpoints store and `--help` documents, and a [`Plan`] made
//! from it and an input size: every layer's output shape, the parameters and buffers with
//! their PyTorch `state_dict` names, the parameter count and the FLOPs per image.
//!
//! ```text
//! conv(OUT,K[,stride=S][,pad=P])   Conv2d with bias; pad defaults to K/2 (rounded down)
//! maxpool(K[,stride=S])            MaxPool2d; stride defaults to K
//! avgpool(K[,stride=S])            AvgPool2d; stride defaults to K
//! relu  tanh  sigmoid  leakyrelu[(SLOPE)]   (slope 0.01 by default)
//! batchnorm                        BatchNorm2d over the channels (eps 1e-5, momentum 0.1)
//! dropout2d(P)  dropout(P)         whole maps / single values, while training
//! flatten
//! linear(N)  linear                N outputs / one output per class
//! ```
//!
//! Layers are separated by spaces or `->`; log-softmax and the NLL loss follow the last
//! layer. Everything that trains, saves, checks or explains a network reads its [`Plan`].

use std::fmt;

use crate::{Error, Result};

/// The course's network (the seed's `Net`), the default everywhere.
pub const COURSE_NET: &str = "conv(12,3) maxpool(2) relu conv(12,3) maxpool(2) relu \
                              conv(24,3) dropout2d(0.2) relu dropout(0.5) flatten linear";

/// The input the data loader gives (3x128x128 RGB).
pub const DEFAULT_INPUT: [usize; 3] = [3, 128, 128];

/// Most output channels of a convolution (a typo must not eat the machine's memory).
pub const MAX_CHANNELS: usize = 256;
/// Largest convolution or pooling kernel.
pub const MAX_KERNEL: usize = 11;
/// Largest stride and padding.
pub const MAX_STRIDE: usize = 8;
/// Most outputs of a hidden linear layer.
pub const MAX_LINEAR: usize = 4096;
/// Most layers in one architecture.
pub const MAX_LAYERS: usize = 64;
/// Most trainable values in one network (about 400 MB of f32, twice more for Adam).
pub const MAX_PARAMS: usize = 100_000_000;
/// Leaky ReLU's slope when none is given (PyTorch's).
pub const LEAKY_DEFAULT: f32 = 0.01;
/// BatchNorm2d's eps (PyTorch's).
pub const BN_EPS: f32 = 1e-5;
/// BatchNorm2d's momentum (PyTorch's): running = (1 - m) running + m batch.
pub const BN_MOMENTUM: f32 = 0.1;

/// One layer of an architecture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layer {
    /// 2-D convolution with bias.
    Conv {
        /// Output channels.
        out: usize,
        /// Kernel side.
        k: usize,
        /// Window step.
        stride: usize,
        /// Zero padding on every side.
        pad: usize,
    },
    /// Max pooling (floor mode, no padding).
    MaxPool {
        /// Window side.
        k: usize,
        /// Window step.
        stride: usize,
    },
    /// Average pooling (floor mode, no padding).
    AvgPool {
        /// Window side.
        k: usize,
        /// Window step.
        stride: usize,
    },
    /// max(0, x).
    Relu,
    /// tanh(x).
    Tanh,
    /// 1 / (1 + e^-x).
    Sigmoid,
    /// x, or slope * x below 0.
    LeakyRelu {
        /// The slope below 0.
        slope: f32,
    },
    /// BatchNorm2d over the channels.
    BatchNorm,
    /// Whole maps dropped with probability `p` while training.
    Dropout2d {
        /// Drop probability.
        p: f32,
    },
    /// Single values dropped with probability `p` while training.
    Dropout {
        /// Drop probability.
        p: f32,
    },
    /// Maps to one vector (PyTorch's order: channel, row, column).
    Flatten,
    /// Fully connected with bias: `Some(n)` outputs, or one per class.
    Linear {
        /// Outputs (`None`: one per class).
        out: Option<usize>,
    },
}

impl Layer {
    /// The layer's keyword (`conv`, `maxpool`, ...).
    pub fn keyword(&self) -> &'static str {
        match self {
            Layer::Conv { .. } => "conv",
            Layer::MaxPool { .. } => "maxpool",
            Layer::AvgPool { .. } => "avgpool",
            Layer::Relu => "relu",
            Layer::Tanh => "tanh",
            Layer::Sigmoid => "sigmoid",
            Layer::LeakyRelu { .. } => "leakyrelu",
            Layer::BatchNorm => "batchnorm",
            Layer::Dropout2d { .. } => "dropout2d",
            Layer::Dropout { .. } => "dropout",
            Layer::Flatten => "flatten",
            Layer::Linear { .. } => "linear",
        }
    }

    /// An activation function (works on maps and vectors, keeps the shape).
    pub fn is_activation(&self) -> bool {
        matches!(
            self,
            Layer::Relu | Layer::Tanh | Layer::Sigmoid | Layer::LeakyRelu { .. }
        )
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Layer::Conv {
                out,
                k,
                stride,
                pad,
            } => {
                write!(f, "conv({out},{k}")?;
                if stride != 1 {
                    write!(f, ",stride={stride}")?;
                }
                if pad != k / 2 {
                    write!(f, ",pad={pad}")?;
                }
                write!(f, ")")
            }
            Layer::MaxPool { k, stride } | Layer::AvgPool { k, stride } => {
                write!(f, "{}({k}", self.keyword())?;
                if stride != k {
                    write!(f, ",stride={stride}")?;
                }
                write!(f, ")")
            }
            Layer::LeakyRelu { slope } if slope == LEAKY_DEFAULT => write!(f, "leakyrelu"),
            Layer::LeakyRelu { slope } => write!(f, "leakyrelu({slope})"),
            Layer::Dropout2d { p } | Layer::Dropout { p } => {
                write!(f, "{}({p})", self.keyword())
            }
            Layer::Linear { out: Some(n) } => write!(f, "linear({n})"),
            _ => write!(f, "{}", self.keyword()),
        }
    }
}

/// An architecture: layers in order (log-softmax and the loss are implied at the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Arch {
    /// The layers, first to last.
    pub layers: Vec<Layer>,
}

impl fmt::Display for Arch {
    /// The normalised text: one space between layers, defaults left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.layers.iter().enumerate() {
            if i > 0 {
                write!(f, " ")?;
            }
            write!(f, "{l}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Arch {
    type Err = Error;

    fn from_str(s: &str) -> Result<Arch> {
        Arch::parse(s)
    }
}

/// What each keyword takes, for error messages.
const FORMS: [(&str, &str); 12] = [
    ("conv", "conv(OUT,K[,stride=S][,pad=P])"),
    ("maxpool", "maxpool(K[,stride=S])"),
    ("avgpool", "avgpool(K[,stride=S])"),
    ("relu", "relu"),
    ("tanh", "tanh"),
    ("sigmoid", "sigmoid"),
    ("leakyrelu", "leakyrelu or leakyrelu(SLOPE)"),
    ("batchnorm", "batchnorm"),
    ("dropout2d", "dropout2d(P)"),
    ("dropout", "dropout(P)"),
    ("flatten", "flatten"),
    ("linear", "linear or linear(N)"),
];

fn form(keyword: &str) -> &'static str {
    FORMS
        .iter()
        .find(|(k, _)| *k == keyword)
        .map_or("", |(_, f)| f)
}

/// The layer texts of `s`: split at spaces and `->` outside parentheses.
fn tokens(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    // a `->` was read and no layer has followed it yet
    let mut arrow_open = false;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' => {
                if depth == 0 {
                    return Err(arch_err(format!(
                        "layer {}: a `)` without its `(`",
                        out.len() + 1
                    )));
                }
                depth -= 1;
                cur.push(c);
            }
            '-' if depth == 0 && chars.get(i + 1) == Some(&'>') => {
                if !cur.trim().is_empty() {
                    out.push(std::mem::take(&mut cur));
                    arrow_open = false;
                }
                cur.clear();
                if arrow_open || out.is_empty() {
                    return Err(arch_err(format!(
                        "layer {}: `->` with no layer before it",
                        out.len() + 1
                    )));
                }
                arrow_open = true;
                i += 1;
            }
            c if c.is_whitespace() && depth == 0 => {
                if !cur.trim().is_empty() {
                    out.push(std::mem::take(&mut cur));
                    arrow_open = false;
                }
                cur.clear();
            }
            c if c.is_whitespace() => {}
            c => cur.push(c),
        }
        i += 1;
    }
    if depth > 0 {
        return Err(arch_err(format!(
            "layer {}: a `(` without its `)`",
            out.len() + 1
        )));
    }
    if !cur.trim().is_empty() {
        out.push(cur);
        arrow_open = false;
    }
    if arrow_open {
        return Err(arch_err(format!(
            "layer {}: `->` with no layer after it",
            out.len() + 1
        )));
    }
    Ok(out)
}

fn arch_err(msg: String) -> Error {
    Error::Usage(format!("architecture: {msg}"))
}

impl Arch {
    /// The course's network.
    pub fn course() -> Arch {
        Arch::parse(COURSE_NET).unwrap_or_else(|_| unreachable!("the course's net parses"))
    }

    /// Whether this is the course's network.
    pub fn is_course(&self) -> bool {
        *self == Arch::course()
    }

    /// Read the text form. An error names the layer (from 1) and what is wrong with it.
    pub fn parse(s: &str) -> Result<Arch> {
        let toks = tokens(s)?;
        if toks.is_empty() {
            return Err(arch_err(
                "no layers (e.g. `conv(12,3) maxpool(2) relu flatten linear`)".into(),
            ));
        }
        if toks.len() > MAX_LAYERS {
            return Err(arch_err(format!(
                "{} layers; at most {MAX_LAYERS}",
                toks.len()
            )));
        }
        let layers = toks
            .iter()
            .enumerate()
            .map(|(i, t)| parse_layer(t).map_err(|m| layer_err(i, t, &m)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Arch { layers })
    }

    /// Whether a layer couples the images of a batch (batch norm while training).
    pub fn has_batchnorm(&self) -> bool {
        self.layers.contains(&Layer::BatchNorm)
    }
}

fn layer_err(i: usize, text: &str, msg: &str) -> Error {
    arch_err(format!(
        "layer {} `{}`: {msg}",
        i + 1,
        crate::text::escaped(text)
    ))
}

/// A decimal number as the text form writes it: digits with an optional sign and point
/// (`0.2`, `-0.1`, `1`), no exponent.
fn decimal(v: &str) -> Option<f32> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    let ok = !digits.is_empty()
        && !digits.starts_with('.')
        && !digits.ends_with('.')
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1;
    ok.then(|| v.parse().ok()).flatten()
}

/// Parse one layer's text; the error is the reason only.
fn parse_layer(t: &str) -> std::result::Result<Layer, String> {
    let (name, args) = match t.find('(') {
        Some(open) => {
            if !t.ends_with(')') {
                return Err("text after the closing `)`".into());
            }
            (&t[..open], Some(&t[open + 1..t.len() - 1]))
        }
        None => (t, None),
    };
    let known = FORMS.iter().any(|(k, _)| *k == name);
    if !known {
        let kinds: Vec<&str> = FORMS.iter().map(|(k, _)| *k).collect();
        return Err(format!("unknown layer (known: {})", kinds.join(", ")));
    }
    let mut pos: Vec<&str> = Vec::new();
    let mut named: Vec<(&str, &str)> = Vec::new();
    if let Some(args) = args {
        if args.trim().is_empty() {
            return Err(format!("empty `()`; write {}", form(name)));
        }
        for a in args.split(',') {
            let a = a.trim();
            match a.split_once('=') {
                Some((k, _)) if named.iter().any(|(n, _)| *n == k.trim()) => {
                    return Err(format!("{} is given twice", k.trim()));
                }
                Some((k, v)) => named.push((k.trim(), v.trim())),
                None if named.is_empty() => pos.push(a),
                None => {
                    return Err(format!(
                        "a plain number after `name=`; write {}",
                        form(name)
                    ))
                }
            }
        }
    }
    let usage = || format!("write {}", form(name));
    let int = |what: &str, v: &str, max: usize| -> std::result::Result<usize, String> {
        let n: usize = v
            .parse()
            .map_err(|_| format!("{what} `{v}` is not a whole number; {}", usage()))?;
        if n == 0 || n > max {
            return Err(format!("{what} {n} is out of range (1 to {max})"));
        }
        Ok(n)
    };
    let prob = |v: &str| -> std::result::Result<f32, String> {
        let p: f32 = decimal(v)
            .ok_or_else(|| format!("`{v}` is not a probability such as 0.5; {}", usage()))?;
        if !(0.0..1.0).contains(&p) {
            return Err(format!("p {v} is out of range (0 to below 1)"));
        }
        Ok(p)
    };
    let only = |allowed: &[&str]| -> std::result::Result<(), String> {
        match named.iter().find(|(k, _)| !allowed.contains(k)) {
            Some((k, _)) => Err(format!("`{k}=` is not an option here; {}", usage())),
            None => Ok(()),
        }
    };
    let named_int =
        |key: &str, max: usize, zero: bool| -> std::result::Result<Option<usize>, String> {
            match named.iter().rev().find(|(k, _)| *k == key) {
                None => Ok(None),
                Some((_, v)) => {
                    let n: usize = v
                        .parse()
                        .map_err(|_| format!("{key} `{v}` is not a whole number; {}", usage()))?;
                    if (!zero && n == 0) || n > max {
                        let lo = if zero { 0 } else { 1 };
                        return Err(format!("{key} {n} is out of range ({lo} to {max})"));
                    }
                    Ok(Some(n))
                }
            }
        };
    let no_args = || -> std::result::Result<(), String> {
        if args.is_some() {
            Err(format!("takes no numbers; {}", usage()))
        } else {
            Ok(())
        }
    };
    match name {
        "conv" => {
            only(&["stride", "pad"])?;
            if pos.len() != 2 {
                return Err(format!("needs OUT and K; {}", usage()));
            }
            let out = int("OUT", pos[0], MAX_CHANNELS)?;
            let k = int("K", pos[1], MAX_KERNEL)?;
            let stride = named_int("stride", MAX_STRIDE, false)?.unwrap_or(1);
            let pad = named_int("pad", MAX_STRIDE.max(k), true)?.unwrap_or(k / 2);
            Ok(Layer::Conv {
                out,
                k,
                stride,
                pad,
            })
        }
        "maxpool" | "avgpool" => {
            only(&["stride"])?;
            if pos.len() != 1 {
                return Err(format!("needs K; {}", usage()));
            }
            let k = int("K", pos[0], MAX_KERNEL)?;
            let stride = named_int("stride", MAX_STRIDE.max(k), false)?.unwrap_or(k);
            Ok(if name == "maxpool" {
                Layer::MaxPool { k, stride }
            } else {
                Layer::AvgPool { k, stride }
            })
        }
        "relu" => no_args().map(|_| Layer::Relu),
        "tanh" => no_args().map(|_| Layer::Tanh),
        "sigmoid" => no_args().map(|_| Layer::Sigmoid),
        "batchnorm" => no_args().map(|_| Layer::BatchNorm),
        "flatten" => no_args().map(|_| Layer::Flatten),
        "leakyrelu" => {
            only(&[])?;
            match pos.as_slice() {
                [] => Ok(Layer::LeakyRelu {
                    slope: LEAKY_DEFAULT,
                }),
                [v] => {
                    let slope: f32 = decimal(v)
                        .filter(|s: &f32| s.abs() <= 100.0)
                        .ok_or_else(|| format!("slope `{v}` is not a number from -100 to 100"))?;
                    Ok(Layer::LeakyRelu { slope })
                }
                _ => Err(usage()),
            }
        }
        "dropout2d" | "dropout" => {
            only(&[])?;
            let [v] = pos.as_slice() else {
                return Err(format!("needs P; {}", usage()));
            };
            let p = prob(v)?;
            Ok(if name == "dropout" {
                Layer::Dropout { p }
            } else {
                Layer::Dropout2d { p }
            })
        }
        "linear" => {
            only(&[])?;
            match pos.as_slice() {
                [] => Ok(Layer::Linear { out: None }),
                [v] => Ok(Layer::Linear {
                    out: Some(int("N", v, MAX_LINEAR)?),
                }),
                _ => Err(usage()),
            }
        }
        _ => unreachable!("every known keyword has an arm"),
    }
}

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
        let linears = arch
            .layers
            .iter()
            .filter(|l| matches!(l, Layer::Linear { .. }))
            .count();
        let mut names = Naming {
            counts: Default::default(),
            linears,
            seen_linear: 0,
            last_layer: false,
            classes,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_course_net_reads_back_as_written_with_todays_names() {
        let a = Arch::course();
        assert_eq!(
            a.to_string(),
            COURSE_NET.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        let p = Plan::course(3);
        let names: Vec<&str> = p.tensors.iter().map(|t| t.name.as_str()).collect();
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
        assert_eq!(
            p.act_names(),
            [
                "conv1",
                "pool1",
                "relu1",
                "conv2",
                "pool2",
                "relu2",
                "conv3",
                "relu3",
                "logits",
                "log_probs"
            ]
        );
        assert_eq!(
            p.param_count(),
            324 + 12 + 1296 + 12 + 2592 + 24 + 73728 + 3
        );
        assert_eq!(p.layers[11].input, Shape::Flat(24576));
        // conv1 27 MAC x 12 x 128^2, conv2 108 x 12 x 64^2, conv3 108 x 24 x 32^2, fc
        let macs = 27 * 12 * 128 * 128 + 108 * 12 * 64 * 64 + 108 * 24 * 32 * 32 + 24576 * 3;
        let convs: u64 = p
            .layers
            .iter()
            .filter(|l| l.module.is_some())
            .map(|l| l.flops)
            .sum();
        assert_eq!(convs, 2 * macs as u64);
    }

    #[test]
    fn arrows_spaces_and_defaults_normalise() {
        let a = Arch::parse(
            "conv( 8 , 5, stride=2 ,pad=2)->maxpool(3,stride=3) -> leakyrelu(0.01) leakyrelu(0.2) flatten->linear(10)->linear",
        )
        .unwrap();
        assert_eq!(
            a.to_string(),
            "conv(8,5,stride=2) maxpool(3) leakyrelu leakyrelu(0.2) flatten linear(10) linear"
        );
        assert_eq!(Arch::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn names_count_each_kind_from_one() {
        let a = Arch::parse(
            "conv(4,3) batchnorm relu avgpool(2) conv(4,1) batchnorm tanh maxpool(2) flatten linear(6) sigmoid linear(5) relu linear",
        )
        .unwrap();
        let p = Plan::new(&a, [3, 16, 16], 3).unwrap();
        let acts: Vec<String> = p.act_names();
        assert_eq!(
            acts,
            [
                "conv1",
                "bn1",
                "relu1",
                "avgpool1",
                "conv2",
                "bn2",
                "tanh1",
                "pool1",
                "fc1",
                "sigmoid1",
                "fc2",
                "relu2",
                "logits",
                "log_probs"
            ]
        );
        let bn: Vec<&str> = p
            .tensors
            .iter()
            .filter(|t| t.name.starts_with("bn1"))
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(
            bn,
            [
                "bn1.weight",
                "bn1.bias",
                "bn1.running_mean",
                "bn1.running_var",
                "bn1.num_batches_tracked"
            ]
        );
        assert!(p
            .tensors
            .iter()
            .any(|t| t.name == "fc3.weight" && t.shape == [3, 5]));
        // trainable: convs, bn weight+bias, linears (not the running statistics)
        // 16x16 -> avgpool 8x8 -> maxpool 4x4: 4 maps of 4x4 = 64 values enter fc1
        let want = (4 * 27 + 4) + 8 + (4 * 4 + 4) + 8 + (64 * 6 + 6) + (6 * 5 + 5) + (5 * 3 + 3);
        assert_eq!(p.param_count(), want);
    }

    #[test]
    fn impossible_networks_name_the_layer_and_the_reason() {
        let err = |s: &str, input: [usize; 3]| {
            let a = Arch::parse(s).and_then(|a| Plan::new(&a, input, 3));
            a.expect_err(s).to_string()
        };
        let e = err(
            "conv(4,3) maxpool(2) maxpool(2) maxpool(2) flatten linear",
            [3, 4, 4],
        );
        assert!(
            e.contains("layer 4 maxpool(2): its input is 1x1, smaller than the 2x2 window"),
            "{e}"
        );
        let e = err("conv(4,3) linear flatten", [3, 8, 8]);
        assert!(e.contains("layer 2 linear: linear before flatten"), "{e}");
        let e = err("conv(300,3) flatten linear", [3, 8, 8]);
        assert!(
            e.contains("layer 1 `conv(300,3)`: OUT 300 is out of range (1 to 256)"),
            "{e}"
        );
        let e = err("conv(3,13) flatten linear", [3, 8, 8]);
        assert!(e.contains("K 13 is out of range (1 to 11)"), "{e}");
        let e = err("conv(4,3) pool(2) flatten linear", [3, 8, 8]);
        assert!(e.contains("layer 2 `pool(2)`: unknown layer"), "{e}");
        let e = err("conv(4) flatten linear", [3, 8, 8]);
        assert!(e.contains("needs OUT and K"), "{e}");
        let e = err("flatten conv(4,3) linear", [3, 8, 8]);
        assert!(e.contains("layer 2 conv(4,3): it needs maps"), "{e}");
        let e = err("conv(4,3) flatten", [3, 8, 8]);
        assert!(e.contains("no linear layer"), "{e}");
        let e = err("flatten linear(5)", [3, 8, 8]);
        assert!(
            e.contains("ends with 5 values, but the data has 3 classes"),
            "{e}"
        );
        let e = err("flatten linear linear", [3, 8, 8]);
        assert!(e.contains("layer 2 linear: `linear` without N"), "{e}");
        let e = err("dropout(1.5) flatten linear", [3, 8, 8]);
        assert!(e.contains("p 1.5 is out of range"), "{e}");
        let e = err("conv(4,3,strid=2) flatten linear", [3, 8, 8]);
        assert!(e.contains("`strid=` is not an option"), "{e}");
        let e = err("conv(4,3 flatten linear", [3, 8, 8]);
        assert!(e.contains("layer 1: a `(` without its `)`"), "{e}");
        let e = err("", [3, 8, 8]);
        assert!(e.contains("no layers"), "{e}");
        let e = err(
            "flatten linear(4096) linear(4096) linear(4096) linear",
            [3, 128, 128],
        );
        assert!(e.contains("trainable values, more than"), "{e}");
    }
}
