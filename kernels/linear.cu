// The fully connected layer, logits = act . W^T + b, act [n, f], W [k, f].

// Forward, first stage: part[(img*k + j)*chunks + c] = sum over i = c, c+chunks, ... < f of
// act[img,i] * W[j,i]. Neighbouring threads read neighbouring values. The loss kernel
// adds the chunks and the bias.
extern "C" __global__ void fc_fwd_part(const float* __restrict__ act,
                                       const float* __restrict__ w, float* __restrict__ part,
                                       int n, int k, int f, int chunks) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    int total = n * k * chunks;
    if (t >= total) return;
    int c = t % chunks;
    int j = (t / chunks) % k;
    int img = t / (chunks * k);
    const float* a = act + (long long)img * f;
    const float* wr = w + (long long)j * f;
    float acc = 0.0f;
    for (int i = c; i < f; i += chunks) acc += a[i] * wr[i];
    part[t] = acc;
}

// Weight and bias gradients (the weight then the bias, one after the other in g):
//   g[j*f + i] = sum_img dl[img,j] * act[img,i];   g[k*f + j] = sum_img dl[img,j]
extern "C" __global__ void fc_bwd_wb(const float* __restrict__ dl, const float* __restrict__ act,
                                     float* __restrict__ g, int n, int k, int f) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    int total = k * f + k;
    if (t >= total) return;
    float acc = 0.0f;
    if (t < k * f) {
        int j = t / f;
        int i = t % f;
        for (int img = 0; img < n; ++img) acc += dl[img * k + j] * act[(long long)img * f + i];
    } else {
        int j = t - k * f;
        for (int img = 0; img < n; ++img) acc += dl[img * k + j];
    }
    g[t] = acc;
}

// Input gradient through the fc layer, the elementwise dropout, the ReLU and dropout2d
// (see act.cu), f = c*hw:  d = sum_j dl[img,j] * W[j,i], then
//   masked:  d3 = z > 0 ? d * el * ch : 0      eval: d3 = z > 0 ? d : 0
extern "C" __global__ void fc_bwd_x(const float* __restrict__ dl, const float* __restrict__ w,
                                    const float* __restrict__ z, const float* __restrict__ ch,
                                    const float* __restrict__ el, float* __restrict__ d3, int n,
                                    int k, int c, int hw, int masked) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    int f = c * hw;
    int total = n * f;
    if (t >= total) return;
    int img = t / f;
    int i = t % f;
    float d = 0.0f;
    for (int j = 0; j < k; ++j) d += dl[img * k + j] * w[(long long)j * f + i];
    float out = 0.0f;
    if (z[t] > 0.0f) out = masked ? d * el[t] * ch[t / hw] : d;
    d3[t] = out;
}

// A hidden linear layer's output from fc_fwd_part's partial sums: y[t] = sum of the
// chunks of t, plus the bias of its output j = t % k.
extern "C" __global__ void linear_bias(const float* __restrict__ part,
                                       const float* __restrict__ b, float* __restrict__ y,
                                       int n, int k, int chunks) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n * k) return;
    const float* p = part + (long long)t * chunks;
    float acc = 0.0f;
    for (int c = 0; c < chunks; ++c) acc += p[c];
    y[t] = acc + b[t % k];
}

// Input gradient of any linear layer: dx[img,i] = sum_j dy[img,j] * W[j,i].
extern "C" __global__ void linear_bwd_x(const float* __restrict__ dy,
                                        const float* __restrict__ w, float* __restrict__ dx,
                                        int n, int k, int f) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n * f) return;
    int img = t / f;
    int i = t % f;
    float d = 0.0f;
    for (int j = 0; j < k; ++j) d += dy[img * k + j] * w[(long long)j * f + i];
    dx[t] = d;
}
