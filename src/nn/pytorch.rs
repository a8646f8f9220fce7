//! A network as a short PyTorch file (`cnn-tutor export --pytorch`), so a learner goes on
//! in the course's notebook with the network they designed here: the course's `Net`
//! style (the layers with weights made in `__init__` under the names of our
//! `state_dict`, so the checkpoint loads with `strict=True`; `forward` written out in
//! order), the class names, the images read as `predict` reads them, and a `__main__`
//! that prints `IMAGE: CLASS` per image.

use std::fmt::Write as _;

use super::arch::Layer;
use super::plan::{Plan, Shape};

/// The Python source for `plan` trained on `classes` (names in output order).
pub fn module_source(plan: &Plan, classes: &[String]) -> String {
    let [c, h, w] = plan.input_dims();
    let (init, forward) = layer_lines(plan);
    let class_list = serde_json::to_string(classes).unwrap_or_else(|_| "[]".into());
    let arch = plan.arch.to_string();
    let version = env!("CARGO_PKG_VERSION");
    format!(
        r#""""A network designed in cnn-tutor {version}, as a PyTorch module in the course's style.

    {arch}

Load the checkpoint cnn-tutor saved and classify images, as `cnn-tutor predict` does:

    python THIS_FILE.py MODEL.safetensors IMAGE...     (one line per image: `IMAGE: CLASS`)

or, in the course's notebook:  model = load_model("models/shapes_cnn.safetensors").
Needs torch, safetensors and Pillow.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

# The classes, in the order of the network's outputs (the image folder's sub-folders).
CLASSES = {class_list}

# The images the network takes: RGB, {h}x{w} pixels.
IMAGE_SIZE = ({w}, {h})


class Net(nn.Module):
    # Constructor: the layers with weights, named as in cnn-tutor's checkpoint
    def __init__(self, num_classes={classes}):
        super(Net, self).__init__()
{init}
    def forward(self, x):
        # x: a batch of {c}x{h}x{w} images; each line is one layer (its output per image)
{forward}        # Return class log-probabilities via a log_softmax function
        return F.log_softmax(x, dim=1)


def load_model(path):
    """The trained network from a cnn-tutor checkpoint (a safetensors file), in eval mode."""
    model = Net(num_classes=len(CLASSES))
    model.load_state_dict(load_file(path), strict=True)
    model.eval()
    return model


def load_image(path):
    """An image as cnn-tutor feeds it: RGB, resized (bilinear) when it is not {h}x{w},
    each value p becoming (p / 255 - 0.5) / 0.5, as the course's
    transforms.Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5]) does."""
    img = Image.open(path).convert("RGB")
    if img.size != IMAGE_SIZE:
        img = img.resize(IMAGE_SIZE, Image.BILINEAR)
    x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    x = x.reshape(IMAGE_SIZE[1], IMAGE_SIZE[0], 3).permute(2, 0, 1).float()
    return (x / 255.0 - 0.5) / 0.5


def predict(model, paths):
    """The class of each image, in order."""
    with torch.no_grad():
        batch = torch.stack([load_image(p) for p in paths])
        return [CLASSES[i] for i in model(batch).argmax(dim=1).tolist()]


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python " + sys.argv[0] + " MODEL.safetensors IMAGE...")
    model = load_model(sys.argv[1])
    for path, name in zip(sys.argv[2:], predict(model, sys.argv[2:])):
        print(f"{{path}}: {{name}}")
"#,
        classes = classes.len(),
    )
}

/// The lines of `__init__` (the layers with weights) and of `forward` (every layer).
fn layer_lines(plan: &Plan) -> (String, String) {
    let mut init = String::new();
    let mut forward = String::new();
    for l in &plan.layers {
        let module = l.module.clone().unwrap_or_default();
        let (cin, _) = l.input.channels();
        let shape = shape_text(l.output);
        let line = match l.layer {
            Layer::Conv {
                out,
                k,
                stride,
                pad,
            } => {
                let _ = writeln!(
                    init,
                    "        self.{module} = nn.Conv2d(in_channels={cin}, out_channels={out}, kernel_size={k}, stride={stride}, padding={pad})"
                );
                format!("self.{module}(x)")
            }
            Layer::BatchNorm => {
                let _ = writeln!(init, "        self.{module} = nn.BatchNorm2d({cin})");
                format!("self.{module}(x)")
            }
            Layer::Linear { out } => {
                let n = l.input.len();
                let out = match out {
                    Some(n) => n.to_string(),
                    None => "num_classes".into(),
                };
                let _ = writeln!(
                    init,
                    "        self.{module} = nn.Linear(in_features={n}, out_features={out})"
                );
                format!("self.{module}(x)")
            }
            Layer::MaxPool { k, stride } => {
                format!("F.max_pool2d(x, kernel_size={k}, stride={stride})")
            }
            Layer::AvgPool { k, stride } => {
                format!("F.avg_pool2d(x, kernel_size={k}, stride={stride})")
            }
            Layer::Relu => "F.relu(x)".into(),
            Layer::Tanh => "torch.tanh(x)".into(),
            Layer::Sigmoid => "torch.sigmoid(x)".into(),
            Layer::LeakyRelu { slope } => format!("F.leaky_relu(x, negative_slope={slope})"),
            Layer::Dropout2d { p } => format!("F.dropout2d(x, p={p}, training=self.training)"),
            Layer::Dropout { p } => format!("F.dropout(x, p={p}, training=self.training)"),
            Layer::Flatten => "torch.flatten(x, 1)".into(),
        };
        let _ = writeln!(forward, "        x = {line}  # {}: {shape}", l.layer);
    }
    (init, forward)
}

/// A shape as the comments write it: `12x64x64` or `24576 values`.
fn shape_text(s: Shape) -> String {
    match s {
        Shape::Maps { .. } => s.to_string(),
        Shape::Flat(n) => format!("{n} values"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::{Arch, DEFAULT_INPUT};

    #[test]
    fn the_course_net_is_written_in_the_course_style() {
        let classes: Vec<String> = ["circle", "square", "tri\"angle"]
            .iter()
            .map(ToString::to_string)
            .collect();
        let src = module_source(&Plan::course(3), &classes);
        assert!(src.contains(
            "self.conv1 = nn.Conv2d(in_channels=3, out_channels=12, kernel_size=3, stride=1, padding=1)"
        ));
        assert!(src.contains("self.fc = nn.Linear(in_features=24576, out_features=num_classes)"));
        assert!(src.contains(
            "        x = F.dropout(x, p=0.5, training=self.training)  # dropout(0.5): 24x32x32\n"
        ));
        assert!(src.contains(r#"CLASSES = ["circle","square","tri\"angle"]"#));
        let arch = Arch::parse(
            "conv(4,5,stride=2) batchnorm leakyrelu avgpool(2) flatten linear(7) tanh linear",
        )
        .unwrap();
        let src = module_source(&Plan::new(&arch, DEFAULT_INPUT, 2).unwrap(), &classes[..2]);
        assert!(src.contains("self.bn1 = nn.BatchNorm2d(4)"), "{src}");
        assert!(src.contains("self.fc1 = nn.Linear(in_features="), "{src}");
        assert!(
            src.contains("self.fc2 = nn.Linear(in_features=7, out_features=num_classes)"),
            "{src}"
        );
        assert!(
            src.contains("F.leaky_relu(x, negative_slope=0.01)"),
            "{src}"
        );
    }
}
