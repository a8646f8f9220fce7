//! What a filter looks for: for every channel of every convolution of a network, the
//! validation images that excite it most and its mean activation per class, from one
//! eval-mode pass of the CPU backend over the images ([`crate::backend::cpu::forward_trace`],
//! the pass `predict` and the inspector run), and the receptive field of a unit (the
//! input pixels it sees), from the plan's kernel sizes, strides and paddings.
//!
//! The activation of a channel is its convolution's output (before any activation
//! function). Per image only the best position counts (its largest value, the first in
//! row-major order on ties), so the top patches are distinct images.

use rayon::prelude::*;

use crate::data::{Dataset, IMAGE_LEN};
use crate::nn::arch::{Layer, Plan, Shape};
use crate::nn::net::Net;
use crate::{Error, Result};

/// Images pushed through the network per piece of work (each piece on one thread).
const CHUNK: usize = 8;

/// The input pixels a unit of a layer sees: unit `i` (a row or a column) covers input
/// rows (columns) `offset + i * jump` up to but not including that plus `size`, before
/// clipping to the image (padding reaches outside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Side of the square the unit sees.
    pub size: usize,
    /// Input pixels between neighbouring units.
    pub jump: usize,
    /// Where unit 0's square starts (negative: in the padding).
    pub offset: isize,
}

/// A rectangle of the input: rows `y0..y1`, columns `x0..x1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First row.
    pub y0: usize,
    /// Last row + 1.
    pub y1: usize,
    /// First column.
    pub x0: usize,
    /// Last column + 1.
    pub x1: usize,
}

impl Region {
    /// The region grown by `by` pixels on every side, clipped to an `h` x `w` image.
    pub fn grown(&self, by: usize, (h, w): (usize, usize)) -> Region {
        Region {
            y0: self.y0.saturating_sub(by),
            y1: (self.y1 + by).min(h),
            x0: self.x0.saturating_sub(by),
            x1: (self.x1 + by).min(w),
        }
    }

    /// Height and width.
    pub fn size(&self) -> (usize, usize) {
        (self.y1 - self.y0, self.x1 - self.x0)
    }
}

impl Field {
    /// The region unit (`y`, `x`) sees, clipped to an `h` x `w` input.
    pub fn region(&self, y: usize, x: usize, (h, w): (usize, usize)) -> Region {
        let span = |i: usize, len: usize| {
            let start = self.offset + (i * self.jump) as isize;
            let end = start + self.size as isize;
            let clip = |v: isize| v.clamp(0, len as isize) as usize;
            (clip(start), clip(end))
        };
        let (y0, y1) = span(y, h);
        let (x0, x1) = span(x, w);
        Region { y0, y1, x0, x1 }
    }
}

/// The receptive field of the output of layer `layer` (an index into `plan.layers`).
pub fn receptive_field(plan: &Plan, layer: usize) -> Result<Field> {
    let mut f = Field {
        size: 1,
        jump: 1,
        offset: 0,
    };
    let Some(upto) = plan.layers.get(..=layer) else {
        return Err(Error::Usage(format!(
            "layer {} does not exist: the network has {}",
            layer + 1,
            plan.layers.len()
        )));
    };
    for (i, l) in upto.iter().enumerate() {
        let (k, s, p) = match l.layer {
            Layer::Conv { k, stride, pad, .. } => (k, stride, pad),
            Layer::MaxPool { k, stride } | Layer::AvgPool { k, stride } => (k, stride, 0),
            Layer::Flatten | Layer::Linear { .. } => {
                return Err(Error::Usage(format!(
                    "layer {} {}: its output is not maps, so it has no receptive field",
                    i + 1,
                    l.layer
                )))
            }
            _ => continue,
        };
        f.offset -= (p * f.jump) as isize;
        f.size += (k - 1) * f.jump;
        f.jump *= s;
    }
    Ok(f)
}

/// One convolution of a network, as [`Looks`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvLayer {
    /// Its index in the plan's layers.
    pub index: usize,
    /// Its output's name (`conv2`).
    pub name: String,
    /// Output channels.
    pub channels: usize,
    /// Output height and width.
    pub size: (usize, usize),
    /// What one of its units sees.
    pub field: Field,
}

/// Every convolution of `plan`, in order.
pub fn conv_layers(plan: &Plan) -> Result<Vec<ConvLayer>> {
    let mut out = Vec::new();
    for (index, l) in plan.layers.iter().enumerate() {
        if let (Layer::Conv { .. }, Shape::Maps { c, h, w }, Some(name)) =
            (l.layer, l.output, &l.act)
        {
            out.push(ConvLayer {
                index,
                name: name.clone(),
                channels: c,
                size: (h, w),
                field: receptive_field(plan, index)?,
            });
        }
    }
    Ok(out)
}

/// One image's best position in one channel.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Best {
    value: f32,
    y: u16,
    x: u16,
    mean: f32,
}

/// One of the patches that excite a channel most.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patch {
    /// Index into the images given to [`Looks::compute`].
    pub image: usize,
    /// The image's class.
    pub label: usize,
    /// The activation at the best position.
    pub value: f32,
    /// The best position (row, column) in the channel's map.
    pub unit: (usize, usize),
    /// What that unit sees of the image.
    pub region: Region,
}

/// Every convolution channel's best position in every image, and its mean.
#[derive(Debug, Clone)]
pub struct Looks {
    /// The convolutions.
    pub layers: Vec<ConvLayer>,
    /// The images' height and width.
    pub image_size: (usize, usize),
    /// The images' classes.
    pub labels: Vec<usize>,
    /// Classes of the data set.
    pub classes: usize,
    /// Per layer, `[channel][image]` flattened.
    best: Vec<Vec<Best>>,
}

impl Looks {
    /// Push `indices` of `dataset` through `net` (eval mode) and keep, for every channel
    /// of every convolution, each image's largest activation, its position and the
    /// map's mean. An error when the network has no convolution, takes another input
    /// than the data set's images, or there are no images.
    pub fn compute(net: &Net, dataset: &Dataset, indices: &[usize]) -> Result<Looks> {
        let layers = conv_layers(&net.plan)?;
        if layers.is_empty() {
            return Err(Error::Usage(
                "this network has no convolution layer, so it has no filters to look at".into(),
            ));
        }
        if net.plan.input_len() != IMAGE_LEN {
            return Err(Error::Usage(format!(
                "this network takes {} inputs, the images are {}",
                net.plan.input,
                Shape::Maps {
                    c: 3,
                    h: crate::data::IMAGE_SIZE,
                    w: crate::data::IMAGE_SIZE
                }
            )));
        }
        if indices.is_empty() {
            return Err(Error::Usage(
                "there are no validation images to look at".into(),
            ));
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= dataset.len()) {
            return Err(Error::Usage(format!(
                "image {bad} is not in the data set ({} images)",
                dataset.len()
            )));
        }
        let chunks: Vec<Vec<Vec<Vec<Best>>>> = indices
            .par_chunks(CHUNK)
            .map(|chunk| chunk_bests(net, dataset, chunk, &layers))
            .collect::<Result<_>>()?;
        let n = indices.len();
        let mut best: Vec<Vec<Best>> = layers
            .iter()
            .map(|l| Vec::with_capacity(l.channels * n))
            .collect();
        for (li, l) in layers.iter().enumerate() {
            for c in 0..l.channels {
                for chunk in &chunks {
                    best[li].extend_from_slice(&chunk[li][c]);
                }
            }
        }
        let [_, h, w] = net.plan.input_dims();
        Ok(Looks {
            layers,
            image_size: (h, w),
            labels: indices.iter().map(|&i| dataset.labels[i]).collect(),
            classes: dataset.classes.len(),
            best,
        })
    }

    /// Images looked at.
    pub fn images(&self) -> usize {
        self.labels.len()
    }

    fn column(&self, layer: usize, channel: usize) -> Result<&[Best]> {
        let l = self.layers.get(layer).ok_or_else(|| {
            Error::Usage(format!(
                "convolution {} does not exist: the network has {}",
                layer + 1,
                self.layers.len()
            ))
        })?;
        if channel >= l.channels {
            return Err(Error::Usage(format!(
                "{} has {} channels, not {}",
                l.name,
                l.channels,
                channel + 1
            )));
        }
        let n = self.images();
        Ok(&self.best[layer][channel * n..(channel + 1) * n])
    }

    /// The `k` images whose best position in `channel` of convolution `layer` (an index
    /// into [`Looks::layers`]) is largest, largest first (ties: the earlier image).
    pub fn top(&self, layer: usize, channel: usize, k: usize) -> Result<Vec<Patch>> {
        let col = self.column(layer, channel)?;
        let mut order: Vec<usize> = (0..col.len()).collect();
        order.sort_by(|&a, &b| col[b].value.total_cmp(&col[a].value).then(a.cmp(&b)));
        let field = self.layers[layer].field;
        Ok(order
            .into_iter()
            .take(k)
            .map(|i| {
                let b = col[i];
                let unit = (usize::from(b.y), usize::from(b.x));
                Patch {
                    image: i,
                    label: self.labels[i],
                    value: b.value,
                    unit,
                    region: field.region(unit.0, unit.1, self.image_size),
                }
            })
            .collect())
    }

    /// The channel's mean activation (over every position) per class, over the images
    /// of that class (`None`: no image of it).
    pub fn class_means(&self, layer: usize, channel: usize) -> Result<Vec<Option<f64>>> {
        let col = self.column(layer, channel)?;
        let mut sum = vec![0.0f64; self.classes];
        let mut count = vec![0usize; self.classes];
        for (b, &l) in col.iter().zip(&self.labels) {
            if l < self.classes {
                sum[l] += f64::from(b.mean);
                count[l] += 1;
            }
        }
        Ok(sum
            .into_iter()
            .zip(count)
            .map(|(s, n)| (n > 0).then(|| s / n as f64))
            .collect())
    }
}

/// One chunk of images through the network: per layer, per channel, each image's best.
fn chunk_bests(
    net: &Net,
    dataset: &Dataset,
    chunk: &[usize],
    layers: &[ConvLayer],
) -> Result<Vec<Vec<Vec<Best>>>> {
    let mut x = vec![0.0f32; chunk.len() * IMAGE_LEN];
    dataset.try_normalized_into(chunk, &mut x)?;
    let trace = crate::backend::cpu::forward_trace(net, &x)?;
    layers
        .iter()
        .map(|l| {
            let maps = trace
                .maps(&l.name)
                .ok_or_else(|| Error::Other(format!("the pass kept no maps named {}", l.name)))?;
            Ok((0..l.channels)
                .map(|c| {
                    (0..chunk.len())
                        .map(|img| {
                            let m = maps.slice(ndarray::s![img, c, .., ..]);
                            let (mut best, mut at, mut sum) = (f32::NEG_INFINITY, (0, 0), 0.0f64);
                            for ((y, xx), &v) in m.indexed_iter() {
                                sum += f64::from(v);
                                if v > best {
                                    best = v;
                                    at = (y, xx);
                                }
                            }
                            let to16 = |v: usize| u16::try_from(v).unwrap_or(u16::MAX);
                            Best {
                                value: best,
                                y: to16(at.0),
                                x: to16(at.1),
                                mean: (sum / m.len().max(1) as f64) as f32,
                            }
                        })
                        .collect()
                })
                .collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::Arch;

    fn plan(arch: &str, input: [usize; 3]) -> Plan {
        Plan::new(&Arch::parse(arch).unwrap(), input, 3).unwrap()
    }

    /// The course's net by hand: conv1 sees 3x3 (padding 1: unit 0 starts at -1), pool1
    /// 4x4 in steps of 2, conv2 8x8 from -3, pool2 10x10 in steps of 4, conv3 18x18 from -7.
    #[test]
    fn receptive_fields_of_the_course_net_by_hand() {
        let p = Plan::course(3);
        let f = |i| receptive_field(&p, i).unwrap();
        assert_eq!(
            f(0),
            Field {
                size: 3,
                jump: 1,
                offset: -1
            }
        );
        assert_eq!(
            f(1),
            Field {
                size: 4,
                jump: 2,
                offset: -1
            }
        );
        assert_eq!(
            f(3),
            Field {
                size: 8,
                jump: 2,
                offset: -3
            }
        );
        assert_eq!(
            f(4),
            Field {
                size: 10,
                jump: 4,
                offset: -3
            }
        );
        assert_eq!(
            f(6),
            Field {
                size: 18,
                jump: 4,
                offset: -7
            }
        );
        // conv3's unit (0, 0) is clipped at the top-left; unit (31, 31) at the bottom-right
        let r = f(6).region(0, 0, (128, 128));
        assert_eq!((r.y0, r.y1, r.x0, r.x1), (0, 11, 0, 11));
        let r = f(6).region(31, 31, (128, 128));
        assert_eq!((r.y0, r.y1), (117, 128));
        let names: Vec<_> = conv_layers(&p)
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(names, ["conv1", "conv2", "conv3"]);
        assert!(receptive_field(&p, 10).is_err());
        assert!(receptive_field(&p, 99).is_err());
    }

    /// The field is exactly the pixels that change a unit: every input pixel is nudged
    /// and the unit's value compared (tanh and average pooling, so no change is hidden).
    #[test]
    fn the_field_is_the_pixels_that_move_the_unit() {
        let p = plan(
            "conv(2,3) avgpool(2) tanh conv(2,5,stride=2,pad=1) tanh conv(2,3,stride=1,pad=0) flatten linear",
            [1, 22, 22],
        );
        let net = Net::new(p.clone(), 5);
        let layer = 3; // the strided conv
        let f = receptive_field(&p, layer).unwrap();
        assert_eq!(
            f,
            Field {
                size: 12,
                jump: 4,
                offset: -3
            }
        );
        let x0: Vec<f32> = (0..22 * 22)
            .map(|i| ((i * 37) % 11) as f32 / 11.0)
            .collect();
        let out = |x: &[f32]| {
            let a = ndarray::Array4::from_shape_vec((1, 1, 22, 22), x.to_vec()).unwrap();
            net.forward_trace(&a).maps("conv2").unwrap().to_owned()
        };
        let base = out(&x0);
        for (uy, ux) in [(0, 0), (2, 1), (4, 4)] {
            let r = f.region(uy, ux, (22, 22));
            for y in 0..22 {
                for x in 0..22 {
                    let mut xs = x0.clone();
                    xs[y * 22 + x] += 0.5;
                    let moved = (out(&xs)[[0, 0, uy, ux]] - base[[0, 0, uy, ux]]).abs() > 1e-7;
                    let inside = (r.y0..r.y1).contains(&y) && (r.x0..r.x1).contains(&x);
                    assert_eq!(moved, inside, "unit ({uy},{ux}) pixel ({y},{x}) {r:?}");
                }
            }
        }
    }

    fn dataset(n: usize) -> Dataset {
        let pixels: Vec<u8> = (0..n * IMAGE_LEN)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        Dataset {
            classes: vec!["a".into(), "b".into(), "c".into()],
            files: vec![std::path::PathBuf::new(); n],
            labels: (0..n).map(|i| i % 3).collect(),
            pixels,
        }
    }

    /// The top patches are the argmax of the reference pass (`Net::forward_trace`,
    /// recomputed here), nine distinct images in order; the class means are the maps'.
    #[test]
    fn the_top_patches_are_the_largest_activations() {
        let arch = "conv(4,5,stride=2) relu maxpool(2) conv(3,3) relu flatten linear";
        let net = Net::new(plan(arch, [3, 128, 128]), 11);
        let ds = dataset(12);
        let indices: Vec<usize> = (1..12).rev().collect();
        let looks = Looks::compute(&net, &ds, &indices).unwrap();
        let mut x = vec![0.0f32; indices.len() * IMAGE_LEN];
        ds.normalized_into(&indices, &mut x);
        let xa = ndarray::Array4::from_shape_vec((indices.len(), 3, 128, 128), x).unwrap();
        let trace = net.forward_trace(&xa);
        for (li, name) in [(0, "conv1"), (1, "conv2")] {
            let maps = trace.maps(name).unwrap();
            for c in 0..maps.shape()[1] {
                let mut want: Vec<(f32, usize, (usize, usize), f64)> = (0..indices.len())
                    .map(|i| {
                        let m = maps.slice(ndarray::s![i, c, .., ..]);
                        let mut best = (f32::MIN, (0, 0));
                        for ((y, xx), &v) in m.indexed_iter() {
                            if v > best.0 {
                                best = (v, (y, xx));
                            }
                        }
                        let mean = m.iter().map(|&v| f64::from(v)).sum::<f64>() / m.len() as f64;
                        (best.0, i, best.1, mean)
                    })
                    .collect();
                want.sort_by(|a, b| b.0.total_cmp(&a.0));
                let top = looks.top(li, c, 9).unwrap();
                assert_eq!(top.len(), 9);
                for (p, w) in top.iter().zip(&want) {
                    assert!((p.value - w.0).abs() < 1e-3, "{name} {c}: {p:?} {w:?}");
                    assert_eq!((p.image, p.unit), (w.1, w.2), "{name} {c}");
                    assert_eq!(p.label, ds.labels[indices[p.image]]);
                }
                let means = looks.class_means(li, c).unwrap();
                for (class, mean) in means.iter().enumerate() {
                    let of: Vec<f64> = want
                        .iter()
                        .filter(|w| ds.labels[indices[w.1]] == class)
                        .map(|w| w.3)
                        .collect();
                    let m = of.iter().sum::<f64>() / of.len() as f64;
                    assert!((mean.unwrap() - m).abs() < 1e-4);
                }
            }
        }
        assert!(looks.top(2, 0, 9).is_err());
        assert!(looks.top(0, 4, 9).is_err());
    }

    #[test]
    fn bad_input_is_an_error() {
        let ds = dataset(2);
        let mlp = Net::new(plan("flatten linear", [3, 128, 128]), 1);
        let e = Looks::compute(&mlp, &ds, &[0]).unwrap_err().to_string();
        assert!(e.contains("no convolution"), "{e}");
        let small = Net::new(plan("conv(2,3) flatten linear", [3, 8, 8]), 1);
        assert!(Looks::compute(&small, &ds, &[0]).is_err());
        let net = Net::new(plan("conv(2,3) flatten linear", [3, 128, 128]), 1);
        assert!(Looks::compute(&net, &ds, &[]).is_err());
        assert!(Looks::compute(&net, &ds, &[5]).is_err());
    }
}
