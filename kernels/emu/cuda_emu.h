// The CUDA C subset our kernels use, as plain C++, so that the tests run kernels/*.cu on
// the CPU (see tests/common/emu.rs). A launch runs every thread of every block in turn,
// one after another: kernels must not rely on threads running at the same time (no
// __syncthreads, no shared memory; it is deliberately not defined here, so a kernel that
// uses it fails to build in the emulator instead of passing by accident).
#pragma once
#include <math.h>
#include <stddef.h>
#include <type_traits>
#include <utility>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
// per OS thread: tests launch from several threads at once
static thread_local dim3 blockIdx, threadIdx, blockDim, gridDim;

#define __global__
#define __device__ static inline
#define __forceinline__
#define __host__

static inline float atomicAdd(float* p, float v) {
    float old = *p;
    *p = old + v;
    return old;
}

namespace emu {

template <typename T>
constexpr char kind() {
    return std::is_pointer<T>::value          ? 'p'
           : std::is_same<T, int>::value      ? 'i'
           : std::is_same<T, float>::value    ? 'f'
                                              : '?';
}

// The kernel's parameter kinds, one letter each: p pointer, i int, f float.
template <typename... A>
const char* signature(void (*)(A...)) {
    static const char s[] = {kind<A>()..., 0};
    return s;
}

template <typename... A, size_t... I>
void call(void (*f)(A...), void** p, std::index_sequence<I...>) {
    f(*static_cast<typename std::remove_reference<A>::type*>(p[I])...);
}

// Run blocks and threads last to first instead (see emu_set_reverse).
static thread_local bool reverse = false;

// Run kernel `f` as cuLaunchKernel would: `params[i]` points to the value of parameter i.
template <typename... A>
void launch(void (*f)(A...), void** params, unsigned gx, unsigned gy, unsigned gz,
            unsigned bx, unsigned by, unsigned bz) {
    gridDim.x = gx; gridDim.y = gy; gridDim.z = gz;
    blockDim.x = bx; blockDim.y = by; blockDim.z = bz;
    unsigned long long blocks = (unsigned long long)gx * gy * gz;
    unsigned long long threads = (unsigned long long)bx * by * bz;
    for (unsigned long long b0 = 0; b0 < blocks; ++b0) {
        unsigned long long b = reverse ? blocks - 1 - b0 : b0;
        blockIdx.x = (unsigned)(b % gx);
        blockIdx.y = (unsigned)(b / gx % gy);
        blockIdx.z = (unsigned)(b / gx / gy);
        for (unsigned long long t0 = 0; t0 < threads; ++t0) {
            unsigned long long t = reverse ? threads - 1 - t0 : t0;
            threadIdx.x = (unsigned)(t % bx);
            threadIdx.y = (unsigned)(t / bx % by);
            threadIdx.z = (unsigned)(t / bx / by);
            call(f, params, std::index_sequence_for<A...>{});
        }
    }
}

}  // namespace emu

// Run the launches of this OS thread with blocks and threads in reverse order (on != 0),
// or in order: a kernel whose result depends on the order its threads run in gives
// different results, which the tests look for.
extern "C" void emu_set_reverse(int on) { emu::reverse = on != 0; }
