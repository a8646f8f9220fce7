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

// Run kernel `f` as cuLaunchKernel would: `params[i]` points to the value of parameter i.
template <typename... A>
void launch(void (*f)(A...), void** params, unsigned gx, unsigned gy, unsigned gz,
            unsigned bx, unsigned by, unsigned bz) {
    gridDim.x = gx; gridDim.y = gy; gridDim.z = gz;
    blockDim.x = bx; blockDim.y = by; blockDim.z = bz;
    for (unsigned z = 0; z < gz; ++z)
        for (unsigned y = 0; y < gy; ++y)
            for (unsigned x = 0; x < gx; ++x) {
                blockIdx.x = x; blockIdx.y = y; blockIdx.z = z;
                for (unsigned tz = 0; tz < bz; ++tz)
                    for (unsigned ty = 0; ty < by; ++ty)
                        for (unsigned tx = 0; tx < bx; ++tx) {
                            threadIdx.x = tx; threadIdx.y = ty; threadIdx.z = tz;
                            call(f, params, std::index_sequence_for<A...>{});
                        }
            }
}

}  // namespace emu
