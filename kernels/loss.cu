// Logits (from fc_fwd_part's partial sums plus the bias), log-softmax, and with targets
// the NLL loss, its gradient and whether the prediction was right. One thread per image.
//   logp[img,j]  = logit - (log(sum exp(logit - max)) + max)
//   loss[img]    = -logp[img, target]
//   right[img]   = 1 when the first largest logp is the target, else 0
//   dl[img,j]    = (exp(logp[img,j]) - [j == target]) * inv_n
extern "C" __global__ void log_softmax_nll(const float* __restrict__ part,
                                           const float* __restrict__ bias,
                                           const int* __restrict__ target,
                                           float* __restrict__ logp, float* __restrict__ dl,
                                           float* __restrict__ loss, float* __restrict__ right,
                                           int n, int k, int chunks, int with_targets,
                                           float inv_n) {
    int img = blockIdx.x * blockDim.x + threadIdx.x;
    if (img >= n) return;
    float* lp = logp + img * k;
    float m = 0.0f;
    for (int j = 0; j < k; ++j) {
        const float* p = part + ((long long)img * k + j) * chunks;
        float acc = 0.0f;
        for (int c = 0; c < chunks; ++c) acc += p[c];
        float v = acc + bias[j];
        lp[j] = v;
        m = j == 0 ? v : fmaxf(m, v);
    }
    float s = 0.0f;
    for (int j = 0; j < k; ++j) s += expf(lp[j] - m);
    float lse = logf(s) + m;
    int best = 0;
    for (int j = 0; j < k; ++j) {
        lp[j] = lp[j] - lse;
        if (lp[j] > lp[best]) best = j;
    }
    if (!with_targets) return;
    int t = target[img];
    loss[img] = -lp[t];
    right[img] = best == t ? 1.0f : 0.0f;
    for (int j = 0; j < k; ++j) {
        float onehot = j == t ? 1.0f : 0.0f;
        dl[img * k + j] = (expf(lp[j]) - onehot) * inv_n;
    }
}

// stats[0] = sum of loss (in double), stats[1] = number right. One thread.
extern "C" __global__ void batch_stats(const float* __restrict__ loss,
                                       const float* __restrict__ right, float* __restrict__ stats,
                                       int n) {
    if (blockIdx.x * blockDim.x + threadIdx.x != 0) return;
    double l = 0.0;
    float r = 0.0f;
    for (int i = 0; i < n; ++i) {
        l += (double)loss[i];
        r += right[i];
    }
    stats[0] = (float)l;
    stats[1] = r;
}
