// 3x3 convolutions, stride 1, padding 1, NCHW, f32. One thread per output value.
//   y[n,co,oy,ox] = b[co] + sum_{ci,ky,kx} w[co,ci,ky,kx] * x[n,ci,oy+ky-1,ox+kx-1]

extern "C" __global__ void conv3x3_fwd(const float* __restrict__ x, const float* __restrict__ w,
                                       const float* __restrict__ b, float* __restrict__ y,
                                       int n, int cin, int cout, int h, int wd) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = n * cout * h * wd;
    if (i >= total) return;
    int ox = i % wd;
    int oy = (i / wd) % h;
    int co = (i / (wd * h)) % cout;
    int img = i / (wd * h * cout);
    float acc = 0.0f;
    for (int ci = 0; ci < cin; ++ci) {
        const float* xp = x + ((long long)img * cin + ci) * h * wd;
        const float* wp = w + ((long long)co * cin + ci) * 9;
        for (int ky = 0; ky < 3; ++ky) {
            int iy = oy + ky - 1;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < 3; ++kx) {
                int ix = ox + kx - 1;
                if (ix < 0 || ix >= wd) continue;
                acc += wp[ky * 3 + kx] * xp[iy * wd + ix];
            }
        }
    }
    y[i] = acc + b[co];
}

// Input gradient: dx[n,ci,iy,ix] = sum_{co,ky,kx} w[co,ci,ky,kx] * dy[n,co,iy-ky+1,ix-kx+1].
extern "C" __global__ void conv3x3_dx(const float* __restrict__ dy, const float* __restrict__ w,
                                      float* __restrict__ dx, int n, int cin, int cout, int h,
                                      int wd) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = n * cin * h * wd;
    if (i >= total) return;
    int ix = i % wd;
    int iy = (i / wd) % h;
    int ci = (i / (wd * h)) % cin;
    int img = i / (wd * h * cin);
    float acc = 0.0f;
    for (int co = 0; co < cout; ++co) {
        const float* dp = dy + ((long long)img * cout + co) * h * wd;
        const float* wp = w + ((long long)co * cin + ci) * 9;
        for (int ky = 0; ky < 3; ++ky) {
            int oy = iy - ky + 1;
            if (oy < 0 || oy >= h) continue;
            for (int kx = 0; kx < 3; ++kx) {
                int ox = ix - kx + 1;
                if (ox < 0 || ox >= wd) continue;
                acc += wp[ky * 3 + kx] * dp[oy * wd + ox];
            }
        }
    }
    dx[i] = acc;
}

// Weight and bias gradients, first stage: one partial sum per (gradient value, image row).
// Gradient values: the cout*cin*9 weights, then the cout biases (the layout of the weight
// and bias tensors one after the other). part[j * (n*h) + img*h + oy] sums over ox:
//   weight j=(co,ci,ky,kx): dy[img,co,oy,ox] * x[img,ci,oy+ky-1,ox+kx-1]
//   bias   j=cout*cin*9+co: dy[img,co,oy,ox]
// `reduce_rows` then sums each row of `part` into the gradient.
extern "C" __global__ void conv3x3_dwb_part(const float* __restrict__ x,
                                            const float* __restrict__ dy,
                                            float* __restrict__ part, int n, int cin, int cout,
                                            int h, int wd) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int rows = n * h;
    int nw = cout * cin * 9;
    int nj = nw + cout;
    int total = nj * rows;
    if (i >= total) return;
    // neighbouring threads take neighbouring gradient values of the same image row, so
    // a warp reads a few rows of x and dy (not 32 different ones)
    int j = i % nj;
    int r = i / nj;
    int img = r / h;
    int oy = r % h;
    float acc = 0.0f;
    if (j < nw) {
        int k = j % 9;
        int ci = (j / 9) % cin;
        int co = j / (9 * cin);
        int ky = k / 3;
        int kx = k % 3;
        int iy = oy + ky - 1;
        if (iy >= 0 && iy < h) {
            const float* dp = dy + (((long long)img * cout + co) * h + oy) * wd;
            const float* xp = x + (((long long)img * cin + ci) * h + iy) * wd;
            for (int ox = 0; ox < wd; ++ox) {
                int ix = ox + kx - 1;
                if (ix < 0 || ix >= wd) continue;
                acc += dp[ox] * xp[ix];
            }
        }
    } else {
        int co = j - nw;
        const float* dp = dy + (((long long)img * cout + co) * h + oy) * wd;
        for (int ox = 0; ox < wd; ++ox) acc += dp[ox];
    }
    part[(long long)j * rows + r] = acc;
}

// First of two reduction stages for long rows: out[r*chunks + c] = sum over
// i = c, c+chunks, ... < cols of part[r*cols + i] (neighbouring threads read neighbouring
// values). `reduce_rows` with cols = chunks then finishes.
extern "C" __global__ void reduce_rows_part(const float* __restrict__ part,
                                            float* __restrict__ out, int rows, int cols,
                                            int chunks) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= rows * chunks) return;
    int r = t / chunks;
    int c = t % chunks;
    const float* p = part + (long long)r * cols;
    float acc = 0.0f;
    for (int i = c; i < cols; i += chunks) acc += p[i];
    out[t] = acc;
}

// out[r] = sum_{c < cols} part[r*cols + c], for r < rows (in order, one thread per row).
extern "C" __global__ void reduce_rows(const float* __restrict__ part, float* __restrict__ out,
                                       int rows, int cols) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float* p = part + (long long)r * cols;
    float acc = 0.0f;
    for (int c = 0; c < cols; ++c) acc += p[c];
    out[r] = acc;
}

// Any convolution: K x K kernel, stride s, zero padding p, NCHW, f32; input h x wd,
// output oh x ow. One thread per output value.
//   y[n,co,oy,ox] = b[co] + sum_{ci,ky,kx} w[co,ci,ky,kx] * x[n,ci,oy*s+ky-p,ox*s+kx-p]
extern "C" __global__ void conv_fwd(const float* __restrict__ x, const float* __restrict__ w,
                                    const float* __restrict__ b, float* __restrict__ y, int n,
                                    int cin, int cout, int h, int wd, int oh, int ow, int k,
                                    int s, int p) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = n * cout * oh * ow;
    if (i >= total) return;
    int ox = i % ow;
    int oy = (i / ow) % oh;
    int co = (i / (ow * oh)) % cout;
    int img = i / (ow * oh * cout);
    float acc = 0.0f;
    for (int ci = 0; ci < cin; ++ci) {
        const float* xp = x + ((long long)img * cin + ci) * h * wd;
        const float* wp = w + ((long long)co * cin + ci) * k * k;
        for (int ky = 0; ky < k; ++ky) {
            int iy = oy * s + ky - p;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < k; ++kx) {
                int ix = ox * s + kx - p;
                if (ix < 0 || ix >= wd) continue;
                acc += wp[ky * k + kx] * xp[iy * wd + ix];
            }
        }
    }
    y[i] = acc + b[co];
}

// Input gradient of conv_fwd: dx[n,ci,iy,ix] = sum over co, ky, kx with
// oy = (iy + p - ky) / s a whole number inside the output (and ox likewise) of
// w[co,ci,ky,kx] * dy[n,co,oy,ox].
extern "C" __global__ void conv_dx(const float* __restrict__ dy, const float* __restrict__ w,
                                   float* __restrict__ dx, int n, int cin, int cout, int h,
                                   int wd, int oh, int ow, int k, int s, int p) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int total = n * cin * h * wd;
    if (i >= total) return;
    int ix = i % wd;
    int iy = (i / wd) % h;
    int ci = (i / (wd * h)) % cin;
    int img = i / (wd * h * cin);
    float acc = 0.0f;
    for (int co = 0; co < cout; ++co) {
        const float* dp = dy + ((long long)img * cout + co) * oh * ow;
        const float* wp = w + ((long long)co * cin + ci) * k * k;
        for (int ky = 0; ky < k; ++ky) {
            int ty = iy + p - ky;
            if (ty < 0 || ty % s != 0) continue;
            int oy = ty / s;
            if (oy >= oh) continue;
            for (int kx = 0; kx < k; ++kx) {
                int tx = ix + p - kx;
                if (tx < 0 || tx % s != 0) continue;
                int ox = tx / s;
                if (ox >= ow) continue;
                acc += wp[ky * k + kx] * dp[oy * ow + ox];
            }
        }
    }
    dx[i] = acc;
}

// Weight and bias gradients of conv_fwd, first stage (as conv3x3_dwb_part): one partial
// sum per (gradient value j, image, output row oy), part[j * (n*oh) + img*oh + oy], over ox.
// j < cout*cin*k*k: the weights, then the cout biases. `reduce_rows_part` and
// `reduce_rows` finish.
extern "C" __global__ void conv_dwb_part(const float* __restrict__ x,
                                         const float* __restrict__ dy,
                                         float* __restrict__ part, int n, int cin, int cout,
                                         int h, int wd, int oh, int ow, int k, int s, int p) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int rows = n * oh;
    int kk = k * k;
    int nw = cout * cin * kk;
    int nj = nw + cout;
    int total = nj * rows;
    if (i >= total) return;
    int j = i % nj;
    int r = i / nj;
    int img = r / oh;
    int oy = r % oh;
    float acc = 0.0f;
    if (j < nw) {
        int kidx = j % kk;
        int ci = (j / kk) % cin;
        int co = j / (kk * cin);
        int ky = kidx / k;
        int kx = kidx % k;
        int iy = oy * s + ky - p;
        if (iy >= 0 && iy < h) {
            const float* dp = dy + (((long long)img * cout + co) * oh + oy) * ow;
            const float* xp = x + (((long long)img * cin + ci) * h + iy) * wd;
            for (int ox = 0; ox < ow; ++ox) {
                int ix = ox * s + kx - p;
                if (ix < 0 || ix >= wd) continue;
                acc += dp[ox] * xp[ix];
            }
        }
    } else {
        int co = j - nw;
        const float* dp = dy + (((long long)img * cout + co) * oh + oy) * ow;
        for (int ox = 0; ox < ow; ++ox) acc += dp[ox];
    }
    part[(long long)j * rows + r] = acc;
}
