// After conv3: dropout2d (channel scales), ReLU, then elementwise dropout, as the CPU
// backend computes them:  z = max(conv3 * ch[n,c], 0)  (kept for the backward pass),
// act = z * el[n,c,i].  Eval mode (masked == 0): z = max(conv3, 0), act = z.
// z is updated in place.

extern "C" __global__ void drop_relu_fwd(float* __restrict__ z, float* __restrict__ act,
                                         const float* __restrict__ ch,
                                         const float* __restrict__ el, int n, int c, int hw,
                                         int masked) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = n * c * hw;
    if (i >= total) return;
    float v = z[i];
    if (masked) {
        v = v * ch[i / hw];
        v = v > 0.0f ? v : 0.0f;
        z[i] = v;
        act[i] = v * el[i];
    } else {
        v = v > 0.0f ? v : 0.0f;
        z[i] = v;
        act[i] = v;
    }
}

// Dropout masks drawn on the device with the same ChaCha8 stream as the CPU backend
// (rand_chacha's ChaCha8Rng: key = seed words, block counter in state words 12-13, stream
// in 14-15; one 32-bit word per float, `rand`'s f32 = (word >> 8) * 2^-24). Float j of
// `out` takes word `word0 + j`; it becomes 0 when that float < p, else `keep`.
__device__ __forceinline__ unsigned rotl32(unsigned v, int s) {
    return (v << s) | (v >> (32 - s));
}

#define CHACHA_QR(a, b, c, d)            \
    a += b; d ^= a; d = rotl32(d, 16);   \
    c += d; b ^= c; b = rotl32(b, 12);   \
    a += b; d ^= a; d = rotl32(d, 8);    \
    c += d; b ^= c; b = rotl32(b, 7);

extern "C" __global__ void chacha8_mask(float* __restrict__ out, int len, int k0, int k1,
                                        int k2, int k3, int k4, int k5, int k6, int k7,
                                        int stream_lo, int stream_hi, int word0_lo,
                                        int word0_hi, float p, float keep) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= len) return;
    unsigned long long word = (((unsigned long long)(unsigned)word0_hi) << 32) |
                              (unsigned long long)(unsigned)word0_lo;
    word += (unsigned long long)j;
    unsigned long long block = word >> 4;
    int lane = (int)(word & 15ULL);
    unsigned s[16];
    s[0] = 0x61707865u; s[1] = 0x3320646eu; s[2] = 0x79622d32u; s[3] = 0x6b206574u;
    s[4] = (unsigned)k0; s[5] = (unsigned)k1; s[6] = (unsigned)k2; s[7] = (unsigned)k3;
    s[8] = (unsigned)k4; s[9] = (unsigned)k5; s[10] = (unsigned)k6; s[11] = (unsigned)k7;
    s[12] = (unsigned)(block & 0xffffffffULL);
    s[13] = (unsigned)(block >> 32);
    s[14] = (unsigned)stream_lo;
    s[15] = (unsigned)stream_hi;
    unsigned x[16];
    for (int q = 0; q < 16; ++q) x[q] = s[q];
    for (int r = 0; r < 4; ++r) {
        CHACHA_QR(x[0], x[4], x[8], x[12]);
        CHACHA_QR(x[1], x[5], x[9], x[13]);
        CHACHA_QR(x[2], x[6], x[10], x[14]);
        CHACHA_QR(x[3], x[7], x[11], x[15]);
        CHACHA_QR(x[0], x[5], x[10], x[15]);
        CHACHA_QR(x[1], x[6], x[11], x[12]);
        CHACHA_QR(x[2], x[7], x[8], x[13]);
        CHACHA_QR(x[3], x[4], x[9], x[14]);
    }
    unsigned v = 0;
    for (int q = 0; q < 16; ++q) {
        if (q == lane) v = x[q] + s[q];
    }
    float f = (float)(v >> 8) * (1.0f / 16777216.0f);
    out[j] = f < p ? 0.0f : keep;
}

// Activations, elementwise over len values. kind: 0 relu, 1 tanh, 2 sigmoid, 3 leaky relu
// (negative values times slope), as src/nn/layers.rs.
__device__ __forceinline__ float act_apply(float v, int kind, float slope) {
    if (kind == 0) return v > 0.0f ? v : 0.0f;
    if (kind == 1) return tanhf(v);
    if (kind == 2) {
        if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
        float e = expf(v);
        return e / (1.0f + e);
    }
    return v > 0.0f ? v : v * slope;
}

extern "C" __global__ void act_fwd(const float* __restrict__ x, float* __restrict__ y, int len,
                                   int kind, float slope) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= len) return;
    y[i] = act_apply(x[i], kind, slope);
}

// dx from the input x (relu, leaky relu) or the output y (tanh, sigmoid).
extern "C" __global__ void act_bwd(const float* __restrict__ x, const float* __restrict__ y,
                                   const float* __restrict__ dy, float* __restrict__ dx, int len,
                                   int kind, float slope) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= len) return;
    float g = dy[i];
    float out;
    if (kind == 0) {
        out = x[i] > 0.0f ? g : 0.0f;
    } else if (kind == 3) {
        out = x[i] > 0.0f ? g : g * slope;
    } else if (kind == 1) {
        float o = y[i];
        out = g * (1.0f - o * o);
    } else {
        float o = y[i];
        out = g * (o * (1.0f - o));
    }
    dx[i] = out;
}

// Dropout (per = 1: one mask value per value) and dropout2d (per = h*w: one per map),
// forward (x -> y) and backward (dy -> dx) alike: y[i] = x[i] * mask[i / per]; with
// masked == 0 (eval mode) a copy.
extern "C" __global__ void dropout_apply(const float* __restrict__ x,
                                         const float* __restrict__ mask, float* __restrict__ y,
                                         int len, int per, int masked) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= len) return;
    y[i] = masked ? x[i] * mask[i / per] : x[i];
}
