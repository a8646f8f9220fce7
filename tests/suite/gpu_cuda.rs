//! The CUDA backend on a real GPU (cudarc, NVRTC): the golden PyTorch checks and parity
//! with the CPU backend, at the emulator's small batches and at the training batch size.
//! Each test skips, saying why, when this machine has no usable GPU. Without one, the
//! device error is checked instead: one line, no panic.

use crate::common;

use cnn_tutor::backend::cuda::cudarc_gpu::CudarcGpu;
use cnn_tutor::backend::cuda::CudaBackend;
use cnn_tutor::backend::{cuda_backend, select, Backend, DeviceChoice};
use common::parity;

fn gpu() -> Option<CudaBackend<CudarcGpu>> {
    match cuda_backend() {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("skipped: no usable GPU: {e}");
            None
        }
    }
}

#[test]
fn without_a_gpu_cuda_is_a_one_line_device_error_and_auto_the_cpu() {
    match cuda_backend() {
        Ok(b) => {
            eprintln!("skipped: this machine has a GPU ({})", b.name());
        }
        Err(e) => {
            assert!(e.is_device(), "{e:?}");
            assert_eq!(e.exit_code(), 2);
            let msg = e.to_string();
            assert!(!msg.contains('\n') && msg.contains("CUDA"), "{msg}");
            // asked twice: the same answer, still no panic
            assert_eq!(cuda_backend().unwrap_err().to_string(), msg);
            let (be, note) = select(DeviceChoice::Auto, Some(1)).unwrap();
            assert!(be.name().starts_with("cpu"), "{}", be.name());
            let note = note.unwrap();
            assert!(
                note.starts_with("note: ") && note.contains("running on the CPU"),
                "{note}"
            );
            assert!(!note.contains('\n'), "{note}");
        }
    }
}

#[test]
fn golden_checks_on_the_gpu() {
    let Some(mut be) = gpu() else { return };
    parity::golden(&mut be);
}

#[test]
fn gpu_forward_backward_matches_the_cpu() {
    let Some(mut be) = gpu() else { return };
    parity::forward_backward(
        &mut be,
        &[
            (2, 3, 1, true),
            (3, 5, 2, false),
            (50, 3, 4, true),
            (7, 3, 5, true),
        ],
    );
}

#[test]
fn gpu_predictions_match_the_cpu() {
    let Some(mut be) = gpu() else { return };
    parity::predict(&mut be, 50);
}

#[test]
fn gpu_train_steps_match_the_cpu() {
    let Some(mut be) = gpu() else { return };
    parity::train_steps(&mut be, 2);
    parity::train_steps(&mut be, 50);
}

/// NVRTC compiles every kernel (no GPU needed, only `libnvrtc.so.13`): for the H200's
/// compute capability and an older one, each kernel is an entry of the PTX.
#[test]
fn kernels_compile_with_nvrtc_when_it_is_installed() {
    use cnn_tutor::backend::cuda::cudarc_gpu::compile_kernels;
    use cnn_tutor::backend::cuda::{kernel_names, SOURCES};
    for (major, minor) in [(9, 0), (8, 0)] {
        let ptx = match compile_kernels(major, minor) {
            Ok(p) => p.to_src(),
            Err(e) if e.to_string().starts_with("no NVRTC") => {
                eprintln!("skipped: {e}");
                return;
            }
            Err(e) => panic!("compute_{major}{minor}: {e}"),
        };
        assert!(
            ptx.contains(&format!(".target sm_{major}{minor}")),
            "{ptx:.300}"
        );
        for (file, text) in SOURCES {
            for k in kernel_names(text) {
                assert!(
                    ptx.contains(&format!(".entry {k}(")),
                    "{file}: {k} not in the PTX"
                );
            }
        }
    }
}

/// Set in the run of [`every_test_here_passes_through_the_fake_driver`].
const FAKE_RUN: &str = "CNN_TUTOR_FAKE_CUDA_RUN";

/// Without a GPU: every other test of this file again, in a child process with the fake
/// NVIDIA driver and NVRTC of `common::fake_cuda` first on the loader's path, so that
/// the golden checks and the CPU parity run through cudarc and `CudarcGpu` (only the
/// kernels run on the CPU) and none of them skips.
#[test]
fn every_test_here_passes_through_the_fake_driver() {
    use common::fake_cuda::FakeCuda;
    if std::env::var_os(FAKE_RUN).is_some() {
        return;
    }
    if let Ok(b) = cuda_backend() {
        eprintln!(
            "skipped: the tests above ran on this machine's GPU ({})",
            b.name()
        );
        return;
    }
    let Some(fake) = FakeCuda::or_skip() else {
        return;
    };
    let o = fake
        .command(std::env::current_exe().unwrap(), true)
        // this file's tests only (the suite's binary holds every integration test)
        .arg(format!("{}::", common::test_module(module_path!())))
        .args(["--test-threads", "2", "--nocapture"])
        .args(["--skip", "every_test_here_passes_through_the_fake_driver"])
        .env(FAKE_RUN, "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("test result: ok. 7 passed"), "{out}");
    assert!(!out.contains("skipped: no usable GPU"), "{out}");
    assert!(
        out.contains(
            "skipped: this machine has a GPU (cuda (Fake GPU (cnn-tutor test driver), sm_90))"
        ),
        "{out}"
    );
}

/// Every layer kind on the GPU: the architectures of `parity::ARCHS` in eval and training
/// mode, predictions and Adam steps, as on the CPU.
#[test]
fn gpu_architectures_match_the_cpu() {
    let Some(mut be) = gpu() else { return };
    for (text, input, classes) in parity::ARCHS {
        parity::arch(&mut be, text, input, classes, 3);
    }
}
