// Adam, as src/nn/adam.rs and torch.optim.Adam (single-tensor path), one thread per value,
// over all parameters at once (they lie one after another). Scalars computed on the host:
//   w1 = 1 - beta1, b2 = beta2, w2 = 1 - beta2, step_size = lr / (1 - beta1^t),
//   bc2_sqrt = sqrt(1 - beta2^t); wd: weight decay (an L2 term added to the gradient, 0:
// none). Launched once per run of trainable tensors, so buffers are left alone.
extern "C" __global__ void adam_step(float* __restrict__ p, const float* __restrict__ g,
                                     float* __restrict__ m, float* __restrict__ v, int len,
                                     float w1, float b2, float w2, float eps, float step_size,
                                     float bc2_sqrt, float wd) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= len) return;
    float gv = g[i];
    if (wd != 0.0f) gv = gv + wd * p[i];
    float mv = m[i];
    float vv = v[i];
    mv = mv + w1 * (gv - mv);
    vv = vv * b2 + w2 * gv * gv;
    float denom = sqrtf(vv) / bc2_sqrt + eps;
    p[i] = p[i] + -step_size * (mv / denom);
    m[i] = mv;
    v[i] = vv;
}
