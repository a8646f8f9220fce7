// BatchNorm2d over n images of c maps of hw values (NCHW), as src/nn/layers.rs and the
// CPU backend. `st` holds four rows of c floats: mean, 1/sqrt(var + eps), then the
// backward pass's mean of dy and mean of dy * xhat. Sums over a channel are taken by one
// thread in a fixed order (image, then position), in double.

// Training: the batch mean and biased variance of each channel into st, and the running
// statistics updated (momentum mom; the variance times unbias = count / (count - 1)).
// Thread 0 also counts the batch in num_batches_tracked.
extern "C" __global__ void bn_train_stats(const float* __restrict__ x, float* __restrict__ rmean,
                                          float* __restrict__ rvar, float* __restrict__ nbt,
                                          float* __restrict__ st, int n, int c, int hw,
                                          float eps, float mom, float unbias) {
    int ci = blockIdx.x * blockDim.x + threadIdx.x;
    if (ci >= c) return;
    double count = (double)n * (double)hw;
    double sum = 0.0;
    for (int img = 0; img < n; ++img) {
        const float* p = x + ((long long)img * c + ci) * hw;
        for (int i = 0; i < hw; ++i) sum += (double)p[i];
    }
    float mean = (float)(sum / count);
    double m = (double)mean;
    double sq = 0.0;
    for (int img = 0; img < n; ++img) {
        const float* p = x + ((long long)img * c + ci) * hw;
        for (int i = 0; i < hw; ++i) {
            double d = (double)p[i] - m;
            sq += d * d;
        }
    }
    float var = (float)(sq / count);
    st[ci] = mean;
    st[c + ci] = 1.0f / sqrtf(var + eps);
    rmean[ci] = (1.0f - mom) * rmean[ci] + mom * mean;
    rvar[ci] = (1.0f - mom) * rvar[ci] + mom * var * unbias;
    if (ci == 0) nbt[0] = nbt[0] + 1.0f;
}

// Eval mode: the running statistics into st.
extern "C" __global__ void bn_eval_stats(const float* __restrict__ rmean,
                                         const float* __restrict__ rvar, float* __restrict__ st,
                                         int c, float eps) {
    int ci = blockIdx.x * blockDim.x + threadIdx.x;
    if (ci >= c) return;
    st[ci] = rmean[ci];
    st[c + ci] = 1.0f / sqrtf(rvar[ci] + eps);
}

// y = (x - mean) * inv_std * gamma + beta.
extern "C" __global__ void bn_apply(const float* __restrict__ x, const float* __restrict__ st,
                                    const float* __restrict__ gamma,
                                    const float* __restrict__ beta, float* __restrict__ y, int n,
                                    int c, int hw) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n * c * hw) return;
    int ci = (i / hw) % c;
    y[i] = (x[i] - st[ci]) * st[c + ci] * gamma[ci] + beta[ci];
}

// Per channel: the sums of dy (beta's gradient) and dy * xhat (gamma's), and their means
// over the n*hw values into st's last two rows.
extern "C" __global__ void bn_grad_sums(const float* __restrict__ dy,
                                        const float* __restrict__ x, float* __restrict__ st,
                                        float* __restrict__ dgamma, float* __restrict__ dbeta,
                                        int n, int c, int hw) {
    int ci = blockIdx.x * blockDim.x + threadIdx.x;
    if (ci >= c) return;
    float m = st[ci];
    float is = st[c + ci];
    double s = 0.0, sx = 0.0;
    for (int img = 0; img < n; ++img) {
        long long at = ((long long)img * c + ci) * hw;
        for (int i = 0; i < hw; ++i) {
            double g = (double)dy[at + i];
            s += g;
            sx += g * (double)((x[at + i] - m) * is);
        }
    }
    double count = (double)n * (double)hw;
    dbeta[ci] = (float)s;
    dgamma[ci] = (float)sx;
    st[2 * c + ci] = (float)(s / count);
    st[3 * c + ci] = (float)(sx / count);
}

// Input gradient. Training (batch statistics): dx = gamma * inv_std * (dy - mean(dy) -
// xhat * mean(dy * xhat)); eval (fixed statistics): dx = dy * gamma * inv_std.
extern "C" __global__ void bn_bwd(const float* __restrict__ dy, const float* __restrict__ x,
                                  const float* __restrict__ st, const float* __restrict__ gamma,
                                  float* __restrict__ dx, int n, int c, int hw, int train) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n * c * hw) return;
    int ci = (i / hw) % c;
    float is = st[c + ci];
    float k = gamma[ci] * is;
    if (train) {
        float xhat = (x[i] - st[ci]) * is;
        dx[i] = k * (dy[i] - st[2 * c + ci] - xhat * st[3 * c + ci]);
    } else {
        dx[i] = dy[i] * k;
    }
}
