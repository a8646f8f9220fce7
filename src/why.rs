//! Why did the network say that? Three attribution maps for one image and one class `c`
//! (by default the predicted one), all in eval mode (dropout off, batch norm on its
//! running statistics):
//!
//! - **saliency**: for every input pixel, the largest over the input channels of
//!   |d logit_c / d x| (x: the normalised input), one map at the input's size;
//! - **Grad-CAM**: on a feature map A (by default [`gradcam_layer`]: the last
//!   convolution's output carried through the layers that keep its shape, the course's
//!   net's `relu3`), alpha_k = the mean over positions of d logit_c / d A_k, and the map is
//!   ReLU(sum_k alpha_k A_k) at A's resolution;
//! - **occlusion**: a square patch of the normalised input set to 0 (a mid-grey pixel) in
//!   every channel, at every position fully inside the image, row by row; each cell holds
//!   p_c(original) - p_c(occluded), softmax probabilities.
//!
//! The gradients come from the CPU backend's own steps ([`cpu::score_gradients`]), the
//! occluded images from its batched prediction: the code that trains the network.

use ndarray::Array2;

use crate::backend::cpu::{self, CpuBackend};
use crate::backend::Backend;
use crate::nn::arch::{Layer, Shape};
use crate::nn::net::Net;
use crate::{Error, Result};

/// Default occlusion patch side and stride, in input pixels.
pub const DEFAULT_PATCH: usize = 16;
pub const DEFAULT_STRIDE: usize = 8;

/// Occluded images pushed through the network at once.
const OCCLUSION_BATCH: usize = 64;

/// An attribution method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Saliency,
    GradCam,
    Occlusion { patch: usize, stride: usize },
}

impl Method {
    /// The name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Method::Saliency => "saliency",
            Method::GradCam => "gradcam",
            Method::Occlusion { .. } => "occlusion",
        }
    }

    /// The method from its name (`saliency`, `gradcam`, `occlusion` with the default patch).
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "saliency" => Method::Saliency,
            "gradcam" | "grad-cam" => Method::GradCam,
            "occlusion" => Method::Occlusion {
                patch: DEFAULT_PATCH,
                stride: DEFAULT_STRIDE,
            },
            _ => return None,
        })
    }

    /// The next method in the app's order (saliency, Grad-CAM, occlusion).
    pub fn next(self) -> Method {
        match self {
            Method::Saliency => Method::GradCam,
            Method::GradCam => Method::parse("occlusion").unwrap_or(Method::Saliency),
            Method::Occlusion { .. } => Method::Saliency,
        }
    }

    /// What the map shows and what it does not, in one honest sentence.
    pub fn caveat(self) -> &'static str {
        match self {
            Method::Saliency => {
                "How much a tiny change of each pixel would move the class's score: \
                 sensitivity, not evidence; it is often noisy and can look like an edge \
                 detector even for an untrained network."
            }
            Method::GradCam => {
                "Where the last feature maps that raise the class's score are active, \
                 at their coarse resolution: it shows where, not what, and can light up \
                 a region for the wrong reason."
            }
            Method::Occlusion { .. } => {
                "How much the class's probability drops when a grey patch hides each \
                 place: a real experiment, but a grey square is an image the network \
                 never saw, and a shape hidden in two places at once is not tested."
            }
        }
    }
}

/// One attribution map.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub method: Method,
    /// The class explained.
    pub class: usize,
    /// Its softmax probability for the unchanged image.
    pub probability: f32,
    /// The predicted class.
    pub predicted: usize,
    /// The map, rows x columns (saliency: the input's size; Grad-CAM: the feature map's;
    /// occlusion: one cell per patch position).
    pub map: Array2<f32>,
    /// The feature map Grad-CAM used.
    pub layer: Option<String>,
    /// Input pixels per map cell vertically and horizontally, and the patch side (the
    /// footprint of a cell on the image: for drawing and for the regions in words).
    pub cell: (usize, usize, usize),
}

/// Softmax of scores (f64 sums, as the log-softmax of training).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let s: f64 = logits.iter().map(|&v| f64::from(v - m).exp()).sum();
    logits
        .iter()
        .map(|&v| (f64::from(v - m).exp() / s) as f32)
        .collect()
}

/// The feature map Grad-CAM looks at by default: the last convolution's output carried
/// forward through the layers that keep its shape (batch norm, activations, dropout), the
/// last of them that has a name (`relu3` in the course's net). None when there is no
/// convolution.
pub fn gradcam_layer(net: &Net) -> Option<String> {
    let layers = &net.plan.layers;
    let last = layers
        .iter()
        .rposition(|l| matches!(l.layer, Layer::Conv { .. }))?;
    let mut name = layers[last].act.clone();
    for l in &layers[last + 1..] {
        if l.output != layers[last].output {
            break;
        }
        if l.act.is_some() {
            name = l.act.clone();
        }
    }
    name
}

fn check_class(net: &Net, class: usize) -> Result<()> {
    if class >= net.classes() {
        return Err(Error::Other(format!(
            "class {} is not one of the net's {} classes",
            class + 1,
            net.classes()
        )));
    }
    Ok(())
}

/// Saliency of `class` for one normalised image.
pub fn saliency(net: &Net, input: &[f32], class: usize) -> Result<Attribution> {
    check_class(net, class)?;
    let g = cpu::score_gradients(net, input, class, None)?;
    let [c, h, w] = net.plan.input_dims();
    let mut map = Array2::<f32>::zeros((h, w));
    for ci in 0..c {
        for (m, &v) in map.iter_mut().zip(&g.input[ci * h * w..(ci + 1) * h * w]) {
            *m = m.max(v.abs());
        }
    }
    let probs = softmax(&g.logits);
    Ok(Attribution {
        method: Method::Saliency,
        class,
        probability: probs[class],
        predicted: cpu::argmax(&probs),
        map,
        layer: None,
        cell: (1, 1, 1),
    })
}

/// Grad-CAM of `class` on the feature map `layer` (default [`gradcam_layer`]).
pub fn gradcam(net: &Net, input: &[f32], class: usize, layer: Option<&str>) -> Result<Attribution> {
    check_class(net, class)?;
    let name = match layer {
        Some(l) => l.to_string(),
        None => gradcam_layer(net).ok_or_else(|| {
            Error::Other("Grad-CAM needs feature maps, and this network has no convolution".into())
        })?,
    };
    let shape = net
        .plan
        .layers
        .iter()
        .find(|l| l.act.as_deref() == Some(name.as_str()))
        .map(|l| l.output);
    let Some(Shape::Maps { c, h, w }) = shape else {
        return Err(Error::Other(format!(
            "Grad-CAM needs a layer of feature maps; `{}` is not one",
            crate::text::escaped(&name)
        )));
    };
    let g = cpu::score_gradients(net, input, class, Some(&name))?;
    let Some((values, grad)) = g.map else {
        unreachable!("score_gradients returns the map it was asked for")
    };
    let hw = h * w;
    let mut sum = vec![0.0f64; hw];
    for k in 0..c {
        let alpha: f64 = grad[k * hw..(k + 1) * hw]
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / hw as f64;
        for (s, &a) in sum.iter_mut().zip(&values[k * hw..(k + 1) * hw]) {
            *s += alpha * f64::from(a);
        }
    }
    let map = Array2::from_shape_fn((h, w), |(r, col)| sum[r * w + col].max(0.0) as f32);
    let probs = softmax(&g.logits);
    let [_, ih, iw] = net.plan.input_dims();
    Ok(Attribution {
        method: Method::GradCam,
        class,
        probability: probs[class],
        predicted: cpu::argmax(&probs),
        map,
        layer: Some(name),
        cell: (ih / h.max(1), iw / w.max(1), 1),
    })
}

/// The patch positions of occlusion along a side of `n` pixels: every start fully inside.
pub fn occlusion_starts(n: usize, patch: usize, stride: usize) -> Vec<usize> {
    if patch == 0 || stride == 0 || patch > n {
        return Vec::new();
    }
    (0..=n - patch).step_by(stride).collect()
}

/// Occlusion of `class`: the probability drop for a `patch`-square grey patch at every
/// `stride`, batched through `backend`'s prediction.
pub fn occlusion(
    backend: &mut CpuBackend,
    net: &Net,
    input: &[f32],
    class: usize,
    patch: usize,
    stride: usize,
) -> Result<Attribution> {
    check_class(net, class)?;
    let [c, h, w] = net.plan.input_dims();
    if patch == 0 || stride == 0 {
        return Err(Error::Usage(
            "the occlusion patch and stride must be at least 1".into(),
        ));
    }
    if patch > h || patch > w {
        return Err(Error::Usage(format!(
            "a {patch}x{patch} patch does not fit in a {h}x{w} image"
        )));
    }
    let rows = occlusion_starts(h, patch, stride);
    let cols = occlusion_starts(w, patch, stride);
    let base = backend.predict(net, input)?;
    let base: Vec<f32> = base.iter().map(|v| v.exp()).collect();
    let positions: Vec<(usize, usize)> = rows
        .iter()
        .flat_map(|&r| cols.iter().map(move |&col| (r, col)))
        .collect();
    let mut drops = Vec::with_capacity(positions.len());
    let len = input.len();
    for chunk in positions.chunks(OCCLUSION_BATCH) {
        let mut batch = Vec::with_capacity(chunk.len() * len);
        for &(r, col) in chunk {
            let start = batch.len();
            batch.extend_from_slice(input);
            let img = &mut batch[start..];
            for ci in 0..c {
                for y in r..r + patch {
                    let at = ci * h * w + y * w;
                    img[at + col..at + col + patch].fill(0.0);
                }
            }
        }
        let lp = backend.predict(net, &batch)?;
        drops.extend(
            lp.rows()
                .into_iter()
                .map(|row| base[class] - row[class].exp()),
        );
    }
    let map = Array2::from_shape_vec((rows.len(), cols.len()), drops)
        .map_err(|e| Error::shape("occlusion", e))?;
    Ok(Attribution {
        method: Method::Occlusion { patch, stride },
        class,
        probability: base[class],
        predicted: cpu::argmax(&base),
        map,
        layer: None,
        cell: (stride, stride, patch),
    })
}

/// Any of the three, for `class` (None: the predicted class).
pub fn explain(
    backend: &mut CpuBackend,
    net: &Net,
    input: &[f32],
    method: Method,
    class: Option<usize>,
    layer: Option<&str>,
) -> Result<Attribution> {
    let class = match class {
        Some(c) => c,
        None => {
            let lp = backend.predict(net, input)?;
            cpu::argmax(lp.row(0).as_slice().unwrap_or(&[]))
        }
    };
    match method {
        Method::Saliency => saliency(net, input, class),
        Method::GradCam => gradcam(net, input, class, layer),
        Method::Occlusion { patch, stride } => occlusion(backend, net, input, class, patch, stride),
    }
}

/// The image split in a 3x3 grid of regions, with each region's share of the map's
/// positive total, largest first (for "the top regions in words"). A cell counts for the
/// region its centre lies in.
pub fn regions(a: &Attribution, image: (usize, usize)) -> Vec<(&'static str, f32)> {
    const NAMES: [[&str; 3]; 3] = [
        ["top left", "top", "top right"],
        ["left", "centre", "right"],
        ["bottom left", "bottom", "bottom right"],
    ];
    let (ih, iw) = image;
    let (sy, sx, patch) = a.cell;
    let mut sums = [[0.0f64; 3]; 3];
    let mut total = 0.0f64;
    for ((r, c), &v) in a.map.indexed_iter() {
        let v = f64::from(v.max(0.0));
        let (cy, cx) = (r * sy + (patch.max(sy)) / 2, c * sx + (patch.max(sx)) / 2);
        let gy = (cy * 3 / ih.max(1)).min(2);
        let gx = (cx * 3 / iw.max(1)).min(2);
        sums[gy][gx] += v;
        total += v;
    }
    let mut out: Vec<(&'static str, f32)> = (0..9)
        .map(|i| {
            let share = if total > 0.0 {
                sums[i / 3][i % 3] / total
            } else {
                0.0
            };
            (NAMES[i / 3][i % 3], share as f32)
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// The map shrunk (or stretched) to `rows` x `cols` cells for drawing: each cell the mean
/// of the map cells its block covers (at least one).
pub fn resample(map: &Array2<f32>, rows: usize, cols: usize) -> Array2<f32> {
    let (h, w) = map.dim();
    let span = |i: usize, n: usize, m: usize| {
        let a = i * m / n.max(1);
        let b = ((i + 1) * m / n.max(1)).max(a + 1).min(m);
        a.min(m.saturating_sub(1))..b
    };
    Array2::from_shape_fn((rows, cols), |(r, c)| {
        let (ry, rx) = (span(r, rows, h), span(c, cols, w));
        let n = (ry.len() * rx.len()).max(1);
        let sum: f32 = ry
            .flat_map(|y| rx.clone().map(move |x| (y, x)))
            .map(|(y, x)| map[[y, x]])
            .sum();
        sum / n as f32
    })
}

/// The map laid over an `h` x `w` image for drawing: each pixel the mean of the map cells
/// whose footprint covers it (a Grad-CAM cell covers its block of pixels, an occlusion
/// cell its patch; 0 where none does), negative values as 0, divided by the largest, so
/// 0..1.
pub fn pixel_weights(a: &Attribution, h: usize, w: usize) -> Vec<f32> {
    let (mh, mw) = a.map.dim();
    let (sy, sx, patch) = a.cell;
    let (fy, fx) = (patch.max(sy).max(1), patch.max(sx).max(1));
    let covering = |p: usize, step: usize, foot: usize, n: usize| {
        let step = step.max(1);
        let hi = (p / step).min(n.saturating_sub(1));
        let lo = (p + 1).saturating_sub(foot).div_ceil(step);
        lo..hi + 1
    };
    let mut out = vec![0.0f32; h * w];
    for y in 0..h {
        let rows = covering(y, sy, fy, mh);
        for x in 0..w {
            let cols = covering(x, sx, fx, mw);
            let (mut sum, mut n) = (0.0f32, 0u32);
            for r in rows.clone() {
                for c in cols.clone() {
                    if r * sy <= y && y < r * sy + fy && c * sx <= x && x < c * sx + fx {
                        sum += a.map[[r, c]].max(0.0);
                        n += 1;
                    }
                }
            }
            if n > 0 {
                out[y * w + x] = sum / n as f32;
            }
        }
    }
    let top = out.iter().copied().fold(0.0f32, f32::max);
    if top > 0.0 {
        out.iter_mut().for_each(|v| *v /= top);
    }
    out
}

/// The largest value of a map and where (row, column), the first in reading order.
pub fn peak(map: &Array2<f32>) -> (f32, (usize, usize)) {
    let mut best = (f32::NEG_INFINITY, (0, 0));
    for ((r, c), &v) in map.indexed_iter() {
        if v > best.0 {
            best = (v, (r, c));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_takes_block_means() {
        let m = Array2::from_shape_fn((4, 4), |(r, c)| (r * 4 + c) as f32);
        let s = resample(&m, 2, 2);
        assert_eq!(s[[0, 0]], (0.0 + 1.0 + 4.0 + 5.0) / 4.0);
        assert_eq!(s[[1, 1]], (10.0 + 11.0 + 14.0 + 15.0) / 4.0);
        let up = resample(&m, 4, 8);
        assert_eq!(up[[2, 5]], m[[2, 2]]);
        assert_eq!(peak(&m), (15.0, (3, 3)));
    }

    #[test]
    fn pixel_weights_follow_each_cells_footprint() {
        let mk = |map: Array2<f32>, cell| Attribution {
            method: Method::GradCam,
            class: 0,
            probability: 0.5,
            predicted: 0,
            map,
            layer: None,
            cell,
        };
        // Grad-CAM-like: 2x2 cells of 4x4 pixels
        let a = mk(
            Array2::from_shape_vec((2, 2), vec![0.0, 2.0, -1.0, 4.0]).unwrap(),
            (4, 4, 1),
        );
        let p = pixel_weights(&a, 8, 8);
        assert_eq!(p[0], 0.0);
        assert_eq!(p[5], 0.5);
        assert_eq!(p[4 * 8], 0.0);
        assert_eq!(p[7 * 8 + 7], 1.0);
        // occlusion-like: patches of 4 every 2 pixels on a 6x6 image (2x2 positions)
        let b = mk(
            Array2::from_shape_vec((2, 2), vec![1.0, 0.0, 0.0, 0.0]).unwrap(),
            (2, 2, 4),
        );
        let q = pixel_weights(&b, 6, 6);
        assert_eq!(q[0], 1.0); // only the first patch covers (0, 0)
        assert_eq!(q[2 * 6 + 2], 0.25); // all four cover (2, 2)
        assert_eq!(q[5 * 6 + 5], 0.0);
    }

    #[test]
    fn occlusion_positions_are_the_ones_fully_inside() {
        assert_eq!(occlusion_starts(128, 16, 8).len(), 15);
        assert_eq!(occlusion_starts(6, 2, 2), vec![0, 2, 4]);
        assert_eq!(occlusion_starts(7, 2, 2), vec![0, 2, 4]);
        assert!(occlusion_starts(4, 5, 1).is_empty());
    }

    #[test]
    fn gradcam_looks_after_the_last_convolution() {
        let net = Net::course(1, 3);
        assert_eq!(gradcam_layer(&net).as_deref(), Some("relu3"));
        let plan = crate::nn::arch::Plan::new(
            &crate::nn::arch::Arch::parse(
                "conv(4,3) maxpool(2) relu conv(4,3) maxpool(2) relu flatten linear",
            )
            .unwrap(),
            [3, 16, 16],
            2,
        )
        .unwrap();
        assert_eq!(gradcam_layer(&Net::new(plan, 1)).as_deref(), Some("conv2"));
        let mlp = crate::nn::arch::Plan::new(
            &crate::nn::arch::Arch::parse("flatten linear(8) relu linear").unwrap(),
            [3, 8, 8],
            2,
        )
        .unwrap();
        let mlp = Net::new(mlp, 1);
        assert_eq!(gradcam_layer(&mlp), None);
        let x = vec![0.0; mlp.plan.input_len()];
        let e = gradcam(&mlp, &x, 0, None).unwrap_err();
        assert!(e.to_string().contains("no convolution"), "{e}");
    }

    #[test]
    fn occlusion_cells_are_probability_drops_of_the_patched_image() {
        let net = Net::course(5, 3);
        let x: Vec<f32> = (0..net.plan.input_len())
            .map(|i| ((i * 7919 % 255) as f32 / 127.5) - 1.0)
            .collect();
        let mut b = CpuBackend::new(Some(1)).unwrap();
        let a = occlusion(&mut b, &net, &x, 1, 32, 48).unwrap();
        assert_eq!(a.map.dim(), (3, 3));
        // the cell at row 1, column 2: the patch at (48, 96), recomputed by the reference ops
        let mut y = x.clone();
        for c in 0..3 {
            for r in 48..80 {
                y[c * 128 * 128 + r * 128 + 96..c * 128 * 128 + r * 128 + 128].fill(0.0);
            }
        }
        let p = |v: &[f32]| {
            let t = net.forward_trace(
                &ndarray::Array4::from_shape_vec((1, 3, 128, 128), v.to_vec()).unwrap(),
            );
            t.log_probs()[[0, 1]].exp()
        };
        let want = p(&x) - p(&y);
        assert!(
            (a.map[[1, 2]] - want).abs() < 1e-5,
            "{} vs {want}",
            a.map[[1, 2]]
        );
        assert!((a.probability - p(&x)).abs() < 1e-5);
    }
}
