//! Every tensor of the PyTorch reference dump `../shared/golden/shapes_net_seed42_batch4.safetensors`
//! within its tolerance (see `../shared/golden/README.md`): activations, loss, gradients,
//! and the parameters after one and three Adam steps.

use std::path::PathBuf;

use cnn_tutor::backend::reference::{verify, Measure};
use cnn_tutor::backend::CpuBackend;

fn golden() -> Option<PathBuf> {
    let p = crate::common::shared("golden/shapes_net_seed42_batch4.safetensors");
    p.exists().then_some(p)
}

#[test]
fn every_golden_tensor_is_within_tolerance() {
    let Some(path) = golden() else {
        crate::common::missing_reference("no shared/golden beside the checkout or above it");
        return;
    };
    for threads in [1, 2] {
        let mut backend = CpuBackend::new(Some(threads)).unwrap();
        let checks = verify(&path, &mut backend).unwrap().checks;
        // 10 activations, again from the CPU pass + backend log-probs + loss + 8 grads
        // + 16 Adam params + losses
        assert_eq!(checks.len(), 47);
        for c in &checks {
            println!("{threads} threads  {:<28} {:.3e}", c.name, c.error);
            assert!(c.pass(), "{}: error {} > {}", c.name, c.error, c.tolerance);
            if c.measure == Measure::Relative {
                assert!(c.error <= 1e-4);
            }
        }
    }
}

/// A bare state_dict (PyTorch names, f32, no metadata, as `safetensors.torch.save_file`
/// writes it) built from the golden `init.*` tensors loads as a checkpoint, gets the
/// seed's class names, and gives PyTorch's log-probabilities on the golden batch.
#[test]
fn a_bare_state_dict_loads_and_predicts_like_pytorch() {
    use cnn_tutor::backend::Backend;
    use cnn_tutor::nn::checkpoint::{self, TensorFile};
    use safetensors::tensor::TensorView;

    let Some(path) = golden() else {
        crate::common::missing_reference("no shared/golden beside the checkout or above it");
        return;
    };
    let file = TensorFile::read(&path).unwrap();
    let names = [
        "conv1.weight",
        "conv1.bias",
        "conv2.weight",
        "conv2.bias",
        "conv3.weight",
        "conv3.bias",
        "fc.weight",
        "fc.bias",
    ];
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = names
        .iter()
        .map(|n| {
            let t = file.get(&format!("init.{n}")).unwrap();
            let b = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (n.to_string(), t.shape.clone(), b)
        })
        .collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let sd = tmp.path().join("state_dict.safetensors");
    std::fs::write(&sd, safetensors::serialize(views, &None).unwrap()).unwrap();

    let (net, meta) = checkpoint::load(&sd).unwrap();
    assert_eq!(meta.classes, ["circle", "square", "triangle"]);
    let x = &file.get("input").unwrap().data;
    let mut backend = CpuBackend::new(Some(2)).unwrap();
    let lp = backend.predict(&net, x).unwrap();
    let want = &file.get("act.log_probs").unwrap().data;
    let got: Vec<f32> = lp.iter().copied().collect();
    let err = cnn_tutor::backend::reference::compare(&got, want, Measure::Relative);
    assert!(err < 1e-4, "{err}");
}
