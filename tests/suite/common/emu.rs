//! The GPU emulator of the tests: `kernels/*.cu` compiled as C++ (with
//! `kernels/emu/cuda_emu.h`) into a shared library and run on the CPU, behind the same
//! [`Gpu`] trait as the real device. Each kernel `NAME` gets a launcher
//! `emu_NAME(void** params, gx, gy, gz, bx, by, bz)` that unpacks `params` as
//! cuLaunchKernel does, and `emu_sig_NAME()` giving its parameter kinds, which every
//! launch checks against its arguments. Buffers carry guard words on both sides that are
//! checked after every launch, so a kernel writing out of bounds fails the test.

#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use cnn_tutor::backend::cuda::{kernel_names, Arg, Buf, Gpu, SOURCES};
use cnn_tutor::{Error, Result};

type Launcher = unsafe extern "C" fn(*mut *mut c_void, u32, u32, u32, u32, u32, u32);
type SigFn = unsafe extern "C" fn() -> *const c_char;

/// Guard words on each side of a buffer.
const GUARD: usize = 1024;
/// Their value (a NaN no kernel writes).
const CANARY: u32 = 0x7fc0_dead;

/// A C++ compiler that answers `--version`, or `None`.
pub fn compiler() -> Option<String> {
    let mut names: Vec<String> = std::env::var("CXX").ok().into_iter().collect();
    names.extend(["c++", "g++", "clang++"].map(String::from));
    names.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The text of `kernels/emu/NAME`.
pub fn emu_file(name: &str) -> std::result::Result<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("kernels/emu")
        .join(name);
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The kernels of [`SOURCES`] as C++ with `kernels/emu/cuda_emu.h`, and for each kernel
/// `NAME` the launcher `emu_NAME` and `emu_sig_NAME`; then the names of the kernels.
pub fn kernels_cpp() -> std::result::Result<(String, Vec<String>), String> {
    let mut src = format!(
        "#line 1 \"kernels/emu/cuda_emu.h\"\n{}\n",
        emu_file("cuda_emu.h")?.replace("#pragma once", "")
    );
    let mut names = Vec::new();
    for (file, text) in SOURCES {
        src.push_str(&format!("#line 1 \"kernels/{file}\"\n{text}\n"));
        names.extend(kernel_names(text));
    }
    src.push_str("#line 1 \"launchers\"\n");
    for n in &names {
        src.push_str(&format!(
            "extern \"C\" void emu_{n}(void** p, unsigned gx, unsigned gy, unsigned gz, \
             unsigned bx, unsigned by, unsigned bz) {{ emu::launch({n}, p, gx, gy, gz, bx, by, bz); }}\n\
             extern \"C\" const char* emu_sig_{n}() {{ return emu::signature({n}); }}\n"
        ));
    }
    Ok((src, names))
}

/// Compile the C++ `src` into the shared library `file` (with `soname`, if given) in a
/// folder named after the source, once: a later call with the same source reuses it.
pub fn compile_shared(
    cxx: &str,
    src: &str,
    file: &str,
    soname: Option<&str>,
) -> std::result::Result<PathBuf, String> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (src, cxx, file, soname).hash(&mut h);
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("gpu-emu-{:016x}", h.finish()));
    let lib = dir.join(file);
    if lib.exists() {
        return Ok(lib);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cpp = dir.join(format!("{file}.{}.cpp", std::process::id()));
    std::fs::write(&cpp, src).map_err(|e| e.to_string())?;
    // a private name, then a rename: test binaries building at once do not clash
    let tmp = dir.join(format!("{file}.{}.tmp", std::process::id()));
    let mut cmd = Command::new(cxx);
    cmd.args([
        "-std=c++17",
        "-O2",
        "-ffp-contract=off",
        "-fno-fast-math",
        "-Wall",
        "-Werror",
        "-shared",
        "-fPIC",
    ]);
    if let Some(so) = soname {
        cmd.arg(format!("-Wl,-soname,{so}"));
    }
    let out = cmd
        .arg("-o")
        .arg(&tmp)
        .arg(&cpp)
        .output()
        .map_err(|e| format!("{cxx}: {e}"))?;
    let _ = std::fs::remove_file(&cpp);
    if !out.status.success() {
        return Err(format!(
            "{file} does not compile as C++:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::rename(&tmp, &lib).map_err(|e| e.to_string())?;
    Ok(lib)
}

/// Build (or reuse) the emulator library for the current kernel sources.
fn build(cxx: &str) -> std::result::Result<PathBuf, String> {
    let (src, _) = kernels_cpp()?;
    compile_shared(cxx, &src, "libkernels_emu.so", None)
}

/// Kernels on the CPU (see the module docs).
pub struct EmuGpu {
    lib: libloading::Library,
    kernels: HashMap<String, (Launcher, String)>,
    bufs: Vec<Option<Vec<f32>>>,
    /// Launches so far, by kernel name.
    pub launches: HashMap<String, usize>,
}

impl EmuGpu {
    /// The emulator, or `None` after [`super::missing_reference`] (no C++ compiler);
    /// kernels that do not build fail the test.
    pub fn or_skip() -> Option<EmuGpu> {
        match EmuGpu::new() {
            Ok(Some(g)) => Some(g),
            Ok(None) => {
                super::missing_reference(
                    "no C++ compiler (c++, g++, clang++ or $CXX) for the GPU emulator",
                );
                None
            }
            Err(e) => panic!("GPU emulator: {e}"),
        }
    }

    /// The emulator, or why not (no compiler: `Ok(None)`; kernels that do not build: Err).
    pub fn new() -> std::result::Result<Option<EmuGpu>, String> {
        let Some(cxx) = compiler() else {
            return Ok(None);
        };
        // once per test process (tests run on several threads)
        static BUILT: std::sync::OnceLock<std::result::Result<PathBuf, String>> =
            std::sync::OnceLock::new();
        let path = BUILT.get_or_init(|| build(&cxx)).clone()?;
        Self::load(&path).map(Some)
    }

    fn load(path: &Path) -> std::result::Result<EmuGpu, String> {
        // SAFETY: our own library, built just now from the kernel sources.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
        let mut kernels = HashMap::new();
        for (_, text) in SOURCES {
            for n in kernel_names(text) {
                // SAFETY: the launchers have exactly these signatures (see `build`).
                unsafe {
                    let f: libloading::Symbol<Launcher> = lib
                        .get(format!("emu_{n}").as_bytes())
                        .map_err(|e| e.to_string())?;
                    let s: libloading::Symbol<SigFn> = lib
                        .get(format!("emu_sig_{n}").as_bytes())
                        .map_err(|e| e.to_string())?;
                    let sig = CStr::from_ptr(s()).to_string_lossy().into_owned();
                    kernels.insert(n, (*f, sig));
                }
            }
        }
        Ok(EmuGpu {
            lib,
            kernels,
            bufs: Vec::new(),
            launches: HashMap::new(),
        })
    }

    /// Run this thread's launches with blocks and threads last to first (`true`), or
    /// first to last.
    pub fn set_reverse(&mut self, on: bool) {
        // SAFETY: `emu_set_reverse(int)` is defined in cuda_emu.h.
        unsafe {
            let f: libloading::Symbol<unsafe extern "C" fn(i32)> =
                self.lib.get(b"emu_set_reverse").expect("emu_set_reverse");
            f(i32::from(on));
        }
    }

    fn buf(&self, b: Buf) -> Result<&Vec<f32>> {
        self.bufs
            .get(b.id)
            .and_then(Option::as_ref)
            .ok_or_else(|| Error::Device(format!("emulated buffer {} is freed", b.id)))
    }

    fn check_guards(&self, kernel: &str) {
        for (id, b) in self.bufs.iter().enumerate() {
            if let Some(b) = b {
                let len = b.len() - 2 * GUARD;
                let bad = b[..GUARD]
                    .iter()
                    .chain(&b[GUARD + len..])
                    .any(|v| v.to_bits() != CANARY);
                assert!(!bad, "{kernel} wrote outside buffer {id} ({len} words)");
            }
        }
    }
}

fn range(b: Buf, offset: usize, len: usize) -> Result<std::ops::Range<usize>> {
    if offset + len > b.len {
        return Err(Error::Device(format!(
            "buffer {} holds {} words, not {offset}+{len}",
            b.id, b.len
        )));
    }
    Ok(GUARD + offset..GUARD + offset + len)
}

impl Gpu for EmuGpu {
    fn name(&self) -> String {
        "emulated on the CPU".into()
    }

    fn alloc(&mut self, len: usize) -> Result<Buf> {
        let mut v = vec![f32::from_bits(CANARY); len + 2 * GUARD];
        v[GUARD..GUARD + len].fill(0.0);
        self.bufs.push(Some(v));
        Ok(Buf {
            id: self.bufs.len() - 1,
            len,
        })
    }

    fn free(&mut self, buf: Buf) {
        self.bufs[buf.id] = None;
    }

    fn upload(&mut self, buf: Buf, offset: usize, data: &[f32]) -> Result<()> {
        let r = range(buf, offset, data.len())?;
        self.bufs[buf.id]
            .as_mut()
            .ok_or_else(|| Error::Device("freed".into()))?[r]
            .copy_from_slice(data);
        Ok(())
    }

    fn download(&mut self, buf: Buf, offset: usize, out: &mut [f32]) -> Result<()> {
        let r = range(buf, offset, out.len())?;
        out.copy_from_slice(&self.buf(buf)?[r]);
        Ok(())
    }

    fn launch(&mut self, kernel: &str, blocks: u32, threads: u32, args: &[Arg]) -> Result<()> {
        let (f, sig) = self
            .kernels
            .get(kernel)
            .cloned()
            .ok_or_else(|| Error::Device(format!("no kernel `{kernel}`")))?;
        let kinds: String = args
            .iter()
            .map(|a| match a {
                Arg::Buf(..) => 'p',
                Arg::I32(_) => 'i',
                Arg::F32(_) => 'f',
            })
            .collect();
        assert_eq!(kinds, sig, "arguments of {kernel}");
        // the values, then pointers to them (as cuLaunchKernel's kernelParams)
        let mut ptrs: Vec<*mut c_void> = Vec::new();
        let mut ints: Vec<i32> = Vec::new();
        let mut floats: Vec<f32> = Vec::new();
        for a in args {
            match *a {
                Arg::Buf(b, off) => {
                    let r = range(b, off, 0)?;
                    let v = self.bufs[b.id]
                        .as_mut()
                        .ok_or_else(|| Error::Device("freed".into()))?;
                    ptrs.push(v[r.start..].as_mut_ptr().cast());
                }
                Arg::I32(v) => ints.push(v),
                Arg::F32(v) => floats.push(v),
            }
        }
        let (mut pi, mut ii, mut fi) = (0, 0, 0);
        let mut params: Vec<*mut c_void> = Vec::with_capacity(args.len());
        for a in args {
            let p: *mut c_void = match a {
                Arg::Buf(..) => {
                    pi += 1;
                    (&mut ptrs[pi - 1] as *mut *mut c_void).cast()
                }
                Arg::I32(_) => {
                    ii += 1;
                    (&mut ints[ii - 1] as *mut i32).cast()
                }
                Arg::F32(_) => {
                    fi += 1;
                    (&mut floats[fi - 1] as *mut f32).cast()
                }
            };
            params.push(p);
        }
        // SAFETY: the argument kinds match the kernel's parameters (checked above) and
        // every pointer is into a live buffer; bounds are checked by the guards below.
        unsafe { f(params.as_mut_ptr(), blocks, 1, 1, threads, 1, 1) };
        *self.launches.entry(kernel.to_string()).or_default() += 1;
        self.check_guards(kernel);
        Ok(())
    }
}
