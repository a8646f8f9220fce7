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

pub use super::plan::{Plan, PlannedLayer, Shape, TensorSpec};

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

pub(super) fn arch_err(msg: String) -> Error {
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

/// One layer's text taken apart: its keyword, whether it has `(...)`, its plain numbers
/// and its `name=value` options, in order.
struct Args<'a> {
    name: &'a str,
    parens: bool,
    pos: Vec<&'a str>,
    named: Vec<(&'a str, &'a str)>,
}

type Reason<T> = std::result::Result<T, String>;

impl<'a> Args<'a> {
    /// `conv(12,3,stride=2)` as keyword `conv`, numbers `12`, `3`, option `stride=2`.
    fn split(t: &'a str) -> Reason<Args<'a>> {
        let (name, args) = match t.find('(') {
            Some(open) => {
                if !t.ends_with(')') {
                    return Err("text after the closing `)`".into());
                }
                (&t[..open], Some(&t[open + 1..t.len() - 1]))
            }
            None => (t, None),
        };
        if !FORMS.iter().any(|(k, _)| *k == name) {
            let kinds: Vec<&str> = FORMS.iter().map(|(k, _)| *k).collect();
            return Err(format!("unknown layer (known: {})", kinds.join(", ")));
        }
        let mut out = Args {
            name,
            parens: args.is_some(),
            pos: Vec::new(),
            named: Vec::new(),
        };
        let Some(args) = args else { return Ok(out) };
        if args.trim().is_empty() {
            return Err(format!("empty `()`; write {}", form(name)));
        }
        for a in args.split(',') {
            let a = a.trim();
            match a.split_once('=') {
                Some((k, _)) if out.named.iter().any(|(n, _)| *n == k.trim()) => {
                    return Err(format!("{} is given twice", k.trim()));
                }
                Some((k, v)) => out.named.push((k.trim(), v.trim())),
                None if out.named.is_empty() => out.pos.push(a),
                None => {
                    return Err(format!(
                        "a plain number after `name=`; write {}",
                        form(name)
                    ))
                }
            }
        }
        Ok(out)
    }

    /// `write conv(OUT,K[,stride=S][,pad=P])`: how to write this kind.
    fn usage(&self) -> String {
        format!("write {}", form(self.name))
    }

    /// The whole number `v` (the `what` of the form) from 1 to `max`.
    fn int(&self, what: &str, v: &str, max: usize) -> Reason<usize> {
        let n: usize = v
            .parse()
            .map_err(|_| format!("{what} `{v}` is not a whole number; {}", self.usage()))?;
        if n == 0 || n > max {
            return Err(format!("{what} {n} is out of range (1 to {max})"));
        }
        Ok(n)
    }

    /// A probability from 0 up to (not including) 1.
    fn prob(&self, v: &str) -> Reason<f32> {
        let p: f32 = decimal(v)
            .ok_or_else(|| format!("`{v}` is not a probability such as 0.5; {}", self.usage()))?;
        if !(0.0..1.0).contains(&p) {
            return Err(format!("p {v} is out of range (0 to below 1)"));
        }
        Ok(p)
    }

    /// Refuse an option other than `allowed`.
    fn only(&self, allowed: &[&str]) -> Reason<()> {
        match self.named.iter().find(|(k, _)| !allowed.contains(k)) {
            Some((k, _)) => Err(format!("`{k}=` is not an option here; {}", self.usage())),
            None => Ok(()),
        }
    }

    /// The option `key=N` if given, N up to `max` (from 0 when `zero`, else from 1).
    fn named_int(&self, key: &str, max: usize, zero: bool) -> Reason<Option<usize>> {
        let Some((_, v)) = self.named.iter().rev().find(|(k, _)| *k == key) else {
            return Ok(None);
        };
        let n: usize = v
            .parse()
            .map_err(|_| format!("{key} `{v}` is not a whole number; {}", self.usage()))?;
        if (!zero && n == 0) || n > max {
            let lo = if zero { 0 } else { 1 };
            return Err(format!("{key} {n} is out of range ({lo} to {max})"));
        }
        Ok(Some(n))
    }

    /// `layer` when the text has no `(...)`.
    fn bare(&self, layer: Layer) -> Reason<Layer> {
        if self.parens {
            Err(format!("takes no numbers; {}", self.usage()))
        } else {
            Ok(layer)
        }
    }
}

/// Parse one layer's text; the error is the reason only.
fn parse_layer(t: &str) -> Reason<Layer> {
    let a = Args::split(t)?;
    let pos = a.pos.as_slice();
    match a.name {
        "conv" => {
            a.only(&["stride", "pad"])?;
            let [out, k] = pos else {
                return Err(format!("needs OUT and K; {}", a.usage()));
            };
            let out = a.int("OUT", out, MAX_CHANNELS)?;
            let k = a.int("K", k, MAX_KERNEL)?;
            let stride = a.named_int("stride", MAX_STRIDE, false)?.unwrap_or(1);
            let pad = a
                .named_int("pad", MAX_STRIDE.max(k), true)?
                .unwrap_or(k / 2);
            Ok(Layer::Conv {
                out,
                k,
                stride,
                pad,
            })
        }
        "maxpool" | "avgpool" => {
            a.only(&["stride"])?;
            let [k] = pos else {
                return Err(format!("needs K; {}", a.usage()));
            };
            let k = a.int("K", k, MAX_KERNEL)?;
            let stride = a
                .named_int("stride", MAX_STRIDE.max(k), false)?
                .unwrap_or(k);
            Ok(if a.name == "maxpool" {
                Layer::MaxPool { k, stride }
            } else {
                Layer::AvgPool { k, stride }
            })
        }
        "relu" => a.bare(Layer::Relu),
        "tanh" => a.bare(Layer::Tanh),
        "sigmoid" => a.bare(Layer::Sigmoid),
        "batchnorm" => a.bare(Layer::BatchNorm),
        "flatten" => a.bare(Layer::Flatten),
        "leakyrelu" => {
            a.only(&[])?;
            match pos {
                [] => Ok(Layer::LeakyRelu {
                    slope: LEAKY_DEFAULT,
                }),
                [v] => {
                    let slope: f32 = decimal(v)
                        .filter(|s: &f32| s.abs() <= 100.0)
                        .ok_or_else(|| format!("slope `{v}` is not a number from -100 to 100"))?;
                    Ok(Layer::LeakyRelu { slope })
                }
                _ => Err(a.usage()),
            }
        }
        "dropout2d" | "dropout" => {
            a.only(&[])?;
            let [v] = pos else {
                return Err(format!("needs P; {}", a.usage()));
            };
            let p = a.prob(v)?;
            Ok(if a.name == "dropout" {
                Layer::Dropout { p }
            } else {
                Layer::Dropout2d { p }
            })
        }
        "linear" => {
            a.only(&[])?;
            match pos {
                [] => Ok(Layer::Linear { out: None }),
                [v] => Ok(Layer::Linear {
                    out: Some(a.int("N", v, MAX_LINEAR)?),
                }),
                _ => Err(a.usage()),
            }
        }
        _ => unreachable!("every known keyword has an arm"),
    }
}

#[cfg(test)]
#[path = "arch_tests.rs"]
mod tests;
