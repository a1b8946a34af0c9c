/*
 * The element-wise kernels of elementwise.h for one instruction set: native/gpla_blas.c includes this file once per
 * target (under #pragma GCC target) with EW(name) naming that copy, as it does gemm_kernel.h, so that a switch
 * (GPLA_NATIVE_ISA, setIsa) can run any copy the CPU supports; target_clones would let only the dynamic loader choose.
 * Plain loops that the compiler vectorises for the target's width.
 */
static void EW(binary)(int op, const float *a, int ak, const float *b, int bk, float *out, int64_t R, int64_t C) {
  switch (op) {
    case EW_ADD: EW_LOOPS(x + y) break;
    case EW_SUB: EW_LOOPS(x - y) break;
    case EW_MUL: EW_LOOPS(x * y) break;
    default: EW_LOOPS(x / y) break;
  }
}

/* AdamW, the arithmetic of src/backend/optimizer-kernels.ts's update (float64 per element, float32 storage). */
static void EW(adamw)(const float *restrict p, const float *restrict m, const float *restrict v, const float *restrict g,
                     float *restrict po, float *restrict mo, float *restrict vo, /* outputs are fresh tensors */
                     int64_t n, double lr, double beta1, double beta2, double eps, double bc1, double bc2, double decay,
                     double gradScale) {
  const double c1 = 1 - beta1, c2 = 1 - beta2;
  for (int64_t i = 0; i < n; i++) {
    const double gi = (double)g[i] * gradScale;
    const double mi = beta1 * m[i] + c1 * gi;
    const double vi = beta2 * v[i] + c2 * gi * gi;
    mo[i] = (float)mi;
    vo[i] = (float)vi;
    po[i] = (float)(p[i] - lr * ((mi / bc1) / (__builtin_sqrt(vi / bc2) + eps)) - decay * p[i]);
  }
}

/* e^x for float32, Cephes's expf (range reduction by ln 2 in two parts, degree-6 polynomial; ~1 ulp on [-87, 88]),
 * written so the compiler vectorises it (no libm call). */
static inline float EW(exp)(float x) {
  x = x < -87.3f ? -87.3f : x > 88.3f ? 88.3f : x;
  /* round to nearest by the 1.5·2^23 trick: a floorf call would stop the vectoriser on the baseline target */
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { int32_t i; float f; } scale = {.i = ((int32_t)n + 127) << 23};
  return p * scale.f;
}

/* GELU, tanh approximation written as x·σ(2z) (src/nn/layers.ts): forward y = x·s, backward
 * dx = dy·(s + x·s·(1 − s)·(K + 3cK·x²)), s = σ(x·(K + cK·x²)), K = 2√(2/π), c = 0.044715. */
static void EW(gelu)(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float xi = x[i], u = xi * xi;
    const float s = 1.0f / (1.0f + EW(exp)(-xi * (u * (GELU_K * GELU_C) + GELU_K)));
    y[i] = xi * s;
  }
}

static void EW(gelu_grad)(const float *x, const float *dy, float *dx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float xi = x[i], u = xi * xi;
    const float s = 1.0f / (1.0f + EW(exp)(-xi * (u * (GELU_K * GELU_C) + GELU_K)));
    dx[i] = dy[i] * (xi * (s * (1.0f - s)) * (u * (3 * GELU_K * GELU_C) + GELU_K) + s);
  }
}

/* Row sums with 16 float partial sums (one vector register on AVX-512; the compiler vectorises this form without
 * reassociating anything), the partials then added in double. */
static inline double EW(sum_partials)(const float *acc) {
  double s = 0;
  for (int l = 0; l < EW_LANES; l++) s += acc[l];
  return s;
}

/* LayerNorm (rms = 0) and RMSNorm (rms = 1) over rows of D values, src/nn/norms.ts's formulas.
 * Forward: xhat = (x − μ)·r (μ = 0 for RMS), r = 1/√(var + eps) (var = mean(x²) for RMS), y = xhat·g (+ b). */
static void EW(norm_forward)(const float *restrict x, const float *restrict g, const float *restrict b, float *restrict y,
                            float *restrict xhat, float *restrict r, int64_t rows, int64_t D, double eps, int rms) {
  for (int64_t i = 0; i < rows; i++) {
    const float *xi = x + i * D;
    float acc[EW_LANES] = {0};
    double mean = 0, var = 0;
    if (!rms) {
      int64_t j = 0;
      for (; j + EW_LANES <= D; j += EW_LANES)
        for (int l = 0; l < EW_LANES; l++) acc[l] += xi[j + l];
      for (; j < D; j++) acc[0] += xi[j];
      mean = EW(sum_partials)(acc) / (double)D;
    }
    const float mf = (float)mean;
    float sq[EW_LANES] = {0};
    int64_t j = 0;
    for (; j + EW_LANES <= D; j += EW_LANES)
      for (int l = 0; l < EW_LANES; l++) {
        const float d = xi[j + l] - mf;
        sq[l] += d * d;
      }
    for (; j < D; j++) sq[0] += (xi[j] - mf) * (xi[j] - mf);
    var = EW(sum_partials)(sq) / (double)D;
    const float ri = (float)(1.0 / __builtin_sqrt((double)(float)var + eps));
    const float mu = (float)mean;
    r[i] = ri;
    float *yi = y + i * D, *hi = xhat + i * D;
    for (int64_t j = 0; j < D; j++) {
      const float h = (xi[j] - mu) * ri;
      hi[j] = h;
      yi[j] = b ? h * g[j] + b[j] : h * g[j];
    }
  }
}

/* Backward: dxhat = dy·g, dx = r·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)) (no mean(dxhat) for RMS),
 * dg = Σrows dy·xhat, db = Σrows dy (db may be NULL). */
static void EW(norm_backward)(const float *restrict dy, const float *restrict xhat, const float *restrict r,
                             const float *restrict g, float *restrict dx, float *restrict dg, float *restrict db,
                             int64_t rows, int64_t D, int rms) {
  for (int64_t j = 0; j < D; j++) {
    dg[j] = 0;
    if (db) db[j] = 0;
  }
  for (int64_t i = 0; i < rows; i++) {
    const float *dyi = dy + i * D, *hi = xhat + i * D;
    float p1[EW_LANES] = {0}, p2[EW_LANES] = {0};
    int64_t j = 0;
    for (; j + EW_LANES <= D; j += EW_LANES)
      for (int l = 0; l < EW_LANES; l++) {
        const float d = dyi[j + l] * g[j + l];
        p1[l] += d;
        p2[l] += d * hi[j + l];
      }
    for (; j < D; j++) {
      p1[0] += dyi[j] * g[j];
      p2[0] += dyi[j] * g[j] * hi[j];
    }
    const double m1 = EW(sum_partials)(p1), m2 = EW(sum_partials)(p2);
    const float a = rms ? 0.0f : (float)(m1 / (double)D), c = (float)(m2 / (double)D), ri = r[i];
    float *dxi = dx + i * D;
    for (int64_t j = 0; j < D; j++) {
      dxi[j] = ri * (dyi[j] * g[j] - a - hi[j] * c);
      dg[j] += dyi[j] * hi[j];
    }
    if (db)
      for (int64_t j = 0; j < D; j++) db[j] += dyi[j];
  }
}
