//! [`Gpu`] on a real NVIDIA device through cudarc: the driver API and NVRTC, both loaded
//! at run time (so building needs no CUDA toolkit). The kernels of [`SOURCES`] are
//! compiled together once per process for the device's compute capability; the module
//! is kept for the process's later backends.
//!
//! A missing driver, no device, a missing NVRTC (`libnvrtc.so.13`) or a kernel that does
//! not compile each become one [`Error::Device`] line. cudarc panics when it cannot load
//! a library, so the libraries are looked for first; a standard CUDA 13 install
//! (`/usr/local/cuda/lib64`, `$CUDA_HOME`, `$CUDA_PATH`) and pip's `nvidia` wheels are
//! found without `LD_LIBRARY_PATH`.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::sys::CUresult;
use cudarc::driver::DriverError;
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr};
use cudarc::driver::{LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions};

use super::{kernel_names, Arg, Buf, Gpu, SOURCES};
use crate::{Error, Result};

/// The NVRTC library cudarc (feature `cuda-13000`) opens.
const NVRTC_SONAME: &str = "libnvrtc.so.13";

/// Folders where a CUDA 13 NVRTC usually lies when it is not on the loader's path.
fn nvrtc_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for var in ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"] {
        if let Some(v) = std::env::var_os(var) {
            dirs.push(PathBuf::from(&v).join("lib64"));
            dirs.push(PathBuf::from(&v).join("lib"));
        }
    }
    dirs.push("/usr/local/cuda/lib64".into());
    dirs.push("/usr/local/cuda/targets/x86_64-linux/lib".into());
    dirs.push("/usr/local/cuda/targets/sbsa-linux/lib".into());
    if let Ok(rd) = std::fs::read_dir("/usr/local") {
        let mut v: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("cuda-13"))
            })
            .map(|p| p.join("lib64"))
            .collect();
        v.sort();
        dirs.extend(v.into_iter().rev());
    }
    // pip: nvidia-cuda-nvrtc (CUDA 13 wheels put it in nvidia/cu13/lib)
    let mut roots: Vec<PathBuf> = Vec::new();
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(v) = std::env::var_os(var) {
            roots.push(PathBuf::from(v).join("lib"));
        }
    }
    roots.push("/usr/local/lib".into());
    roots.push("/usr/lib".into());
    roots.push("/opt/conda/lib".into());
    if let Some(home) = dirs::home_dir() {
        roots.push(home.join(".local/lib"));
        if let Ok(rd) = std::fs::read_dir(home.join(".pyenv/versions")) {
            roots.extend(rd.flatten().map(|e| e.path().join("lib")));
        }
    }
    for root in roots {
        let Ok(rd) = std::fs::read_dir(&root) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if !name.to_string_lossy().starts_with("python3") {
                continue;
            }
            for pkgs in ["site-packages", "dist-packages"] {
                let nv = e.path().join(pkgs).join("nvidia");
                dirs.push(nv.join("cu13/lib"));
                dirs.push(nv.join("cuda_nvrtc/lib")); // CUDA 12 wheels
            }
        }
    }
    dirs
}

/// Where NVRTC was found outside the loader's path (if it was).
static NVRTC_FROM: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Open `lib` (and the builtins NVRTC opens by name at compile time, from the same
/// folder) and keep them loaded for the process. True when `lib` loaded.
fn keep_loaded(lib: &Path, builtins_prefix: &str) -> bool {
    if let Some(Ok(rd)) = lib.parent().map(std::fs::read_dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(builtins_prefix) {
                // SAFETY: loading NVRTC's builtins runs their initialisers, which have no
                // preconditions; kept loaded for the process.
                if let Ok(l) = unsafe { libloading::Library::new(e.path()) } {
                    std::mem::forget(l);
                }
            }
        }
    }
    // SAFETY: as above.
    match unsafe { libloading::Library::new(lib) } {
        Ok(l) => {
            std::mem::forget(l);
            true
        }
        Err(_) => false,
    }
}

/// Make sure cudarc will find NVRTC: when the loader cannot open `libnvrtc.so.13` by
/// name, open it by full path from [`nvrtc_dirs`] and keep it loaded, so that the loader
/// hands that library to cudarc's open by name; failing that, CUDA 12's
/// `libnvrtc.so.12` (cudarc tries that name too; e.g. PyTorch's pip packages). Returns
/// the library used when it came from there.
fn preload_nvrtc() -> Option<PathBuf> {
    NVRTC_FROM
        .get_or_init(|| {
            // SAFETY: loading NVRTC runs its initialisers, which have no preconditions.
            if unsafe { libloading::Library::new(NVRTC_SONAME) }.is_ok() {
                return None;
            }
            let dirs = nvrtc_dirs();
            for major in [13, 12] {
                for dir in &dirs {
                    let lib = dir.join(format!("libnvrtc.so.{major}"));
                    if lib.exists() && keep_loaded(&lib, &format!("libnvrtc-builtins.so.{major}")) {
                        return Some(lib);
                    }
                }
            }
            None
        })
        .clone()
}

/// Run `f`, turning a panic inside cudarc into an [`Error::Device`] (and keeping the
/// panic message off the terminal).
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    static HOOK: Mutex<()> = Mutex::new(());
    let _lock = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(prev);
    match r {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("unknown failure");
            let first = msg.lines().next().unwrap_or(msg);
            Err(Error::Device(format!("{what}: {first}")))
        }
    }
}

/// A driver error as the driver describes it, with its name: "out of memory
/// (CUDA_ERROR_OUT_OF_MEMORY)".
fn describe(e: &DriverError) -> String {
    match e.error_string() {
        Ok(s) => format!("{} ({:?})", s.to_string_lossy(), e.0),
        Err(_) => format!("{:?}", e.0),
    }
}

fn driver_err(what: &str) -> impl Fn(DriverError) -> Error + '_ {
    move |e| Error::Driver {
        message: format!("CUDA {what} failed: {}", describe(&e)),
        source: e,
    }
}

/// The oldest compute capability CUDA 13's NVRTC compiles for.
const OLDEST_CC: (i32, i32) = (7, 5);

/// The compiled kernels of this process, per device ordinal.
type Loaded = (Arc<CudaContext>, Arc<CudaModule>, String);
static MODULES: Mutex<Vec<(usize, Loaded)>> = Mutex::new(Vec::new());

/// The CUDA device `ordinal`, or why not: no driver, no device, no NVRTC, or kernels that
/// do not compile (the first lines of NVRTC's log).
fn open(ordinal: usize) -> Result<Loaded> {
    let mut cache = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, l)) = cache.iter().find(|(o, _)| *o == ordinal) {
        return Ok(l.clone());
    }
    // SAFETY: only tries to open the driver library.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(Error::Device(
            "no CUDA GPU: the NVIDIA driver library (libcuda.so.1) is not installed; use --device cpu"
                .into(),
        ));
    }
    let loaded = guarded("CUDA driver", || {
        let count = match CudaContext::device_count() {
            // what the driver says when it is installed but finds no GPU
            Err(DriverError(CUresult::CUDA_ERROR_NO_DEVICE)) => 0,
            r => r.map_err(driver_err("device query"))?,
        };
        if count <= 0 || ordinal >= count as usize {
            return Err(Error::Device(
                "no CUDA GPU: the NVIDIA driver reports no device; use --device cpu".into(),
            ));
        }
        let ctx = CudaContext::new(ordinal).map_err(driver_err("context creation"))?;
        let name = ctx.name().unwrap_or_else(|_| "NVIDIA GPU".into());
        let (major, minor) = ctx
            .compute_capability()
            .map_err(driver_err("compute capability query"))?;
        if (major, minor) < OLDEST_CC {
            return Err(Error::Device(format!(
                "CUDA GPU found ({name}, sm_{major}{minor}), but CUDA 13 needs compute \
                 capability {}.{} or newer; use --device cpu",
                OLDEST_CC.0, OLDEST_CC.1
            )));
        }
        let ptx = compile(major, minor).map_err(|e| match e {
            Error::Device(m) if m.starts_with("no NVRTC") => Error::Device(format!(
                "CUDA GPU found ({name}), but {}",
                m.trim_start_matches("no NVRTC: ")
            )),
            e => e,
        })?;
        let module = ctx.load_module(ptx).map_err(|e| {
            let mut v = 0i32;
            // SAFETY: writes the driver's CUDA version into `v`.
            unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) };
            Error::Driver {
                message: format!(
                    "CUDA cannot load the kernels NVRTC compiled: {}; the driver supports CUDA \
                     {}.{}: an older driver needs the NVRTC of its CUDA version",
                    describe(&e),
                    v / 1000,
                    v % 1000 / 10
                ),
                source: e,
            }
        })?;
        Ok((ctx, module, format!("{name}, sm_{major}{minor}")))
    })?;
    cache.push((ordinal, loaded.clone()));
    Ok(loaded)
}

/// Compile the kernels of [`SOURCES`] with NVRTC for compute capability `major.minor`
/// (no device needed), or why not: NVRTC missing (a message starting `no NVRTC`) or the
/// first error line of its log.
pub fn compile_kernels(major: i32, minor: i32) -> Result<cudarc::nvrtc::Ptx> {
    guarded("NVRTC", || compile(major, minor))
}

/// [`compile_kernels`] without the panic guard (for callers already inside one).
fn compile(major: i32, minor: i32) -> Result<cudarc::nvrtc::Ptx> {
    {
        preload_nvrtc();
        // SAFETY: only tries to open the NVRTC library.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(Error::Device(format!(
                "no NVRTC: {NVRTC_SONAME} (CUDA 13) is not installed: install the CUDA 13 \
                 toolkit or `pip install nvidia-cuda-nvrtc`, or add its folder to LD_LIBRARY_PATH"
            )));
        }
        let src: String = SOURCES
            .iter()
            .map(|(file, text)| format!("// ---- {file}\n{text}\n"))
            .collect();
        let opts = CompileOptions {
            fmad: Some(false),
            options: vec![format!("--gpu-architecture=compute_{major}{minor}")],
            name: Some("cnn_tutor_kernels.cu".into()),
            ..Default::default()
        };
        compile_ptx_with_opts(src, opts).map_err(|e| match e {
            CompileError::CompileError { log, .. } => {
                let log = log.to_string_lossy();
                let first = log
                    .lines()
                    .find(|l| l.contains("error"))
                    .unwrap_or("no log")
                    .trim()
                    .to_string();
                Error::Device(format!(
                    "the GPU kernels do not compile with NVRTC: {first}"
                ))
            }
            other => Error::Device(format!("NVRTC failed: {other:?}")),
        })
    }
}

/// One buffer: the allocation and its device address.
struct Slot {
    slice: CudaSlice<f32>,
    ptr: u64,
}

/// The real device (see the module docs).
pub struct CudarcGpu {
    stream: Arc<CudaStream>,
    funcs: HashMap<String, CudaFunction>,
    bufs: Vec<Option<Slot>>,
    name: String,
}

impl CudarcGpu {
    /// CUDA device `ordinal` with the kernels loaded, or a one-line [`Error::Device`].
    pub fn new(ordinal: usize) -> Result<CudarcGpu> {
        let (ctx, module, name) = open(ordinal)?;
        guarded("CUDA", || {
            // one stream, used in order: cudarc's per-buffer events are not needed
            // SAFETY: every launch and copy of this backend goes to this one stream.
            unsafe { ctx.disable_event_tracking() };
            let stream = ctx.default_stream();
            let mut funcs = HashMap::new();
            for (_, text) in SOURCES {
                for k in kernel_names(text) {
                    let f = module
                        .load_function(&k)
                        .map_err(driver_err(&format!("loading kernel {k}")))?;
                    funcs.insert(k, f);
                }
            }
            Ok(CudarcGpu {
                stream,
                funcs,
                bufs: Vec::new(),
                name: name.clone(),
            })
        })
    }

    /// The NVRTC library loaded by full path when the loader's path lacked it.
    pub fn nvrtc_loaded_from() -> Option<PathBuf> {
        NVRTC_FROM.get().cloned().flatten()
    }

    fn slot(&self, b: Buf) -> Result<&Slot> {
        self.bufs
            .get(b.id)
            .and_then(Option::as_ref)
            .ok_or_else(|| Error::Device(format!("GPU buffer {} was freed", b.id)))
    }
}

fn check_range(b: Buf, offset: usize, len: usize) -> Result<()> {
    if offset + len > b.len {
        return Err(Error::Device(format!(
            "GPU buffer {} holds {} words, not {offset}+{len}",
            b.id, b.len
        )));
    }
    Ok(())
}

impl Gpu for CudarcGpu {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn alloc(&mut self, len: usize) -> Result<Buf> {
        let slice = self.stream.alloc_zeros::<f32>(len.max(1)).map_err(|e| {
            let mib = (len * 4).div_ceil(1 << 20);
            if e.0 == CUresult::CUDA_ERROR_OUT_OF_MEMORY {
                Error::Device(format!(
                    "the GPU ({}) has no room for {mib} MiB more; try a smaller --batch-size",
                    self.name
                ))
            } else {
                driver_err(&format!("allocation of {mib} MiB"))(e)
            }
        })?;
        let (ptr, _) = slice.device_ptr(&self.stream);
        self.bufs.push(Some(Slot { slice, ptr }));
        Ok(Buf {
            id: self.bufs.len() - 1,
            len,
        })
    }

    fn free(&mut self, buf: Buf) {
        if let Some(s) = self.bufs.get_mut(buf.id) {
            *s = None;
        }
    }

    fn upload(&mut self, buf: Buf, offset: usize, data: &[f32]) -> Result<()> {
        check_range(buf, offset, data.len())?;
        if data.is_empty() {
            return Ok(());
        }
        let stream = Arc::clone(&self.stream);
        let slot = self
            .bufs
            .get_mut(buf.id)
            .and_then(Option::as_mut)
            .ok_or_else(|| Error::Device(format!("GPU buffer {} was freed", buf.id)))?;
        let mut view = slot.slice.slice_mut(offset..offset + data.len());
        stream
            .memcpy_htod(data, &mut view)
            .map_err(driver_err("copy to the device"))
    }

    fn download(&mut self, buf: Buf, offset: usize, out: &mut [f32]) -> Result<()> {
        check_range(buf, offset, out.len())?;
        if out.is_empty() {
            return Ok(());
        }
        let slot = self.slot(buf)?;
        let view = slot.slice.slice(offset..offset + out.len());
        self.stream
            .memcpy_dtoh(&view, out)
            .map_err(driver_err("copy from the device"))?;
        self.stream
            .synchronize()
            .map_err(driver_err("synchronisation"))
    }

    fn launch(&mut self, kernel: &str, blocks: u32, threads: u32, args: &[Arg]) -> Result<()> {
        let f = self
            .funcs
            .get(kernel)
            .ok_or_else(|| Error::Device(format!("no GPU kernel `{kernel}`")))?;
        let mut ptrs: Vec<u64> = Vec::with_capacity(args.len());
        let mut ints: Vec<i32> = Vec::with_capacity(args.len());
        let mut floats: Vec<f32> = Vec::with_capacity(args.len());
        for a in args {
            match *a {
                Arg::Buf(b, off) => {
                    check_range(b, off, 0)?;
                    ptrs.push(self.slot(b)?.ptr + 4 * off as u64);
                }
                Arg::I32(v) => ints.push(v),
                Arg::F32(v) => floats.push(v),
            }
        }
        let mut lb = self.stream.launch_builder(f);
        let (mut pi, mut ii, mut fi) = (0, 0, 0);
        for a in args {
            match a {
                Arg::Buf(..) => {
                    lb.arg(&ptrs[pi]);
                    pi += 1;
                }
                Arg::I32(_) => {
                    lb.arg(&ints[ii]);
                    ii += 1;
                }
                Arg::F32(_) => {
                    lb.arg(&floats[fi]);
                    fi += 1;
                }
            }
        }
        let cfg = LaunchConfig {
            grid_dim: (blocks, 1, 1),
            block_dim: (threads, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: the arguments match the kernel's C parameters (pointers into live
        // buffers, ints, floats), as `CudaBackend` builds them and the emulator checks.
        unsafe { lb.launch(cfg) }
            .map(|_| ())
            .map_err(driver_err(&format!("launch of {kernel}")))
    }
}
