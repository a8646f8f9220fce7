//! What the image kinds share (convolution, relu, pooling, dropout, flatten): an image,
//! one or more filters, stride, padding and edge fill, optionally max pooling; how those
//! fields are checked, and the first stages computed from them.

use std::ops::Range;

use ndarray::{s, Array2, Array4};
use serde::Deserialize;
use toml::Spanned;

use crate::lesson::check::{field_names, Ctx, Matrix, MAX_SIDE};
use crate::lesson::draw::{as_batch, channel, stack};
use crate::lesson::model::Lesson;
use crate::nn::ops;
use crate::{Error, Result};

/// The image-and-filter fields of a lesson file, written once for the five image kinds
/// (convolution, relu, pooling, dropout, flatten); a kind takes those its [`Takes`] names.
///
/// It is read from the same file as the kind's own fields, not `#[serde(flatten)]`ed into
/// them: a flattened struct is read from a copy of the file's values that has lost their
/// places, so `toml::Spanned` fields inside it cannot say on which line they were (see
/// [`crate::lesson::check::parse_both`]).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ImageFile {
    image: Option<Spanned<Matrix>>,
    kernel: Option<Spanned<Matrix>>,
    kernels: Option<Spanned<Vec<Matrix>>>,
    stride: Option<Spanned<usize>>,
    padding: Option<Spanned<usize>>,
    edge_fill: Option<Spanned<f32>>,
    pool_size: Option<Spanned<usize>>,
    pool_stride: Option<Spanned<usize>>,
}

/// Which of the [`ImageFile`] fields an image kind takes: all but `kernels` and the pool's
/// unless it says so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Takes {
    /// `kernels` (several filters) besides `kernel`.
    pub kernels: bool,
    /// `pool_size` and `pool_stride`, and when the maps are pooled.
    pub pool: Pool,
}

/// Whether an image kind pools its maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pool {
    /// Never; the kind takes no pool fields.
    No,
    /// Always (a 2x2 pool unless the file says otherwise).
    Always,
    /// Only when the file gives `pool_size`.
    WhenGiven,
}

impl Takes {
    /// The field names this kind takes, in [`ImageFile`]'s order.
    pub fn fields(self) -> Vec<&'static str> {
        field_names::<ImageFile>()
            .iter()
            .copied()
            .filter(|f| match *f {
                "kernels" => self.kernels,
                "pool_size" | "pool_stride" => self.pool != Pool::No,
                _ => true,
            })
            .collect()
    }
}

/// Checked fields, before the checks that need them all ([`Checked::finish`]).
pub(crate) struct Checked {
    image: Option<Array2<f32>>,
    kernels: Vec<Array2<f32>>,
    kernel_span: Range<usize>,
    stride: usize,
    padding: usize,
    edge_fill: Option<f32>,
    /// The pool's size and stride, and where the file gives the size, when pooled.
    pool: Option<(usize, usize, Range<usize>)>,
}

/// The image, its filters and how they slide; the maps may be pooled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Maps {
    pub image: Array2<f32>,
    pub kernels: Vec<Array2<f32>>,
    pub stride: usize,
    pub padding: usize,
    pub edge_fill: Option<f32>,
    /// Max pooling (window size, stride), when the maps are pooled.
    pub pool: Option<(usize, usize)>,
}

/// A pool size (1 to 8, default 2) and stride (default: the size).
fn pool_fields(
    ctx: &Ctx,
    size: &Option<Spanned<usize>>,
    stride: &Option<Spanned<usize>>,
) -> Result<(usize, usize)> {
    let k = ctx.int_in("pool_size", size, 2, (1, 8), "a pool size")?;
    let st = ctx.int_in("pool_stride", stride, k, (1, 8), "a pool stride")?;
    Ok((k, st))
}

/// `kernel` or `kernels` (1 to 8 filters of one size).
pub(crate) fn kernels(
    ctx: &Ctx,
    kernel: &Option<Spanned<Matrix>>,
    kernels: Option<&Option<Spanned<Vec<Matrix>>>>,
) -> Result<Vec<Array2<f32>>> {
    let kernels = kernels.and_then(Option::as_ref);
    if let (Some(_), Some(ks)) = (kernel, kernels) {
        return Err(ctx.err(
            ks.span(),
            "kernels",
            "give either `kernel` or `kernels`, not both",
        ));
    }
    let mut out = Vec::new();
    if let Some(k) = kernel {
        out.push(ctx.matrix("kernel", k, (MAX_SIDE, MAX_SIDE))?);
    }
    if let Some(ks) = kernels {
        if ks.get_ref().is_empty() || ks.get_ref().len() > 8 {
            return Err(ctx.err(ks.span(), "kernels", "give between 1 and 8 filters"));
        }
        for (i, k) in ks.get_ref().iter().enumerate() {
            let one = Spanned::new(ks.span(), k.clone());
            let name = format!("kernels[{i}]");
            let m = ctx.matrix(&name, &one, (MAX_SIDE, MAX_SIDE))?;
            if let Some(first) = out.first() {
                if m.dim() != first.dim() {
                    return Err(ctx.err(ks.span(), &name, "all filters must have the same size"));
                }
            }
            out.push(m);
        }
    }
    Ok(out)
}

impl ImageFile {
    /// Check image, filters, stride, padding and edge fill, then the pool's size and
    /// stride, in that order (fields the kind does not take were refused before it was
    /// read, so they are absent here).
    pub fn check(&self, ctx: &Ctx, takes: Takes) -> Result<Checked> {
        let image = self
            .image
            .as_ref()
            .map(|m| ctx.matrix("image", m, (MAX_SIDE, MAX_SIDE)))
            .transpose()?;
        let kernels_v = kernels(ctx, &self.kernel, Some(&self.kernels))?;
        let kernel_span = self
            .kernel
            .as_ref()
            .map(Spanned::span)
            .or_else(|| self.kernels.as_ref().map(Spanned::span))
            .unwrap_or_default();
        let stride = ctx.int_in("stride", &self.stride, 1, (1, 8), "a stride")?;
        let padding = ctx.int_in("padding", &self.padding, 0, (0, 8), "a padding")?;
        let edge_fill = self.edge_fill.as_ref().map(|e| *e.get_ref());
        if let Some(e) = &self.edge_fill {
            ctx.numbers("edge_fill", e.span(), &[*e.get_ref()])?;
            if stride != 1 || padding != 0 {
                return Err(ctx.err(
                    e.span(),
                    "edge_fill",
                    "only works with stride 1 and padding 0 (it fills the border the filter cannot reach)",
                ));
            }
            if let Some(k) = kernels_v.first() {
                if k.nrows() % 2 == 0 || k.ncols() % 2 == 0 {
                    return Err(ctx.err(
                        e.span(),
                        "edge_fill",
                        "needs a filter with an odd number of rows and columns, so it has a centre cell",
                    ));
                }
            }
        }
        let pool = self.pool(ctx, takes.pool)?;
        Ok(Checked {
            image,
            kernels: kernels_v,
            kernel_span,
            stride,
            padding,
            edge_fill,
            pool,
        })
    }

    /// The pool (size, stride, and where the file gives the size: the `kind` line when
    /// it does not), if the maps are pooled.
    fn pool(&self, ctx: &Ctx, pool: Pool) -> Result<Option<(usize, usize, Range<usize>)>> {
        if pool == Pool::No {
            return Ok(None);
        }
        let (k, st) = pool_fields(ctx, &self.pool_size, &self.pool_stride)?;
        Ok(match (pool, &self.pool_size) {
            (Pool::Always, size) => Some((
                k,
                st,
                size.as_ref().map_or(ctx.kind_span.clone(), Spanned::span),
            )),
            (_, Some(size)) => Some((k, st, size.span())),
            (_, None) => None,
        })
    }
}

impl Checked {
    /// Require an image and a filter that fits it; when the maps are pooled, require the
    /// pool to fit the feature map.
    pub fn finish(self, ctx: &Ctx) -> Result<Maps> {
        let pool = self.pool;
        let Some(image) = self.image else {
            return Err(ctx.missing("image"));
        };
        let Some(k) = self.kernels.first() else {
            return Err(ctx.missing("kernel"));
        };
        let p = self.padding;
        let (h, w) = (image.nrows() + 2 * p, image.ncols() + 2 * p);
        if k.nrows() > h || k.ncols() > w {
            return Err(ctx.err(
                self.kernel_span,
                "kernel",
                format!(
                    "the {}x{} filter is bigger than the {}x{} image{}",
                    k.nrows(),
                    k.ncols(),
                    image.nrows(),
                    image.ncols(),
                    if p > 0 { " with its padding" } else { "" }
                ),
            ));
        }
        let maps = Maps {
            pool: pool.as_ref().map(|(k, st, _)| (*k, *st)),
            image,
            kernels: self.kernels,
            stride: self.stride,
            padding: p,
            edge_fill: self.edge_fill,
        };
        if let Some((size, _, span)) = pool {
            let (mh, mw) = maps.conv_size();
            if size > mh || size > mw {
                return Err(ctx.err(
                    span,
                    "pool_size",
                    format!("a {size}x{size} pool does not fit the {mh}x{mw} feature map"),
                ));
            }
        }
        Ok(maps)
    }
}

/// The result of sliding the lesson's filters over its image.
pub(crate) struct Conv {
    /// The image as the windows see it (with `padding` rings of 0 around it).
    pub padded: Array2<f32>,
    /// What `ops::conv2d` returned: [1, C, oh, ow].
    pub raw: Array4<f32>,
    /// The maps as shown: `raw`, placed inside a border of `edge_fill` when the lesson
    /// asks for one (the seed's way of keeping the image's size).
    pub maps: Vec<Array2<f32>>,
    /// Where raw cell (0, 0) sits in a shown map.
    pub offset: (usize, usize),
}

impl Maps {
    /// The image and the filters, as a learner edits them.
    pub fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        let mut out = vec![("image".to_string(), self.image.clone())];
        out.extend(filter_matrices(&self.kernels));
        out
    }

    /// Rows and columns of a feature map as shown (before pooling).
    pub fn conv_size(&self) -> (usize, usize) {
        let (img, k, p) = (&self.image, &self.kernels[0], self.padding);
        if self.edge_fill.is_some() {
            img.dim()
        } else {
            let (h, w) = (img.nrows() + 2 * p, img.ncols() + 2 * p);
            (
                (h - k.nrows()) / self.stride + 1,
                (w - k.ncols()) / self.stride + 1,
            )
        }
    }

    /// Rows and columns of a map after pooling (the same as [`Maps::conv_size`] without it).
    pub fn out_size(&self) -> (usize, usize) {
        let (mh, mw) = self.conv_size();
        match self.pool {
            Some((k, st)) if k <= mh && k <= mw => ((mh - k) / st + 1, (mw - k) / st + 1),
            _ => (mh, mw),
        }
    }

    /// Slide the lesson's current filters over its current image.
    pub fn convolve(&self, l: &Lesson) -> Result<Conv> {
        let img = image_of(l)?;
        let kernels = l.kernels();
        let Some(k0) = kernels.first() else {
            return Err(Error::Lesson(format!(
                "{}: this lesson has no filter",
                l.source()
            )));
        };
        let (p, stride) = (self.padding, self.stride.max(1));
        let (kh, kw) = k0.dim();
        if kh > img.nrows() + 2 * p || kw > img.ncols() + 2 * p {
            return Err(Error::Lesson(format!(
                "{}: the {kh}x{kw} filter is bigger than the image",
                l.source()
            )));
        }
        let w = stack(&kernels, true)?;
        let raw = ops::conv2d(&as_batch(img), &w, None, stride, p);
        let mut padded = Array2::zeros((img.nrows() + 2 * p, img.ncols() + 2 * p));
        padded
            .slice_mut(s![p..p + img.nrows(), p..p + img.ncols()])
            .assign(img);
        let (_, c, oh, ow) = raw.dim();
        let (maps, offset) = match self.edge_fill {
            Some(fillv) if stride == 1 && p == 0 => {
                let off = (kh / 2, kw / 2);
                let maps = (0..c)
                    .map(|ci| {
                        let mut m = Array2::from_elem(img.dim(), fillv);
                        m.slice_mut(s![off.0..off.0 + oh, off.1..off.1 + ow])
                            .assign(&channel(&raw, ci));
                        m
                    })
                    .collect();
                (maps, off)
            }
            _ => ((0..c).map(|ci| channel(&raw, ci)).collect(), (0, 0)),
        };
        Ok(Conv {
            padded,
            raw,
            maps,
            offset,
        })
    }

    /// The maps after convolution, ReLU and (if the lesson pools) max pooling: [1, C, H, W].
    pub fn feature_stack(&self, l: &Lesson) -> Result<Array4<f32>> {
        let conv = self.convolve(l)?;
        let maps: Vec<&Array2<f32>> = conv.maps.iter().collect();
        let x = ops::relu(&stack(&maps, false)?);
        match self.pool {
            Some(pool) => max_pool(l, &x, pool),
            None => Ok(x),
        }
    }
}

/// Filters as edit targets: "filter" when there is one, else "filter 1", "filter 2" ...
pub(crate) fn filter_matrices(kernels: &[Array2<f32>]) -> Vec<(String, Array2<f32>)> {
    if kernels.len() == 1 {
        vec![("filter".to_string(), kernels[0].clone())]
    } else {
        kernels
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("filter {}", i + 1), k.clone()))
            .collect()
    }
}

/// Max pooling with (size, stride), refused when the window does not fit.
pub(crate) fn max_pool(
    l: &Lesson,
    x: &Array4<f32>,
    (k, st): (usize, usize),
) -> Result<Array4<f32>> {
    let (_, _, h, w) = x.dim();
    let (k, st) = (k.max(1), st.max(1));
    if k > h || k > w {
        return Err(Error::Lesson(format!(
            "{}: a {k}x{k} pool does not fit the {h}x{w} map",
            l.source()
        )));
    }
    Ok(ops::max_pool2d(x, k, st))
}

pub(crate) fn image_of(l: &Lesson) -> Result<&Array2<f32>> {
    l.image()
        .ok_or_else(|| Error::Lesson(format!("{}: this lesson has no image", l.source())))
}
