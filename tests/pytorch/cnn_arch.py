"""The one-line architecture text, read by PyTorch: the reference for cnn-tutor's own parser.

A network is written as its layers in order, separated by whitespace and/or `->`:

    conv(12,3) maxpool(2) relu conv(12,3) maxpool(2) relu conv(24,3) dropout2d(0.2) relu dropout(0.5) flatten linear

Layers (lowercase; spaces are allowed inside the parentheses, not between a name and its `(`):

    conv(OUT,K[,stride=S][,pad=P])   Conv2d(in, OUT, K, stride S (1), padding P (K//2)), with bias
    maxpool(K[,stride=S])            MaxPool2d(K, stride S (K)), no padding, floor mode
    avgpool(K[,stride=S])            AvgPool2d(K, stride S (K)), no padding, floor mode
    relu  tanh  sigmoid              the activations
    leakyrelu  leakyrelu(SLOPE)      LeakyReLU with negative slope SLOPE (0.01)
    batchnorm                        BatchNorm2d over the channels (eps 1e-5, momentum 0.1)
    dropout2d(P)  dropout(P)         drop whole channels / single values with probability P, 0 <= P < 1
    flatten                          (N, C, H, W) -> (N, C*H*W), exactly once, before any linear
    linear(N)                        a hidden fully connected layer with N outputs
    linear                           the last layer: one output (score) per class

log_softmax and the mean negative log-likelihood loss (= CrossEntropyLoss) follow the last layer.
Whole numbers are plain digits (OUT, K, S >= 1; P >= 0); SLOPE and P are decimals such as 0.2,
-0.1 or 0 (no exponent). Keywords may come in either order, each at most once.

    parse(text)        -> list of layer dicts (ValueError naming the layer number and text)
    normalise(text)    -> the canonical text: one space between layers, defaults left out
    build(text, ...)   -> ArchNet, a torch.nn.Module whose state_dict keys are convI.*, bnI.*, fc.* or fcI.*
    param_count(model) -> the number of trainable parameters

Nothing in the build or the test suite runs this file; the scripts beside it import it
(make_arch_reference.py, make_arch_plans.py). Needs torch.
"""
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_SLOPE = 0.01

# For each layer kind: the required numbers in order, the optional numbers after them, the keywords.
SPECS = {
    "conv": (["out", "kernel"], [], ["stride", "pad"]),
    "maxpool": (["kernel"], [], ["stride"]),
    "avgpool": (["kernel"], [], ["stride"]),
    "relu": ([], [], []),
    "tanh": ([], [], []),
    "sigmoid": ([], [], []),
    "leakyrelu": ([], ["slope"], []),
    "batchnorm": ([], [], []),
    "dropout2d": (["p"], [], []),
    "dropout": (["p"], [], []),
    "flatten": ([], [], []),
    "linear": ([], ["out"], []),
}

# The kinds that need an image (N, C, H, W) and so cannot come after flatten.
IMAGE_ONLY = {"conv", "maxpool", "avgpool", "batchnorm", "dropout2d"}

# The name of each kind's output in a trace (then numbered from 1 per kind); dropout and flatten have none.
ACT_PREFIX = {"conv": "conv", "batchnorm": "bn", "maxpool": "pool", "avgpool": "avgpool",
              "relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "leakyrelu": "leakyrelu"}

WHOLE = re.compile(r"[0-9]+")
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class ArchError(ValueError):
    """A text that is not a network; `layer` is the 1-based number of the layer at fault (or None)."""

    def __init__(self, layer, text, why):
        self.layer = layer
        super().__init__(f"layer {layer} '{text}': {why}" if layer else why)


def split_layers(text):
    """The layers' texts in order. Whitespace and `->` separate layers; a `(` runs to its `)`."""
    layers, pos, arrow = [], 0, False
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
        elif text.startswith("->", pos):
            if arrow or not layers:
                raise ArchError(len(layers) + 1, "->", "expected a layer before '->'")
            arrow, pos = True, pos + 2
        else:
            start = pos
            while pos < len(text) and not text[pos].isspace() and text[pos] != "(" \
                    and not text.startswith("->", pos):
                pos += 1
            if pos < len(text) and text[pos] == "(":
                close = text.find(")", pos)
                if close < 0:
                    raise ArchError(len(layers) + 1, text[start:], "'(' without ')'")
                pos = close + 1
                if pos < len(text) and not text[pos].isspace() and not text.startswith("->", pos):
                    raise ArchError(len(layers) + 1, text[start:pos],
                                    f"expected a space or '->' after ')', found '{text[pos]}'")
            layers.append(text[start:pos])
            arrow = False
    if arrow:
        raise ArchError(len(layers) + 1, "->", "expected a layer after '->'")
    if not layers:
        raise ArchError(None, text, "no layers: write e.g. 'conv(8,3) relu flatten linear'")
    return layers


def number(name, value):
    """One argument's value (`value` is its text), checked for its range."""
    if name == "slope":
        if not DECIMAL.fullmatch(value):
            raise ValueError(f"the slope must be a decimal number such as 0.2, not '{value}'")
        if not math.isfinite(float(value)):
            raise ValueError(f"the slope {value} is too large")
        return float(value)
    if name == "p":
        if not DECIMAL.fullmatch(value) or not 0 <= float(value) < 1:
            raise ValueError(f"p must be a decimal number at least 0 and below 1, not '{value}'")
        return float(value)
    if not WHOLE.fullmatch(value) or (name != "pad" and int(value) == 0):
        least = "0 or more" if name == "pad" else "1 or more"
        raise ValueError(f"{name} must be a whole number, {least}, not '{value}'")
    return int(value)


def parse_layer(text):
    """One layer's text -> {'kind': ..., and its arguments with the defaults filled in}."""
    name, _, rest = text.partition("(")
    if not name:
        raise ValueError("a '(' needs the layer's name right before it, without a space")
    if name not in SPECS:
        hint = " (layer names are lowercase)" if name.lower() in SPECS else ""
        raise ValueError(f"unknown layer '{name}'{hint}; known: {', '.join(SPECS)}")
    required, optional, keywords = SPECS[name]
    inside = rest[:-1].strip()  # between the parentheses (split_layers saw to the ')' at the end)
    takes_nothing = not (required or optional or keywords)
    if "(" in text and (takes_nothing or (not inside and not required)):  # relu(), leakyrelu(), linear()
        raise ValueError(f"{name} takes {signature(name)}; write '{name}' without parentheses")
    args = [a.strip() for a in inside.split(",")] if inside else []
    if "" in args:
        raise ValueError("an argument is empty")
    layer = {"kind": name}
    numbers = [a for a in args if "=" not in a]
    if any("=" in a for a in args[:len(numbers)]) or len(numbers) > len(required) + len(optional):
        raise ValueError(f"{name} takes {signature(name)}")
    if len(numbers) < len(required):
        raise ValueError(f"missing {required[len(numbers)]}: {name} takes {signature(name)}")
    for key, value in zip(required + optional, numbers):
        layer[key] = number(key, value)
    for arg in args[len(numbers):]:
        key, _, value = (s.strip() for s in arg.partition("="))
        if key not in keywords:
            raise ValueError(f"unknown keyword '{key}': {name} takes {signature(name)}")
        if key in layer:
            raise ValueError(f"{key} is given twice")
        layer[key] = number(key, value)
    # The defaults.
    if name == "conv":
        layer.setdefault("stride", 1)
        layer.setdefault("pad", layer["kernel"] // 2)
    elif name in ("maxpool", "avgpool"):
        layer.setdefault("stride", layer["kernel"])
    elif name == "leakyrelu":
        layer.setdefault("slope", DEFAULT_SLOPE)
    return layer


def signature(kind):
    """How a kind is written, for the error messages: e.g. 'conv(OUT,K[,stride=S][,pad=P])'."""
    forms = {"conv": "(OUT,K[,stride=S][,pad=P])", "maxpool": "(K[,stride=S])", "avgpool": "(K[,stride=S])",
             "leakyrelu": " or leakyrelu(SLOPE)", "dropout2d": "(P)", "dropout": "(P)", "linear": " or linear(N)"}
    return kind + forms.get(kind, " (no arguments)")


def decimal(x):
    """The shortest decimal that reads back as the same float, without exponent or trailing zeros."""
    if x == 0:
        return "0"
    digits = 0
    while float(f"{x:.{digits}f}") != x:
        digits += 1
    return f"{x:.{digits}f}"


def layer_text(layer):
    """The canonical text of one parsed layer: defaults are left out."""
    kind = layer["kind"]
    if kind == "conv":
        extra = "" if layer["stride"] == 1 else f",stride={layer['stride']}"
        extra += "" if layer["pad"] == layer["kernel"] // 2 else f",pad={layer['pad']}"
        return f"conv({layer['out']},{layer['kernel']}{extra})"
    if kind in ("maxpool", "avgpool"):
        extra = "" if layer["stride"] == layer["kernel"] else f",stride={layer['stride']}"
        return f"{kind}({layer['kernel']}{extra})"
    if kind == "leakyrelu":
        return kind if layer["slope"] == DEFAULT_SLOPE else f"leakyrelu({decimal(layer['slope'])})"
    if kind in ("dropout", "dropout2d"):
        return f"{kind}({decimal(layer['p'])})"
    if kind == "linear" and "out" in layer:
        return f"linear({layer['out']})"
    return kind


def parse(text):
    """The layers of an architecture text, in order, each a dict:
    kind, its arguments (defaults filled in), text (canonical), module (the submodule's name:
    convI, bnI, fc/fcI, or None), act (the name of its output in a trace, or None)."""
    pieces, layers = split_layers(text), []
    for n, piece in enumerate(pieces, 1):
        try:
            layers.append(parse_layer(piece))
        except ValueError as e:
            raise ArchError(n, piece, str(e)) from None
    check_order(layers, pieces)
    name_layers(layers)
    for layer in layers:
        layer["text"] = layer_text(layer)
    return layers


def check_order(layers, pieces):
    """The rules about where layers may stand (those that need no sizes); `pieces`: the layers as written."""
    flattened = False
    for n, (layer, piece) in enumerate(zip(layers, pieces), 1):
        kind = layer["kind"]
        if kind == "flatten" and flattened:
            raise ArchError(n, piece, "flatten comes once")
        if kind in IMAGE_ONLY and flattened:
            raise ArchError(n, piece, f"{kind} works on images (N, C, H, W): it cannot come after flatten")
        if kind == "linear" and not flattened:
            raise ArchError(n, piece, "linear layers come after flatten")
        if kind == "linear" and "out" not in layer and n < len(layers):
            raise ArchError(n, piece, "'linear' without a size makes the class scores: it must be the last "
                                      "layer (write linear(N) for a hidden layer)")
        flattened = flattened or kind == "flatten"
    last = layers[-1]
    if last["kind"] != "linear" or "out" in last:
        raise ArchError(len(layers), pieces[-1], "the last layer must be 'linear' (one score per class)")


def name_layers(layers):
    """Give each layer its submodule name and its output's name in a trace."""
    counts = {}
    linears = sum(layer["kind"] == "linear" for layer in layers)
    for layer in layers:
        kind = layer["kind"]
        counts[kind] = counts.get(kind, 0) + 1
        layer["module"] = layer["act"] = None
        if kind in ACT_PREFIX:
            layer["act"] = f"{ACT_PREFIX[kind]}{counts[kind]}"
        if kind in ("conv", "batchnorm"):
            layer["module"] = layer["act"]
        elif kind == "linear":
            layer["module"] = "fc" if linears == 1 else f"fc{counts[kind]}"
            layer["act"] = layer["module"] if "out" in layer else "logits"


def normalise(text):
    """The canonical one-line text: layers separated by one space, defaults left out."""
    return " ".join(layer["text"] for layer in parse(text))


class ArchNet(nn.Module):
    """The network of an architecture text. Its submodules (convI, bnI, fc or fcI) are created
    in layer order with PyTorch's default initialisation; pools, activations, dropouts and
    flatten are applied as functions. `shapes` holds every layer's output shape (no batch)."""

    def __init__(self, text, in_shape=(3, 128, 128), classes=3):
        super().__init__()
        self.layers = parse(text)
        self.text = " ".join(layer["text"] for layer in self.layers)
        self.in_shape, self.classes, self.shapes = tuple(in_shape), classes, []
        # Each layer is run on a zero image as soon as it exists, so every size (and every
        # rejection of a window that does not fit) is PyTorch's own. In eval mode, so that
        # batchnorm's running statistics do not move.
        self.eval()
        x = torch.zeros(1, *self.in_shape)
        for n, layer in enumerate(self.layers, 1):
            module = self.make_module(layer, x.shape[1])
            if module is not None:
                setattr(self, layer["module"], module.eval())
            try:
                with torch.no_grad():
                    x = self.apply_layer(layer, x)
            except RuntimeError as e:
                raise ArchError(n, layer["text"], misfit(layer, x.shape[1:])) from e
            self.shapes.append(list(x.shape[1:]))
        self.train()

    def make_module(self, layer, inputs):
        """The submodule of a layer that has parameters (`inputs`: channels or features in), else None."""
        kind = layer["kind"]
        if kind == "conv":
            return nn.Conv2d(inputs, layer["out"], layer["kernel"], stride=layer["stride"], padding=layer["pad"])
        if kind == "batchnorm":
            return nn.BatchNorm2d(inputs, eps=1e-5, momentum=0.1)
        if kind == "linear":
            return nn.Linear(inputs, layer.get("out", self.classes))
        return None

    def apply_layer(self, layer, x):
        kind = layer["kind"]
        if layer["module"] is not None:
            return getattr(self, layer["module"])(x)
        if kind == "maxpool":
            return F.max_pool2d(x, layer["kernel"], stride=layer["stride"])
        if kind == "avgpool":
            return F.avg_pool2d(x, layer["kernel"], stride=layer["stride"])
        if kind == "relu":
            return F.relu(x)
        if kind == "tanh":
            return torch.tanh(x)
        if kind == "sigmoid":
            return torch.sigmoid(x)
        if kind == "leakyrelu":
            return F.leaky_relu(x, layer["slope"])
        if kind == "dropout2d":
            return F.dropout2d(x, layer["p"], training=self.training)
        if kind == "dropout":
            return F.dropout(x, layer["p"], training=self.training)
        if kind == "flatten":
            return x.flatten(1)
        raise AssertionError(kind)

    def forward(self, x, trace=None):
        """log_softmax of the class scores; when `trace` is a dict, every named output is stored in it."""
        for layer in self.layers:
            x = self.apply_layer(layer, x)
            if trace is not None and layer["act"]:
                trace[layer["act"]] = x
        x = F.log_softmax(x, dim=1)
        if trace is not None:
            trace["log_probs"] = x
        return x


def misfit(layer, shape):
    """Why PyTorch refused a layer on an input of `shape` (C, H, W): a kernel or window that does not fit."""
    h, w = shape[1], shape[2]
    k = layer["kernel"]
    if layer["kind"] == "conv":
        pad = layer["pad"]
        return (f"its {k}x{k} kernel is larger than its {h}x{w} input padded by {pad} "
                f"({h + 2 * pad}x{w + 2 * pad})")
    return f"its {k}x{k} window is larger than its {h}x{w} input"


def build(text, in_shape=(3, 128, 128), classes=3, seed=None):
    """ArchNet for `text` on inputs of in_shape (C, H, W); with `seed`, initialised under torch.manual_seed(seed)."""
    if seed is not None:
        torch.manual_seed(seed)
    return ArchNet(text, in_shape, classes)


def param_count(module):
    """The number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
