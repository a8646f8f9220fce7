//! Any architecture on the emulated GPU (`tests/suite/common/emu.rs`): every layer kind's
//! kernels against the CPU backend (`common::parity::arch`) and the PyTorch dumps of
//! `tests/fixtures/arch` through `verify`; the course's net keeps its launch list.
//! Skipped, with the reason printed, when no C++ compiler is found.

use crate::common;

use std::path::PathBuf;

use cnn_tutor::backend::cuda::{Arg, Buf, CudaBackend, Gpu};
use cnn_tutor::backend::reference::{verify, Measure};
use cnn_tutor::backend::Backend;
use cnn_tutor::nn::adam::Adam;
use cnn_tutor::nn::net::Net;
use cnn_tutor::Result;
use common::emu::EmuGpu;
use common::parity::{self, batch, ARCHS};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn gpu() -> Option<CudaBackend<EmuGpu>> {
    EmuGpu::or_skip().map(CudaBackend::new)
}

#[test]
fn every_layer_kind_matches_the_cpu_backend_in_eval_and_training() {
    let Some(mut be) = gpu() else { return };
    for (text, input, classes) in ARCHS {
        parity::arch(&mut be, text, input, classes, 3);
    }
}

/// Every dump of `tests/fixtures/arch` (six networks, eval and train mode) verifies on
/// the emulated GPU: every tensor within the golden tolerances, relative ones within 1e-4.
#[test]
fn every_architecture_dump_verifies_on_the_emulated_gpu() {
    let Some(mut be) = gpu() else { return };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arch");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 12, "{files:?}");
    for path in &files {
        let v = verify(path, &mut be).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(v.unknown.is_empty(), "{}: {:?}", path.display(), v.unknown);
        assert!(v.checks.len() > 10, "{}", path.display());
        for c in &v.checks {
            assert!(
                c.pass(),
                "{}: {} error {} > {}",
                path.display(),
                c.name,
                c.error,
                c.tolerance
            );
            if c.measure == Measure::Relative {
                assert!(
                    c.error <= 1e-4,
                    "{}: {} {}",
                    path.display(),
                    c.name,
                    c.error
                );
            }
        }
    }
}

/// The emulator, counting launches by kernel name.
struct Counting {
    inner: EmuGpu,
    launches: Vec<String>,
}

impl Gpu for Counting {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn alloc(&mut self, len: usize) -> Result<Buf> {
        self.inner.alloc(len)
    }
    fn free(&mut self, buf: Buf) {
        self.inner.free(buf)
    }
    fn upload(&mut self, buf: Buf, offset: usize, data: &[f32]) -> Result<()> {
        self.inner.upload(buf, offset, data)
    }
    fn download(&mut self, buf: Buf, offset: usize, out: &mut [f32]) -> Result<()> {
        self.inner.download(buf, offset, out)
    }
    fn launch(&mut self, kernel: &str, blocks: u32, threads: u32, args: &[Arg]) -> Result<()> {
        self.launches.push(kernel.to_string());
        self.inner.launch(kernel, blocks, threads, args)
    }
}

/// The course's net runs today's kernels in today's order: 25 launches per training
/// step, plus 2 for the dropout masks; a general net runs its general kernels, and Adam
/// once per run of trainable tensors (twice for one batch norm: its buffers lie between).
#[test]
fn the_course_net_keeps_its_launches_and_other_nets_get_general_ones() {
    let Some(mut be) = gpu() else { return };
    let _ = &mut be;
    let Ok(Some(inner)) = EmuGpu::new() else {
        return;
    };
    let mut be = CudaBackend::new(Counting {
        inner,
        launches: Vec::new(),
    });
    let mut net = Net::course(1, 3);
    let mut adam = Adam::new(0.001, &net.params);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (x, t) = batch(2, 3, 3);
    be.train_step(&mut net, &mut adam, &x, &t, Some(&mut rng))
        .unwrap();
    let conv = ["conv3x3_dwb_part", "reduce_rows_part", "reduce_rows"];
    let mut want = vec![
        "conv3x3_fwd",
        "pool2_relu_fwd",
        "conv3x3_fwd",
        "pool2_relu_fwd",
        "conv3x3_fwd",
        "chacha8_mask",
        "chacha8_mask",
        "drop_relu_fwd",
        "fc_fwd_part",
        "log_softmax_nll",
        "fc_bwd_wb",
        "fc_bwd_x",
    ];
    for stage in 0..3 {
        want.extend(conv);
        if stage < 2 {
            want.extend(["conv3x3_dx", "pool2_relu_bwd"]);
        }
    }
    want.extend(["batch_stats", "adam_step"]);
    assert_eq!(want.len(), 27);
    assert_eq!(be.gpu().launches, want);

    be.gpu_mut().launches.clear();
    let (text, input, classes) = ARCHS[1];
    let mut net = parity::arch_net(text, input, classes, 1);
    let mut adam = Adam::new(0.001, &net.params);
    let (x, t) = parity::arch_batch(&net, 2, 4);
    be.train_step(&mut net, &mut adam, &x, &t, Some(&mut rng))
        .unwrap();
    let l = &be.gpu().launches;
    for k in [
        "conv_fwd",
        "bn_train_stats",
        "bn_apply",
        "maxpool_fwd",
        "act_fwd",
        "bn_grad_sums",
        "bn_bwd",
        "maxpool_bwd",
        "act_bwd",
        "conv_dx",
        "conv_dwb_part",
        "linear_bwd_x",
    ] {
        assert!(l.iter().any(|n| n == k), "{k} not in {l:?}");
    }
    assert_eq!(l.iter().filter(|n| *n == "adam_step").count(), 2, "{l:?}");
    assert_eq!(
        l.iter().filter(|n| *n == "chacha8_mask").count(),
        0,
        "{l:?}"
    );
}

/// The general kernels do not depend on the order their threads run in either: training
/// steps of nets with every layer kind give bit-identical results when the emulator runs
/// every launch's blocks and threads last to first.
#[test]
fn general_kernels_do_not_depend_on_the_order_threads_run_in() {
    let Some(mut be) = gpu() else { return };
    for &(text, input, classes) in &ARCHS[1..] {
        let mut run = |reverse: bool| {
            be.gpu_mut().set_reverse(reverse);
            let mut net = parity::arch_net(text, input, classes, 8);
            let mut adam = Adam::new(0.001, &net.params);
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let (x, t) = parity::arch_batch(&net, 3, 12);
            let s1 = be
                .train_step(&mut net, &mut adam, &x, &t, Some(&mut rng))
                .unwrap();
            let s2 = be
                .forward_backward(&mut net, &x, &t, Some(&mut rng))
                .unwrap();
            be.sync_to_host(&mut net, &mut adam).unwrap();
            let lp = be.predict(&net, &x).unwrap();
            (s1, s2, be.grads().to_vec(), net, lp)
        };
        let a = run(false);
        let b = run(true);
        assert_eq!(a.0, b.0, "`{text}`");
        assert_eq!(a.1, b.1, "`{text}`");
        assert_eq!(a.2, b.2, "`{text}`: gradients");
        assert_eq!(a.3, b.3, "`{text}`: parameters");
        assert_eq!(a.4, b.4, "`{text}`: log-probs");
    }
    be.gpu_mut().set_reverse(false);
}
