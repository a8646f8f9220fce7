//! A fake NVIDIA driver (`libcuda.so`) and NVRTC (`libnvrtc.so.13`) for the tests, built
//! from `kernels/emu/fake_libcuda.cpp` and `fake_libnvrtc.cpp` with the emulated kernels
//! (see `emu.rs`). A program started through [`FakeCuda::command`] finds them first on
//! the loader's path, so the real CUDA code path runs without a GPU: our cudarc adapter,
//! cudarc, the CLI. Only the kernels run on the CPU instead of the device.

#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::emu::{compile_shared, compiler, emu_file, kernels_cpp};

/// The folders of the fake libraries.
pub struct FakeCuda {
    driver: PathBuf,
    nvrtc: PathBuf,
}

fn build(cxx: &str) -> Result<FakeCuda, String> {
    let (mut src, names) = kernels_cpp()?;
    src.push_str(
        "#line 1 \"kernel table\"\n\
         struct FakeKernel {\n\
             const char* name;\n\
             void (*launch)(void**, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned);\n\
             const char* (*sig)();\n\
         };\n\
         static const FakeKernel FAKE_KERNELS[] = {\n",
    );
    for n in &names {
        src.push_str(&format!("    {{\"{n}\", emu_{n}, emu_sig_{n}}},\n"));
    }
    src.push_str(&format!(
        "}};\nstatic const int FAKE_KERNEL_COUNT = {};\n",
        names.len()
    ));
    src.push_str(&format!(
        "#line 1 \"kernels/emu/fake_libcuda.cpp\"\n{}",
        emu_file("fake_libcuda.cpp")?
    ));
    let driver = compile_shared(cxx, &src, "libcuda.so", Some("libcuda.so.1"))?;
    let nvrtc_src = format!(
        "#line 1 \"kernels/emu/fake_libnvrtc.cpp\"\n{}",
        emu_file("fake_libnvrtc.cpp")?
    );
    let nvrtc = compile_shared(cxx, &nvrtc_src, "libnvrtc.so.13", Some("libnvrtc.so.13"))?;
    let dir = |p: &Path| p.parent().expect("a library's folder").to_path_buf();
    Ok(FakeCuda {
        driver: dir(&driver),
        nvrtc: dir(&nvrtc),
    })
}

impl FakeCuda {
    /// The fake libraries (built once per test process), `Ok(None)` without a C++
    /// compiler, or why they do not build.
    pub fn get() -> Result<Option<&'static FakeCuda>, String> {
        let Some(cxx) = compiler() else {
            return Ok(None);
        };
        static BUILT: OnceLock<Result<FakeCuda, String>> = OnceLock::new();
        BUILT
            .get_or_init(|| build(&cxx))
            .as_ref()
            .map(Some)
            .map_err(Clone::clone)
    }

    /// The fake libraries, or `None` after printing why a test skips (no C++ compiler);
    /// libraries that do not build fail the test.
    pub fn or_skip() -> Option<&'static FakeCuda> {
        match FakeCuda::get() {
            Ok(Some(f)) => Some(f),
            Ok(None) => {
                super::missing_reference(
                    "no C++ compiler (c++, g++, clang++ or $CXX) for the fake driver",
                );
                None
            }
            Err(e) => panic!("fake driver: {e}"),
        }
    }

    /// `program` with the fake driver (and the fake NVRTC, when `nvrtc`) first on the
    /// loader's path, and no variable that points our NVRTC search elsewhere.
    pub fn command(&self, program: impl AsRef<OsStr>, nvrtc: bool) -> Command {
        let mut path = self.driver.clone().into_os_string();
        if nvrtc {
            path.push(":");
            path.push(&self.nvrtc);
        }
        let mut cmd = Command::new(program);
        cmd.env("LD_LIBRARY_PATH", path);
        // a real NVRTC from the developer's Python (PyTorch's pip packages, found under
        // ~/.pyenv or ~/.local) must not stand in for the fake one, or be found where a
        // test says there is none
        cmd.env("HOME", &self.driver);
        for var in [
            "CUDA_HOME",
            "CUDA_PATH",
            "CUDA_ROOT",
            "VIRTUAL_ENV",
            "CONDA_PREFIX",
            "FAKE_CUDA_DEVICES",
            "FAKE_CUDA_CC",
            "FAKE_CUDA_MEM",
            "FAKE_CUDA_FAIL_LAUNCH",
            "FAKE_CUDA_STATS",
            "FAKE_NVRTC_ERROR",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }
}

/// The counters the fake driver wrote at exit (`FAKE_CUDA_STATS`), by name.
pub fn stats(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("fake driver counters {}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A counter of [`stats`] as a number (0 when the fake driver never counted it).
pub fn count(stats: &HashMap<String, String>, name: &str) -> u64 {
    stats.get(name).map_or(0, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("counter {name} is {v}"))
    })
}
