// 2x2 max pooling, stride 2, followed by ReLU, over `planes` = images*channels planes of
// h x wd. code: which of the window's four values was the largest (0 1 / 2 3, the first
// on ties, as the CPU backend and torch).

extern "C" __global__ void pool2_relu_fwd(const float* __restrict__ x, float* __restrict__ out,
                                          int* __restrict__ code, int planes, int h, int wd) {
    int oh = h / 2, ow = wd / 2;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = planes * oh * ow;
    if (i >= total) return;
    int ox = i % ow;
    int oy = (i / ow) % oh;
    int p = i / (ow * oh);
    const float* r0 = x + ((long long)p * h + 2 * oy) * wd + 2 * ox;
    const float* r1 = r0 + wd;
    float a = r0[0], b = r0[1], c = r1[0], d = r1[1];
    float m0 = b > a ? b : a;
    float m1 = d > c ? d : c;
    float m = m1 > m0 ? m1 : m0;
    int i1 = b > a ? 1 : 0;
    int i2 = d > c ? 3 : 2;
    code[i] = m1 > m0 ? i2 : i1;
    out[i] = m > 0.0f ? m : 0.0f;
}

// dx (every value written): the output gradient where the output was > 0, at the window
// position its code names; 0 elsewhere (and in a last odd row or column).
extern "C" __global__ void pool2_relu_bwd(const float* __restrict__ dout,
                                          const float* __restrict__ out,
                                          const int* __restrict__ code, float* __restrict__ dx,
                                          int planes, int h, int wd) {
    int oh = h / 2, ow = wd / 2;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = planes * h * wd;
    if (i >= total) return;
    int x = i % wd;
    int y = (i / wd) % h;
    int p = i / (wd * h);
    int ox = x / 2, oy = y / 2;
    float g = 0.0f;
    if (ox < ow && oy < oh) {
        int o = (p * oh + oy) * ow + ox;
        int pos = (y & 1) * 2 + (x & 1);
        if (code[o] == pos && out[o] > 0.0f) g = dout[o];
    }
    dx[i] = g;
}

// Any max pool: k x k windows, step s (floor mode), over `planes` planes of h x wd into
// oh x ow. arg: the index in its plane of each maximum (the first on ties; a NaN wins, as
// the CPU backend and torch).
extern "C" __global__ void maxpool_fwd(const float* __restrict__ x, float* __restrict__ y,
                                       int* __restrict__ arg, int planes, int h, int wd,
                                       int oh, int ow, int k, int s) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = planes * oh * ow;
    if (i >= total) return;
    int ox = i % ow;
    int oy = (i / ow) % oh;
    int pl = i / (ow * oh);
    const float* xp = x + (long long)pl * h * wd;
    int best = (oy * s) * wd + ox * s;
    float bv = xp[best];
    for (int ky = 0; ky < k; ++ky) {
        for (int kx = 0; kx < k; ++kx) {
            int at = (oy * s + ky) * wd + ox * s + kx;
            float v = xp[at];
            if (v > bv || v != v) {
                bv = v;
                best = at;
            }
        }
    }
    y[i] = bv;
    arg[i] = best;
}

// dx of maxpool_fwd, one thread per input value: the sum, over the windows that hold it
// (in output order), of the output gradients of those whose maximum it was.
extern "C" __global__ void maxpool_bwd(const float* __restrict__ dy, const int* __restrict__ arg,
                                       float* __restrict__ dx, int planes, int h, int wd,
                                       int oh, int ow, int k, int s) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = planes * h * wd;
    if (i >= total) return;
    int xx = i % wd;
    int yy = (i / wd) % h;
    int pl = i / (wd * h);
    int here = yy * wd + xx;
    int oy0 = yy - k + 1 > 0 ? (yy - k + s) / s : 0;
    int ox0 = xx - k + 1 > 0 ? (xx - k + s) / s : 0;
    float g = 0.0f;
    for (int oy = oy0; oy < oh && oy * s <= yy; ++oy) {
        for (int ox = ox0; ox < ow && ox * s <= xx; ++ox) {
            int o = (pl * oh + oy) * ow + ox;
            if (arg[o] == here) g += dy[o];
        }
    }
    dx[i] = g;
}

// Average pool: k x k windows, step s (floor mode). Each window row is summed, then the
// rows, then scaled by 1/(k*k) (the CPU backend's order).
extern "C" __global__ void avgpool_fwd(const float* __restrict__ x, float* __restrict__ y,
                                       int planes, int h, int wd, int oh, int ow, int k, int s,
                                       float inv) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = planes * oh * ow;
    if (i >= total) return;
    int ox = i % ow;
    int oy = (i / ow) % oh;
    int pl = i / (ow * oh);
    const float* xp = x + (long long)pl * h * wd;
    float acc = 0.0f;
    for (int ky = 0; ky < k; ++ky) {
        const float* row = xp + (oy * s + ky) * wd + ox * s;
        float r = 0.0f;
        for (int kx = 0; kx < k; ++kx) r += row[kx];
        acc += r;
    }
    y[i] = acc * inv;
}

// dx of avgpool_fwd, one thread per input value: the sum of dy * inv over the windows
// that hold it, in output order.
extern "C" __global__ void avgpool_bwd(const float* __restrict__ dy, float* __restrict__ dx,
                                       int planes, int h, int wd, int oh, int ow, int k, int s,
                                       float inv) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = planes * h * wd;
    if (i >= total) return;
    int xx = i % wd;
    int yy = (i / wd) % h;
    int pl = i / (wd * h);
    int oy0 = yy - k + 1 > 0 ? (yy - k + s) / s : 0;
    int ox0 = xx - k + 1 > 0 ? (xx - k + s) / s : 0;
    float g = 0.0f;
    for (int oy = oy0; oy < oh && oy * s <= yy; ++oy) {
        for (int ox = ox0; ox < ow && ox * s <= xx; ++ox) {
            g += dy[(pl * oh + oy) * ow + ox] * inv;
        }
    }
    dx[i] = g;
}
