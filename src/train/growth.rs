//! How the first convolution's filters grew during a run: a [`Snapshot`] of that layer's
//! weights and bias at the start (epoch 0, the initial weights) and after every epoch,
//! with the layer's output for one fixed validation image, shrunk to at most
//! [`MAP_SIDE`] x [`MAP_SIDE`] per channel (block means) so a run's history stays small.
//! [`FilterHistory::change`] measures how far the layer moved between two epochs and
//! which filter moved most; [`FilterHistory::sentence`] says it in words, from those
//! numbers only.

use crate::nn::arch::{Layer, Shape};
use crate::nn::net::Net;
use crate::Result;

/// Largest side of a stored feature map (a larger output is shrunk by block means).
pub const MAP_SIDE: usize = 32;

/// Below this relative change (of the L2 norm of the whole layer's weights) a layer is
/// "almost where it started".
pub const SMALL: f64 = 0.05;
/// From this relative change on, a layer or a filter "changed clearly".
pub const LARGE: f64 = 0.25;

/// The first convolution at one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// 0: the initial weights; n: after epoch n.
    pub epoch: usize,
    /// Weights, `[out, in, k, k]` row-major.
    pub weight: Vec<f32>,
    /// Bias, `[out]`.
    pub bias: Vec<f32>,
    /// The layer's output for the history's image, `[out, map_h, map_w]` (block means;
    /// empty without an image).
    pub maps: Vec<f32>,
}

/// The first convolution's snapshots through a run.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterHistory {
    /// The layer's output name (`conv1`).
    pub layer: String,
    /// Its weight's shape: filters, input channels, kernel height and width.
    pub shape: [usize; 4],
    /// Its output's height and width (before shrinking).
    pub out_size: (usize, usize),
    /// The stored maps' height and width.
    pub map_size: (usize, usize),
    /// The side of the blocks the output was shrunk by (1: kept as is).
    pub block: usize,
    /// What the image is ("validation image 1 (circle)"), when maps are kept.
    pub image: Option<String>,
    /// Index of the weight and bias in [`Net::params`].
    tensors: (usize, usize),
    /// The snapshots, epoch 0 first.
    pub snapshots: Vec<Snapshot>,
}

/// How one filter moved between two epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterChange {
    /// The filter (0-based).
    pub filter: usize,
    /// L2 norm of the change of its weights.
    pub l2: f64,
    /// `l2` over the L2 norm of its weights at the earlier epoch.
    pub rel: f64,
    /// L2 norm of its weights at the earlier and the later epoch.
    pub norm: (f64, f64),
    /// Its bias at the earlier and the later epoch.
    pub bias: (f32, f32),
    /// The weight that moved most: (input channel, row, column) and its two values.
    pub weight: ((usize, usize, usize), f32, f32),
}

/// How the whole layer moved between two epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerChange {
    /// The epochs compared.
    pub epochs: (usize, usize),
    /// L2 norm of the change of all its weights.
    pub l2: f64,
    /// `l2` over the L2 norm of its weights at the earlier epoch.
    pub rel: f64,
    /// Every filter's change, in filter order.
    pub filters: Vec<FilterChange>,
    /// Index into `filters` of the one whose weights moved most (largest `l2`).
    pub largest: usize,
}

impl LayerChange {
    /// The filter that moved most.
    pub fn largest(&self) -> &FilterChange {
        &self.filters[self.largest]
    }

    /// Filters whose relative change is at least [`LARGE`].
    pub fn clearly_changed(&self) -> usize {
        self.filters.iter().filter(|f| f.rel >= LARGE).count()
    }
}

fn norm(v: impl Iterator<Item = f32>) -> f64 {
    v.map(|x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt()
}

impl FilterHistory {
    /// The history of `net`'s first convolution, its epoch 0 recorded now; `image` (a
    /// name and one normalised input image) is the one whose maps every snapshot keeps.
    /// `None` when the network has no convolution.
    pub fn start(net: &Net, image: Option<(String, &[f32])>) -> Result<Option<FilterHistory>> {
        let Some(layer) = net
            .plan
            .layers
            .iter()
            .find(|l| matches!(l.layer, Layer::Conv { .. }))
        else {
            return Ok(None);
        };
        let (w, b) = (layer.tensors[0], layer.tensors[1]);
        let s = &net.params[w].shape;
        let out_size = match layer.output {
            Shape::Maps { h, w, .. } => (h, w),
            Shape::Flat(_) => (0, 0),
        };
        let block = out_size.0.max(out_size.1).div_ceil(MAP_SIDE).max(1);
        let (name, image) = match image {
            Some((n, x)) => (Some(n), Some(x)),
            None => (None, None),
        };
        let mut h = FilterHistory {
            layer: layer.act.clone().unwrap_or_else(|| "conv1".into()),
            shape: [s[0], s[1], s[2], s[3]],
            out_size,
            map_size: if image.is_some() {
                (out_size.0.div_ceil(block), out_size.1.div_ceil(block))
            } else {
                (0, 0)
            },
            block,
            image: name,
            tensors: (w, b),
            snapshots: Vec::new(),
        };
        h.record(0, net, image)?;
        Ok(Some(h))
    }

    /// Keep `net`'s first convolution as it is after `epoch` (and its maps of `image`,
    /// the same image as at the start).
    pub fn record(&mut self, epoch: usize, net: &Net, image: Option<&[f32]>) -> Result<()> {
        let maps = match image {
            Some(x) if self.map_size.0 > 0 => {
                let trace = crate::backend::cpu::forward_trace(net, x)?;
                let a = trace.maps(&self.layer).ok_or_else(|| {
                    crate::Error::Other(format!("the trace has no maps named {}", self.layer))
                })?;
                let a = a.index_axis(ndarray::Axis(0), 0);
                let mut out = Vec::with_capacity(self.shape[0] * self.map_size.0 * self.map_size.1);
                for c in 0..a.shape()[0] {
                    out.extend(shrink(
                        a.index_axis(ndarray::Axis(0), c),
                        self.block,
                        self.map_size,
                    ));
                }
                out
            }
            _ => Vec::new(),
        };
        self.snapshots.push(Snapshot {
            epoch,
            weight: net.params[self.tensors.0].data.clone(),
            bias: net.params[self.tensors.1].data.clone(),
            maps,
        });
        Ok(())
    }

    /// Bytes the snapshots hold (their values).
    pub fn bytes(&self) -> usize {
        self.snapshots
            .iter()
            .map(|s| 4 * (s.weight.len() + s.bias.len() + s.maps.len()))
            .sum()
    }

    /// The snapshot of `epoch`, if recorded.
    pub fn at(&self, epoch: usize) -> Option<&Snapshot> {
        self.snapshots.iter().find(|s| s.epoch == epoch)
    }

    /// The last epoch recorded.
    pub fn last_epoch(&self) -> usize {
        self.snapshots.last().map_or(0, |s| s.epoch)
    }

    /// One stored map of a snapshot: `[map_h x map_w]` row-major (empty without maps).
    pub fn map<'a>(&self, snap: &'a Snapshot, filter: usize) -> &'a [f32] {
        let len = self.map_size.0 * self.map_size.1;
        snap.maps
            .get(filter * len..(filter + 1) * len)
            .unwrap_or(&[])
    }

    /// How the layer moved from epoch `from` to epoch `to` (`None` when either was not
    /// recorded).
    pub fn change(&self, from: usize, to: usize) -> Option<LayerChange> {
        let (a, b) = (self.at(from)?, self.at(to)?);
        let [n, c, kh, kw] = self.shape;
        let per = c * kh * kw;
        let l2 = norm(a.weight.iter().zip(&b.weight).map(|(x, y)| y - x));
        let size = norm(a.weight.iter().copied());
        let filters: Vec<FilterChange> = (0..n)
            .map(|f| {
                let (wa, wb) = (&a.weight[f * per..][..per], &b.weight[f * per..][..per]);
                let l2 = norm(wa.iter().zip(wb).map(|(x, y)| y - x));
                let before = norm(wa.iter().copied());
                let mut most = 0;
                for i in 0..per {
                    if (wb[i] - wa[i]).abs() > (wb[most] - wa[most]).abs() {
                        most = i;
                    }
                }
                let at = (most / (kh * kw), most / kw % kh, most % kw);
                FilterChange {
                    filter: f,
                    l2,
                    rel: l2 / before.max(1e-12),
                    norm: (before, norm(wb.iter().copied())),
                    bias: (a.bias[f], b.bias[f]),
                    weight: (at, wa[most], wb[most]),
                }
            })
            .collect();
        let mut largest = 0;
        for (i, f) in filters.iter().enumerate() {
            if f.l2 > filters[largest].l2 {
                largest = i;
            }
        }
        Some(LayerChange {
            epochs: (from, to),
            l2,
            rel: l2 / size.max(1e-12),
            filters,
            largest,
        })
    }

    /// What happened to the layer by epoch `to` since the start, in words, from the
    /// numbers of [`FilterHistory::change`]`(0, to)` only.
    pub fn sentence(&self, to: usize) -> String {
        let Some(ch) = self.change(0, to) else {
            return format!("Epoch {to} was not recorded.");
        };
        if to == 0 {
            return format!(
                "Epoch 0 is the random start: these are the initial weights of {}, before any \
                 training.",
                self.layer
            );
        }
        let pct = 100.0 * ch.rel;
        let n = ch.filters.len();
        let clear = ch.clearly_changed();
        let big = 100.0 * LARGE;
        let verdict = if ch.rel < SMALL {
            "barely any change, still almost the random start"
        } else if ch.rel < LARGE {
            "a modest change, the random start still shows"
        } else {
            "a clear change"
        };
        format!(
            "By epoch {to}, {}'s weights moved {pct:.1}% of their start (L2 of the change / L2 \
             at epoch 0): {verdict}; {clear} of {n} filters moved {big:.0}% or more.",
            self.layer
        )
    }
}

/// A map shrunk by the mean of each `block` x `block` block (the last blocks may be
/// partial) to `size`.
fn shrink(a: ndarray::ArrayView2<'_, f32>, block: usize, (mh, mw): (usize, usize)) -> Vec<f32> {
    let (h, w) = a.dim();
    let mut out = Vec::with_capacity(mh * mw);
    for by in 0..mh {
        for bx in 0..mw {
            let (y0, x0) = (by * block, bx * block);
            let (y1, x1) = ((y0 + block).min(h), (x0 + block).min(w));
            let mut sum = 0.0f64;
            for y in y0..y1 {
                for x in x0..x1 {
                    sum += f64::from(a[[y, x]]);
                }
            }
            let count = ((y1 - y0) * (x1 - x0)).max(1);
            out.push((sum / count as f64) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::{Arch, Plan};

    fn net(arch: &str, seed: u64) -> Net {
        Net::new(
            Plan::new(&Arch::parse(arch).unwrap(), [3, 20, 20], 2).unwrap(),
            seed,
        )
    }

    /// The change's numbers recomputed by hand for one moved weight.
    #[test]
    fn the_change_is_the_moved_weight() {
        let mut a = net("conv(2,3) relu flatten linear", 1);
        let mut h = FilterHistory::start(&a, None).unwrap().unwrap();
        assert_eq!(h.shape, [2, 3, 3, 3]);
        // filter 1, channel 2, row 0, column 1 moves by 0.5
        let i = 27 + 2 * 9 + 1;
        let before = a.params[0].data[i];
        a.params[0].data[i] += 0.5;
        a.params[1].data[1] = 0.25;
        h.record(1, &a, None).unwrap();
        let ch = h.change(0, 1).unwrap();
        assert_eq!(ch.largest, 1);
        let f = ch.largest();
        assert!((f.l2 - 0.5).abs() < 1e-6, "{f:?}");
        assert_eq!(f.weight.0, (2, 0, 1));
        assert_eq!(f.weight.1, before);
        assert_eq!(f.weight.2, before + 0.5);
        assert_eq!(f.bias.1, 0.25);
        let size0: f64 = a.params[0].data[27..54]
            .iter()
            .enumerate()
            .map(|(j, &v)| {
                let v = if j == 2 * 9 + 1 { v - 0.5 } else { v };
                f64::from(v).powi(2)
            })
            .sum::<f64>()
            .sqrt();
        assert!((f.rel - 0.5 / size0).abs() < 1e-6);
        assert_eq!(ch.filters[0].l2, 0.0);
        assert!(h.sentence(1).contains(&format!("{:.1}%", 100.0 * ch.rel)));
    }

    /// A strided conv after a pool: the maps kept are the trace's, shrunk by block means.
    #[test]
    fn the_maps_are_the_layers_output_shrunk() {
        let arch = "maxpool(2) conv(3,3) relu flatten linear";
        let n = Net::new(
            Plan::new(&Arch::parse(arch).unwrap(), [3, 132, 132], 2).unwrap(),
            3,
        );
        let x: Vec<f32> = (0..3 * 132 * 132)
            .map(|i| ((i * 7) % 13) as f32 / 13.0)
            .collect();
        let h = FilterHistory::start(&n, Some(("img".into(), &x)))
            .unwrap()
            .unwrap();
        assert_eq!(h.out_size, (66, 66));
        assert_eq!(h.block, 3);
        assert_eq!(h.map_size, (22, 22));
        let xa = ndarray::Array4::from_shape_vec((1, 3, 132, 132), x).unwrap();
        let t = n.forward_trace(&xa);
        let conv = t.maps("conv1").unwrap();
        let s = &h.snapshots[0];
        // channel 2, block (4, 21): rows 12..15, columns 63..66
        let mut sum = 0.0;
        for y in 12..15 {
            for x in 63..66 {
                sum += conv[[0, 2, y, x]];
            }
        }
        let got = h.map(s, 2)[4 * 22 + 21];
        assert!((got - sum / 9.0).abs() < 1e-4, "{got} vs {}", sum / 9.0);
    }

    #[test]
    fn no_convolution_no_history() {
        let n = net("flatten linear(4) relu linear", 1);
        assert!(FilterHistory::start(&n, None).unwrap().is_none());
    }
}
