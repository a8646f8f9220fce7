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

#[cfg(test)]
#[path = "arch_tests.rs"]
mod tests;
