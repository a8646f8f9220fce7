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
