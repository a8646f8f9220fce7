//! Checkpoints and reference dumps in safetensors.
//!
//! A checkpoint holds exactly the `state_dict` of the network its metadata's `arch` names
//! (the course's `Net` when there is none: `conv1.weight` `[12, 3, 3, 3]` ... `fc.bias`
//! `[3]`), f32 (batch norm's `num_batches_tracked` int64), so a PyTorch module built from
//! the same description loads it with `load_state_dict(safetensors.torch.load_file(path))`
//! unchanged; class names and training settings go in the file's metadata too.
//! [`TensorFile`] reads any safetensors file (a PyTorch-saved state_dict, a golden dump).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::arch::{Arch, Layer, Plan, DEFAULT_INPUT};
use super::net::{Net, Param};
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
/// `meta` in the metadata (`classes` as a JSON list, `arch` as the normalised description,
/// `input` as `CxHxW`; each setting under its own key).
pub fn save(path: &Path, net: &Net, meta: &CheckpointMeta) -> Result<()> {
    let plan = &net.plan;
    let bytes: Vec<Vec<u8>> = net
        .params
        .iter()
        .zip(&plan.tensors)
        .map(|(p, t)| {
            if t.int {
                p.data
                    .iter()
                    .flat_map(|&v| (v as i64).to_le_bytes())
                    .collect()
            } else {
                p.data.iter().flat_map(|v| v.to_le_bytes()).collect()
            }
        })
        .collect();
    let mut views = Vec::with_capacity(net.params.len());
    for ((p, t), b) in net.params.iter().zip(&plan.tensors).zip(&bytes) {
        let dtype = if t.int { Dtype::I64 } else { Dtype::F32 };
        let view = safetensors::tensor::TensorView::new(dtype, p.shape.clone(), b)
            .map_err(|e| Error::Checkpoint(format!("tensor `{}`: {e:?}", p.name)))?;
        views.push((p.name.as_str(), view));
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
    info.insert("arch".into(), plan.arch.to_string());
    let [c, h, w] = plan.input_dims();
    info.insert("input".into(), format!("{c}x{h}x{w}"));
    info.insert("format".into(), "pt".into());
    let out = safetensors::serialize(views, &Some(info)).map_err(|e| {
        Error::Checkpoint(format!("cannot encode {}: {e:?}", crate::text::path(path)))
    })?;
    crate::fsutil::write_atomic(path, &out)
}

/// The architecture a file's metadata names (`arch`; the course's net when there is none)
/// and its input (`input`, `CxHxW`; 3x128x128 when there is none). A description that does
/// not read is an error naming the file and the field.
pub fn arch_of(file: &TensorFile) -> Result<(Arch, [usize; 3])> {
    let where_ = |field: &str, e: String| {
        Error::Checkpoint(format!(
            "{}: metadata `{field}`: {}",
            crate::text::path(&file.path),
            crate::text::escaped(&e)
        ))
    };
    let arch = match file.metadata.get("arch") {
        None => Arch::course(),
        Some(text) => Arch::parse(text).map_err(|e| where_("arch", e.to_string()))?,
    };
    let input = match file.metadata.get("input") {
        None => DEFAULT_INPUT,
        Some(s) => {
            let v: Vec<usize> = s.split('x').filter_map(|p| p.trim().parse().ok()).collect();
            match v.as_slice() {
                [c, h, w] if *c > 0 && *h > 0 && *w > 0 && c * h * w <= 1 << 24 => [*c, *h, *w],
                _ => return Err(where_("input", format!("`{s}` is not CxHxW"))),
            }
        }
    };
    Ok((arch, input))
}

/// The number of classes of `arch` as stored in `file` under `prefix`: the last linear
/// layer's bias length (`None` when that tensor is missing or not a vector).
pub fn classes_in(file: &TensorFile, arch: &Arch, prefix: &str) -> Option<usize> {
    let linears = arch
        .layers
        .iter()
        .filter(|l| matches!(l, Layer::Linear { .. }))
        .count();
    let name = if linears == 1 {
        "fc".to_string()
    } else {
        format!("fc{linears}")
    };
    let t = file.tensors.get(&format!("{prefix}{name}.bias"))?;
    (t.shape.len() == 1).then_some(t.shape[0])
}

/// The tensors of `plan` read from `file` (each key under `prefix`): every one must be
/// there with its shape, and finite. Errors name the tensor.
pub fn params_from(file: &TensorFile, plan: &Plan, prefix: &str) -> Result<Vec<Param>> {
    let mut params = Vec::with_capacity(plan.tensors.len());
    for t in &plan.tensors {
        let key = format!("{prefix}{}", t.name);
        let found = file.get_shaped(&key, &t.shape)?;
        if let Some(i) = found.data.iter().position(|v| !v.is_finite()) {
            return Err(Error::Checkpoint(format!(
                "{}: tensor `{key}` holds {} at index {i}; a usable model has finite weights (was training diverging?)",
                crate::text::path(&file.path),
                found.data[i]
            )));
        }
        params.push(Param {
            name: t.name.clone(),
            shape: t.shape.clone(),
            data: found.data.clone(),
            trainable: t.trainable,
        });
    }
    Ok(params)
}

/// Load a checkpoint (ours, or a PyTorch-saved `state_dict` of a module built from the
/// same description: the course's `Net` when the metadata has no `arch`). The number of
/// classes comes from the last linear layer's bias; class names from the metadata when
/// present, else [`default_class_names`]. A missing tensor or wrong shape is an error
/// naming the tensor and both shapes; so is a NaN or infinite weight (naming the tensor
/// and the first bad index), and a net with fewer than two classes.
pub fn load(path: &Path) -> Result<(Net, CheckpointMeta)> {
    let file = TensorFile::read(path)?;
    let (arch, input) = arch_of(&file)?;
    let classes = classes_in(&file, &arch, "").unwrap_or(3);
    if classes < 2 {
        return Err(Error::Checkpoint(format!(
            "{}: the model has {classes} class(es); a classifier needs at least two",
            crate::text::path(path)
        )));
    }
    let plan = Plan::new(&arch, input, classes).map_err(|e| {
        Error::Checkpoint(format!(
            "{}: metadata `arch`: {}",
            crate::text::path(path),
            crate::text::escaped(&e.to_string())
        ))
    })?;
    let params = params_from(&file, &plan, "")?;
    let net = Net::from_params(plan, params).ok_or_else(|| {
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
        .filter(|(k, _)| !["classes", "format", "arch", "input"].contains(&k.as_str()))
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
