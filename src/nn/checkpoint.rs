//! Checkpoints and reference dumps in safetensors.
//!
//! A checkpoint holds exactly the seed `Net`'s `state_dict` (`conv1.weight` `[12, 3, 3, 3]` ...
//! `fc.bias` `[3]`, f32), so `Net().load_state_dict(safetensors.torch.load_file(path))` works
//! in PyTorch unchanged; class names and training settings go in the file's metadata.
//! [`TensorFile`] reads any safetensors file (a PyTorch-saved state_dict, a golden dump).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::net::{param_specs, Param, ShapesNet};
use crate::{Error, Result};

/// Default checkpoint path (`train --out`, `evaluate`/`predict --model`, the app's saves).
pub const DEFAULT_MODEL_PATH: &str = "models/shape_classifier.safetensors";

/// One tensor read from a safetensors file.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Shape as stored.
    pub shape: Vec<usize>,
    /// Values, converted to f32 (integers are converted too; see `ints` for exact ones).
    pub data: Vec<f32>,
    /// The exact values of an integer tensor (I64/I32/U8...), else `None`.
    pub ints: Option<Vec<i64>>,
}

/// All tensors and the metadata of one safetensors file.
#[derive(Debug, Clone)]
pub struct TensorFile {
    /// Where it was read from (for messages).
    pub path: std::path::PathBuf,
    /// Tensors by name.
    pub tensors: HashMap<String, Tensor>,
    /// The `__metadata__` strings (empty when there are none).
    pub metadata: HashMap<String, String>,
}

impl TensorFile {
    /// Read and parse a whole safetensors file. A missing, truncated or corrupt file is an
    /// [`Error::Checkpoint`] naming it; so is an unsupported dtype (naming the tensor).
    pub fn read(path: &Path) -> Result<TensorFile> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Checkpoint(format!("cannot read {}: {}", crate::text::path(path), e))
        })?;
        Self::parse(path, &bytes)
    }

    /// Parse safetensors `bytes` (as read from `path`, used in messages).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<TensorFile> {
        let bad = |why: String| {
            Error::Checkpoint(format!(
                "{} is not a readable safetensors file (truncated or corrupt?): {}",
                crate::text::path(path),
                crate::text::escaped(&why)
            ))
        };
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("{e:?}")))?;
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("{e:?}")))?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let shape = view.shape().to_vec();
            let raw = view.data();
            let (data, ints) = convert(view.dtype(), raw).ok_or_else(|| {
                Error::Checkpoint(format!(
                    "{}: tensor `{}` has dtype {:?}, which is not supported (use float32)",
                    crate::text::path(path),
                    crate::text::escaped(&name),
                    view.dtype()
                ))
            })?;
            tensors.insert(name, Tensor { shape, data, ints });
        }
        Ok(TensorFile {
            path: path.to_path_buf(),
            tensors,
            metadata,
        })
    }

    /// The tensor `name`, or an error naming it and the file.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| {
            Error::Checkpoint(format!(
                "{} has no tensor `{}`",
                crate::text::path(&self.path),
                crate::text::escaped(name)
            ))
        })
    }

    /// The tensor `name`, which must have shape `shape`; errors name the tensor and both shapes.
    pub fn get_shaped(&self, name: &str, shape: &[usize]) -> Result<&Tensor> {
        let t = self.tensors.get(name).ok_or_else(|| {
            Error::Checkpoint(format!(
                "{} has no tensor `{}` (expected shape {shape:?})",
                crate::text::path(&self.path),
                crate::text::escaped(name)
            ))
        })?;
        if t.shape != shape {
            return Err(Error::Checkpoint(format!(
                "{}: tensor `{}` has shape {:?}, expected {shape:?}",
                crate::text::path(&self.path),
                crate::text::escaped(name),
                t.shape
            )));
        }
        Ok(t)
    }
}

fn convert(dtype: Dtype, raw: &[u8]) -> Option<(Vec<f32>, Option<Vec<i64>>)> {
    fn chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        raw.chunks_exact(N).map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            a
        })
    }
    let floats = |v: Vec<f32>| Some((v, None));
    let ints = |v: Vec<i64>| Some((v.iter().map(|&i| i as f32).collect(), Some(v)));
    match dtype {
        Dtype::F32 => floats(chunks::<4>(raw).map(f32::from_le_bytes).collect()),
        Dtype::F64 => floats(
            chunks::<8>(raw)
                .map(|b| f64::from_le_bytes(b) as f32)
                .collect(),
        ),
        Dtype::BF16 => floats(
            chunks::<2>(raw)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes(b)) << 16))
                .collect(),
        ),
        Dtype::F16 => floats(
            chunks::<2>(raw)
                .map(|b| f16_to_f32(u16::from_le_bytes(b)))
                .collect(),
        ),
        Dtype::I64 => ints(chunks::<8>(raw).map(i64::from_le_bytes).collect()),
        Dtype::I32 => ints(
            chunks::<4>(raw)
                .map(|b| i64::from(i32::from_le_bytes(b)))
                .collect(),
        ),
        Dtype::U8 => ints(raw.iter().map(|&b| i64::from(b)).collect()),
        _ => None,
    }
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// What a checkpoint says besides its tensors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckpointMeta {
    /// Class names, in class-index order.
    pub classes: Vec<String>,
    /// Training settings and results (epochs, lr, seed, accuracy ...), as strings.
    pub settings: BTreeMap<String, String>,
}

/// Save `net` to `path` atomically as a PyTorch-compatible safetensors state_dict, with
/// `meta` in the metadata (`classes` as a JSON list; each setting under its own key).
pub fn save(path: &Path, net: &ShapesNet, meta: &CheckpointMeta) -> Result<()> {
    let bytes: Vec<Vec<u8>> = net
        .params
        .iter()
        .map(|p| p.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let mut views = Vec::with_capacity(net.params.len());
    for (p, b) in net.params.iter().zip(&bytes) {
        let view = safetensors::tensor::TensorView::new(Dtype::F32, p.shape.clone(), b)
            .map_err(|e| Error::Checkpoint(format!("tensor `{}`: {e:?}", p.name)))?;
        views.push((p.name, view));
    }
    let mut info: HashMap<String, String> = meta
        .settings
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    info.insert(
        "classes".into(),
        serde_json::to_string(&meta.classes).unwrap_or_else(|_| "[]".into()),
    );
    info.insert("format".into(), "pt".into());
    let out = safetensors::serialize(views, &Some(info)).map_err(|e| {
        Error::Checkpoint(format!("cannot encode {}: {e:?}", crate::text::path(path)))
    })?;
    crate::fsutil::write_atomic(path, &out)
}

/// Load a checkpoint (ours or a PyTorch-saved `state_dict` of the seed's `Net`). The number
/// of classes comes from `fc.bias`; class names from the metadata when present, else
/// [`default_class_names`]. A missing tensor or wrong shape is an error naming the tensor and
/// both shapes; so is a NaN or infinite weight (naming the tensor and the first bad
/// index), and a net with fewer than two classes.
pub fn load(path: &Path) -> Result<(ShapesNet, CheckpointMeta)> {
    let file = TensorFile::read(path)?;
    let classes = file
        .tensors
        .get("fc.bias")
        .and_then(|t| (t.shape.len() == 1).then_some(t.shape[0]))
        .unwrap_or(3);
    if classes < 2 {
        return Err(Error::Checkpoint(format!(
            "{}: the model has {classes} class(es) (`fc.bias` has shape [{classes}]); a classifier needs at least two",
            crate::text::path(path)
        )));
    }
    let mut params = Vec::new();
    for (name, shape) in param_specs(classes) {
        let t = file.get_shaped(name, &shape)?;
        if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
            return Err(Error::Checkpoint(format!(
                "{}: tensor `{name}` holds {} at index {i}; a usable model has finite weights (was training diverging?)",
                crate::text::path(path),
                t.data[i]
            )));
        }
        params.push(Param {
            name,
            shape,
            data: t.data.clone(),
        });
    }
    let net = ShapesNet::from_params(params).ok_or_else(|| {
        Error::Checkpoint(format!("{}: inconsistent tensors", crate::text::path(path)))
    })?;
    let names = file
        .metadata
        .get("classes")
        .map(|s| parse_classes(s))
        .filter(|c| c.len() == classes)
        .unwrap_or_else(|| default_class_names(classes));
    let settings = file
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != "classes" && k.as_str() != "format")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok((
        net,
        CheckpointMeta {
            classes: names,
            settings,
        },
    ))
}

/// Class names for a checkpoint without them: the seed's `circle`, `square`, `triangle`
/// for three classes, else `class0`, `class1` ...
pub fn default_class_names(classes: usize) -> Vec<String> {
    if classes == 3 {
        ["circle", "square", "triangle"].map(String::from).to_vec()
    } else {
        (0..classes).map(|i| format!("class{i}")).collect()
    }
}

/// Class names from metadata: a JSON list, or comma-separated (the golden files' form).
pub fn parse_classes(s: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(s).unwrap_or_else(|_| {
        s.split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_convert() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0000), 0.0);
    }

    #[test]
    fn classes_parse_both_forms() {
        assert_eq!(parse_classes(r#"["a","b"]"#), ["a", "b"]);
        assert_eq!(parse_classes("circle,square,triangle").len(), 3);
    }
}
