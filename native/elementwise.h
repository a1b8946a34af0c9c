/*
 * Element-wise kernels of the addon, on the wasm heap like the products: broadcasting binary operations, the fused
 * AdamW update, GELU, LayerNorm / RMSNorm and Transpose. The vectorised ones are in elementwise_isa.h, compiled once
 * per instruction set (AVX-512, AVX2, baseline on x86-64 GCC) and reached through `ew`, the table of the copy in use
 * (gpla_blas.c picks the widest the CPU runs, or the one GPLA_NATIVE_ISA / setIsa asks for).
 *
 * Broadcasting is reduced to rows × cols: each operand is FULL (R·C values), ROW (C values, the same for every row),
 * COL (R values, one per row) or SCALAR (1 value). The TypeScript side maps tfjs's shapes onto this or falls back.
 */
enum { EW_FULL = 0, EW_ROW = 1, EW_COL = 2, EW_SCALAR = 3 };
enum { EW_ADD = 0, EW_SUB = 1, EW_MUL = 2, EW_DIV = 3 };

#define EW_LOOPS(EXPR)                                                                                                 \
  for (int64_t r = 0; r < R; r++) {                                                                                    \
    float *restrict o = out + r * C;                                                                                   \
    const float *restrict av = ak == EW_FULL ? a + r * C : a;                                                          \
    const float *restrict bv = bk == EW_FULL ? b + r * C : b;                                                          \
    if (ak == EW_FULL || ak == EW_ROW) {                                                                               \
      if (bk == EW_FULL || bk == EW_ROW) {                                                                             \
        for (int64_t j = 0; j < C; j++) { const float x = av[j], y = bv[j]; o[j] = (EXPR); }                          \
      } else {                                                                                                         \
        const float y = bk == EW_COL ? b[r] : b[0];                                                                    \
        for (int64_t j = 0; j < C; j++) { const float x = av[j]; o[j] = (EXPR); }                                     \
      }                                                                                                                \
    } else {                                                                                                           \
      const float x = ak == EW_COL ? a[r] : a[0];                                                                      \
      if (bk == EW_FULL || bk == EW_ROW) {                                                                             \
        for (int64_t j = 0; j < C; j++) { const float y = bv[j]; o[j] = (EXPR); }                                     \
      } else {                                                                                                         \
        const float y = bk == EW_COL ? b[r] : b[0];                                                                    \
        for (int64_t j = 0; j < C; j++) o[j] = (EXPR);                                                                 \
      }                                                                                                                \
    }                                                                                                                  \
  }

/* GELU, tanh approximation written as x·σ(2z) (src/nn/layers.ts): K = 2√(2/π), c = 0.044715. */
#define GELU_K 1.5957691216057308f
#define GELU_C 0.044715f
/* Row sums use EW_LANES float partial sums (one vector register on AVX-512), added in double at the end. */
#define EW_LANES 16

/* One copy of the vectorised kernels. */
struct ew_ops {
  void (*binary)(int op, const float *a, int ak, const float *b, int bk, float *out, int64_t R, int64_t C);
  void (*adamw)(const float *p, const float *m, const float *v, const float *g, float *po, float *mo, float *vo, int64_t n,
                double lr, double beta1, double beta2, double eps, double bc1, double bc2, double decay, double gradScale);
  void (*gelu)(const float *x, float *y, int64_t n);
  void (*gelu_grad)(const float *x, const float *dy, float *dx, int64_t n);
  void (*norm_forward)(const float *x, const float *g, const float *b, float *y, float *xhat, float *r, int64_t rows,
                       int64_t D, double eps, int rms);
  void (*norm_backward)(const float *dy, const float *xhat, const float *r, const float *g, float *dx, float *dg, float *db,
                        int64_t rows, int64_t D, int rms);
};

#define EW_OPS(S) {EW_CAT(ew_binary, S), EW_CAT(ew_adamw, S), EW_CAT(ew_gelu, S), EW_CAT(ew_gelu_grad, S), \
                   EW_CAT(ew_norm_forward, S), EW_CAT(ew_norm_backward, S)}
#define EW_CAT2(a, b) a##_##b
#define EW_CAT(a, b) EW_CAT2(a, b)

/* out = x transposed by perm (rank ≤ 8, 4-byte elements): the trailing axes that stay in place are one contiguous
 * block copied with memcpy; an odometer walks the output's other axes. */
static void ew_transpose(const float *x, float *out, int rank, const int64_t *shape, const int64_t *perm, int part,
                         int parts) {
  int64_t in_stride[8], dims[8], src_stride[8];
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    in_stride[i] = s;
    s *= shape[i];
  }
  const int64_t total = s;
  if (total == 0) return;
  int keep = rank; /* axes keep..rank-1 stay in place */
  while (keep > 0 && perm[keep - 1] == keep - 1) keep--;
  int64_t inner = 1;
  for (int i = keep; i < rank; i++) inner *= shape[i];
  for (int i = 0; i < keep; i++) {
    dims[i] = shape[perm[i]];
    src_stride[i] = in_stride[perm[i]];
  }
  /* this part's range of output blocks; the odometer starts at the first one */
  int64_t blo, bhi;
  pool_split(total / inner, part, parts, 1, &blo, &bhi);
  int64_t idx[8] = {0};
  int64_t src = 0;
  int64_t q = blo;
  for (int i = keep - 1; i >= 0; i--) {
    idx[i] = q % dims[i];
    q /= dims[i];
    src += idx[i] * src_stride[i];
  }
  for (int64_t o = blo * inner; o < bhi * inner; o += inner) {
    if (inner == 1) out[o] = x[src];
    else memcpy(out + o, x + src, (size_t)inner * sizeof(float));
    for (int i = keep - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) {
        src += src_stride[i];
        break;
      }
      src -= (dims[i] - 1) * src_stride[i];
      idx[i] = 0;
    }
  }
}

