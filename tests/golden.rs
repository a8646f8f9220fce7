//! Every tensor of the PyTorch reference dump `../shared/golden/shapes_net_seed42_batch4.safetensors`
//! within its tolerance (see `../shared/golden/README.md`): activations, loss, gradients,
//! and the parameters after one and three Adam steps.

use std::path::PathBuf;

use cnn_tutor::backend::CpuBackend;
use cnn_tutor::nn::reference::{verify, Measure};

fn golden() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/golden/shapes_net_seed42_batch4.safetensors");
    p.exists().then_some(p)
}

#[test]
fn every_golden_tensor_is_within_tolerance() {
    let Some(path) = golden() else {
        eprintln!("skipped: ../shared/golden is not beside the checkout");
        return;
    };
    for threads in [1, 2] {
        let mut backend = CpuBackend::new(Some(threads)).unwrap();
        let checks = verify(&path, &mut backend).unwrap();
        // 10 activations + backend log-probs + loss + 8 grads + 16 Adam params + losses
        assert_eq!(checks.len(), 37);
        for c in &checks {
            println!("{threads} threads  {:<28} {:.3e}", c.name, c.error);
            assert!(c.pass(), "{}: error {} > {}", c.name, c.error, c.tolerance);
            if c.measure == Measure::Relative {
                assert!(c.error <= 1e-4);
            }
        }
    }
}
