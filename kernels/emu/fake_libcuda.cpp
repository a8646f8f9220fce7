// A stand-in for the NVIDIA driver library (libcuda.so) for the tests: the driver API
// calls cudarc makes for our backend, on the CPU. Device memory is host memory with guard
// bytes on both sides; a launch runs the kernel's emulator launcher (cuda_emu.h). With it
// on LD_LIBRARY_PATH the real code path runs end to end without a GPU: our cudarc
// adapter, cudarc itself, the CLI. It checks what a real driver would refuse (pointers
// outside live allocations, launch sizes over the limits, a module that is not the
// "PTX" of fake_libnvrtc.cpp) and counts copies and launches.
//
// Built by tests/common/fake_cuda.rs: the kernels, their launchers and a table
// `FAKE_KERNELS` of them come first in the same translation unit.
//
// Settings, read from the environment at cuInit:
//   FAKE_CUDA_DEVICES     devices reported (default 1; 0: cuInit fails as with no GPU)
//   FAKE_CUDA_CC          compute capability as "major.minor" (default 9.0)
//   FAKE_CUDA_MEM         device memory in bytes (default 1 GiB): allocations beyond fail
//   FAKE_CUDA_FAIL_LAUNCH the n-th launch (1-based) fails with an illegal address
//   FAKE_CUDA_STATS       write the counters to this file at exit, one "name value" a line
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void* CUcontext;
typedef void* CUstream;

enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    CUDA_ERROR_INVALID_PTX = 218,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
};

namespace fake {

const size_t GUARD = 256;
const unsigned char CANARY = 0xA5;

struct Alloc {
    unsigned char* base;  // GUARD bytes, the allocation, GUARD bytes
    size_t len;
};

struct Module {
    std::vector<std::string> entries;
};

struct Function {
    std::string name;
    void (*launch)(void**, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned);
    const char* sig;
};

struct State {
    std::mutex lock;
    bool inited = false;
    int devices = 1, cc_major = 9, cc_minor = 0;
    size_t mem = size_t(1) << 30, used = 0, peak = 0;
    long fail_launch = 0;
    CUresult sticky = CUDA_SUCCESS;  // as on a real device: after a fault, all calls fail
    std::map<CUdeviceptr, Alloc> allocs;  // by device address (the first byte after the guard)
    std::map<std::string, long> counters;
    std::string target, fmad;  // the .target and --fmad of the last module loaded
};

State& state() {
    static State* s = new State();  // never destroyed: calls may come during exit
    return *s;
}

int primary_ctx_token;
thread_local CUcontext current = nullptr;

long env_long(const char* name, long dflt) {
    const char* v = getenv(name);
    return v && *v ? strtol(v, nullptr, 10) : dflt;
}

void count(const char* name, long by = 1) { state().counters[name] += by; }

// The allocation holding [p, p+len) (len 0: p may be one past its end), or null.
Alloc* find(CUdeviceptr p, size_t len) {
    auto& a = state().allocs;
    auto it = a.upper_bound(p);
    if (it == a.begin()) return nullptr;
    --it;
    if (p + len > it->first + it->second.len) return nullptr;
    return &it->second;
}

bool guards_intact() {
    for (auto& [addr, a] : state().allocs) {
        for (size_t i = 0; i < GUARD; ++i)
            if (a.base[i] != CANARY || a.base[GUARD + a.len + i] != CANARY) return false;
    }
    return true;
}

CUresult alloc(CUdeviceptr* out, size_t bytes) {
    State& s = state();
    if (!out) return CUDA_ERROR_INVALID_VALUE;
    if (s.used + bytes > s.mem) return CUDA_ERROR_OUT_OF_MEMORY;
    unsigned char* base = (unsigned char*)malloc(bytes + 2 * GUARD);
    if (!base) return CUDA_ERROR_OUT_OF_MEMORY;
    memset(base, CANARY, GUARD);
    memset(base + GUARD, 0xFF, bytes);  // not zero: as garbage as a real allocation (NaNs)
    memset(base + GUARD + bytes, CANARY, GUARD);
    CUdeviceptr p = (CUdeviceptr)(base + GUARD);
    s.allocs[p] = Alloc{base, bytes};
    s.used += bytes;
    if (s.used > s.peak) s.peak = s.used;
    count("allocs");
    *out = p;
    return CUDA_SUCCESS;
}

CUresult release(CUdeviceptr p) {
    State& s = state();
    auto it = s.allocs.find(p);
    if (it == s.allocs.end()) return CUDA_ERROR_INVALID_VALUE;
    s.used -= it->second.len;
    free(it->second.base);
    s.allocs.erase(it);
    count("frees");
    return CUDA_SUCCESS;
}

void write_stats() {
    const char* path = getenv("FAKE_CUDA_STATS");
    if (!path || !*path) return;
    State& s = state();
    std::lock_guard<std::mutex> g(s.lock);
    FILE* f = fopen(path, "w");
    if (!f) return;
    for (auto& [k, v] : s.counters) fprintf(f, "%s %ld\n", k.c_str(), v);
    fprintf(f, "peak_bytes %zu\n", s.peak);
    fprintf(f, "live_allocs %zu\n", s.allocs.size());
    fprintf(f, "target %s\n", s.target.c_str());
    fprintf(f, "fmad %s\n", s.fmad.c_str());
    fclose(f);
}

struct AtExit {
    ~AtExit() { write_stats(); }
} at_exit;

}  // namespace fake

using namespace fake;

#define LOCKED                      \
    State& s = state();             \
    std::lock_guard<std::mutex> g_(s.lock)
#define NEED_INIT                                   \
    if (!s.inited) return CUDA_ERROR_NOT_INITIALIZED; \
    if (s.sticky) return s.sticky

extern "C" {

CUresult cuInit(unsigned flags) {
    LOCKED;
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    s.devices = (int)env_long("FAKE_CUDA_DEVICES", 1);
    const char* cc = getenv("FAKE_CUDA_CC");
    if (cc && *cc) sscanf(cc, "%d.%d", &s.cc_major, &s.cc_minor);
    s.mem = (size_t)env_long("FAKE_CUDA_MEM", (long)s.mem);
    s.fail_launch = env_long("FAKE_CUDA_FAIL_LAUNCH", 0);
    if (s.devices <= 0) return CUDA_ERROR_NO_DEVICE;
    s.inited = true;
    return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int* v) {
    if (!v) return CUDA_ERROR_INVALID_VALUE;
    *v = 13000;
    return CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult e, const char** out) {
    if (!out) return CUDA_ERROR_INVALID_VALUE;
    switch (e) {
        case CUDA_SUCCESS: *out = "no error"; break;
        case CUDA_ERROR_INVALID_VALUE: *out = "invalid argument"; break;
        case CUDA_ERROR_OUT_OF_MEMORY: *out = "out of memory"; break;
        case CUDA_ERROR_NOT_INITIALIZED: *out = "initialization error"; break;
        case CUDA_ERROR_NO_DEVICE: *out = "no CUDA-capable device is detected"; break;
        case CUDA_ERROR_INVALID_DEVICE: *out = "invalid device ordinal"; break;
        case CUDA_ERROR_INVALID_CONTEXT: *out = "invalid device context"; break;
        case CUDA_ERROR_NO_BINARY_FOR_GPU: *out = "no kernel image is available for execution on the device"; break;
        case CUDA_ERROR_INVALID_PTX: *out = "a PTX JIT compilation failed"; break;
        case CUDA_ERROR_INVALID_HANDLE: *out = "invalid resource handle"; break;
        case CUDA_ERROR_NOT_FOUND: *out = "named symbol not found"; break;
        case CUDA_ERROR_ILLEGAL_ADDRESS: *out = "an illegal memory access was encountered"; break;
        case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: *out = "too many resources requested for launch"; break;
        default: *out = nullptr; return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int* n) {
    LOCKED;
    if (!s.inited) return CUDA_ERROR_NOT_INITIALIZED;
    if (!n) return CUDA_ERROR_INVALID_VALUE;
    *n = s.devices;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice* d, int ordinal) {
    LOCKED;
    if (!s.inited) return CUDA_ERROR_NOT_INITIALIZED;
    if (!d) return CUDA_ERROR_INVALID_VALUE;
    if (ordinal < 0 || ordinal >= s.devices) return CUDA_ERROR_INVALID_DEVICE;
    *d = ordinal;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, CUdevice d) {
    LOCKED;
    if (!s.inited) return CUDA_ERROR_NOT_INITIALIZED;
    if (d < 0 || d >= s.devices) return CUDA_ERROR_INVALID_DEVICE;
    if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)len, "Fake GPU (cnn-tutor test driver)");
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int* v, int attrib, CUdevice d) {
    LOCKED;
    if (!s.inited) return CUDA_ERROR_NOT_INITIALIZED;
    if (d < 0 || d >= s.devices) return CUDA_ERROR_INVALID_DEVICE;
    if (!v) return CUDA_ERROR_INVALID_VALUE;
    switch (attrib) {
        case 1: *v = 1024; break;   // max threads per block
        case 75: *v = s.cc_major; break;
        case 76: *v = s.cc_minor; break;
        case 115: *v = 1; break;    // memory pools (cudarc then allocates on the stream)
        default: *v = 0;
    }
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext* ctx, CUdevice d) {
    LOCKED;
    NEED_INIT;
    if (d < 0 || d >= s.devices) return CUDA_ERROR_INVALID_DEVICE;
    if (!ctx) return CUDA_ERROR_INVALID_VALUE;
    *ctx = &primary_ctx_token;
    count("contexts");
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
    LOCKED;
    if (d < 0 || d >= s.devices) return CUDA_ERROR_INVALID_DEVICE;
    return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext* ctx) {
    if (!ctx) return CUDA_ERROR_INVALID_VALUE;
    *ctx = current;
    return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
    if (ctx && ctx != &primary_ctx_token) return CUDA_ERROR_INVALID_CONTEXT;
    current = ctx;
    return CUDA_SUCCESS;
}

#define NEED_CTX \
    if (current != &primary_ctx_token) return CUDA_ERROR_INVALID_CONTEXT

CUresult cuCtxSynchronize() {
    LOCKED;
    NEED_INIT;
    NEED_CTX;
    return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream) {
    LOCKED;
    NEED_INIT;
    NEED_CTX;
    count("syncs");
    return CUDA_SUCCESS;
}

CUresult cuModuleLoadData(void** module, const void* image) {
    LOCKED;
    NEED_INIT;
    NEED_CTX;
    if (!module || !image) return CUDA_ERROR_INVALID_VALUE;
    const char* text = (const char*)image;
    const char* magic = "//\n// fake PTX of the cnn-tutor test NVRTC\n";
    if (strncmp(text, magic, strlen(magic)) != 0) return CUDA_ERROR_INVALID_PTX;
    Module* m = new Module();
    int major = 0, minor = 0;
    for (const char* line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : nullptr) {
        char name[256];
        int t = 0;
        if (sscanf(line, "// fmad=%255[a-z]", name) == 1) {
            s.fmad = name;
        } else if (sscanf(line, ".target sm_%d", &t) == 1) {
            major = t / 10;
            minor = t % 10;
            s.target = "sm_" + std::to_string(t);
        } else if (sscanf(line, ".visible .entry %255[A-Za-z0-9_](", name) == 1) {
            m->entries.push_back(name);
        }
    }
    // PTX for a newer architecture than the device's does not load
    if (major * 10 + minor > s.cc_major * 10 + s.cc_minor || major == 0) {
        delete m;
        return CUDA_ERROR_NO_BINARY_FOR_GPU;
    }
    count("modules");
    *module = m;
    return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(void** f, void* module, const char* name) {
    LOCKED;
    NEED_INIT;
    if (!f || !module || !name) return CUDA_ERROR_INVALID_VALUE;
    Module* m = (Module*)module;
    bool listed = false;
    for (auto& e : m->entries) listed |= e == name;
    if (!listed) return CUDA_ERROR_NOT_FOUND;
    for (int i = 0; i < FAKE_KERNEL_COUNT; ++i) {
        if (strcmp(FAKE_KERNELS[i].name, name) == 0) {
            *f = new Function{name, FAKE_KERNELS[i].launch, FAKE_KERNELS[i].sig()};
            return CUDA_SUCCESS;
        }
    }
    return CUDA_ERROR_NOT_FOUND;
}

CUresult cuModuleUnload(void* module) {
    if (!module) return CUDA_ERROR_INVALID_HANDLE;
    delete (Module*)module;
    return CUDA_SUCCESS;
}

CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    LOCKED;
    NEED_INIT;
    NEED_CTX;
    return alloc(p, bytes);
}

CUresult cuMemAllocAsync(CUdeviceptr* p, size_t bytes, CUstream) {
    LOCKED;
    NEED_INIT;
    NEED_CTX;
    return alloc(p, bytes);
}

CUresult cuMemFree_v2(CUdeviceptr p) {
    LOCKED;
    return release(p);
}

CUresult cuMemFreeAsync(CUdeviceptr p, CUstream) {
    LOCKED;
    return release(p);
}

CUresult cuMemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, CUstream) {
    LOCKED;
    NEED_INIT;
    NEED_CTX;
    if (!find(p, n)) return CUDA_ERROR_INVALID_VALUE;
    memset((void*)p, v, n);
    count("memsets");
    return CUDA_SUCCESS;
}

CUresult cuMemsetD8_v2(CUdeviceptr p, unsigned char v, size_t n) {
    return cuMemsetD8Async(p, v, n, nullptr);
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, CUstream) {
    LOCKED;
    NEED_INIT;
    NEED_CTX;
    if (!src || !find(dst, n)) return CUDA_ERROR_INVALID_VALUE;
    memcpy((void*)dst, src, n);
    count("htod_copies");
    count("htod_bytes", (long)n);
    return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
    return cuMemcpyHtoDAsync_v2(dst, src, n, nullptr);
}

CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, CUstream) {
    LOCKED;
    NEED_INIT;
    NEED_CTX;
    if (!dst || !find(src, n)) return CUDA_ERROR_INVALID_VALUE;
    memcpy(dst, (const void*)src, n);
    count("dtoh_copies");
    count("dtoh_bytes", (long)n);
    return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) {
    return cuMemcpyDtoHAsync_v2(dst, src, n, nullptr);
}

CUresult cuLaunchKernel(void* fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned shared, CUstream, void** params,
                        void** extra) {
    LOCKED;
    NEED_INIT;
    NEED_CTX;
    if (!fn || !params || extra) return CUDA_ERROR_INVALID_VALUE;
    Function* f = (Function*)fn;
    // the limits of every device since compute capability 3.0
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0) return CUDA_ERROR_INVALID_VALUE;
    if (gx > 2147483647u || gy > 65535 || gz > 65535) return CUDA_ERROR_INVALID_VALUE;
    if ((unsigned long long)bx * by * bz > 1024 || bz > 64) return CUDA_ERROR_INVALID_VALUE;
    if (shared > 48 * 1024) return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
    // every pointer argument points into (or just past) a live allocation
    for (int i = 0; f->sig[i]; ++i) {
        if (f->sig[i] == 'p' && !find(*(CUdeviceptr*)params[i], 0)) return CUDA_ERROR_INVALID_VALUE;
    }
    count("launches");
    if (s.fail_launch > 0 && s.counters["launches"] == s.fail_launch) {
        s.sticky = CUDA_ERROR_ILLEGAL_ADDRESS;
        return s.sticky;
    }
    f->launch(params, gx, gy, gz, bx, by, bz);
    if (!guards_intact()) {
        fprintf(stderr, "fake libcuda: %s wrote outside an allocation\n", f->name.c_str());
        s.sticky = CUDA_ERROR_ILLEGAL_ADDRESS;
        return s.sticky;
    }
    return CUDA_SUCCESS;
}

}  // extern "C"
