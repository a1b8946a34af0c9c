/*
 * The built-in single-precision product, one instantiation per instruction set (gpla_gemm.c includes this file once
 * per target with GEMM_NAME and VW set). Row-major C = op(A)·op(B) + beta·C, the layout of BLIS / GotoBLAS: B is packed
 * in KC×NR column panels, A in MR×KC row panels, and an MR×NR micro-kernel keeps its block of C in vector registers
 * (2·MR accumulators of VW floats) while it walks K with one broadcast and two vector FMAs per row.
 *
 * Expects: GEMM_NAME (function name), VW (floats per vector register), MR (rows per micro-kernel).
 */
#define NR (2 * VW)
#define KC 256
#define MC (MR * 16)
#define NC 512

#define GEMM_CAT2(a, b) a##b
#define GEMM_CAT(a, b) GEMM_CAT2(a, b)
#define VF GEMM_CAT(GEMM_NAME, _vf)
#define PACK_A GEMM_CAT(GEMM_NAME, _pack_a)
#define PACK_B GEMM_CAT(GEMM_NAME, _pack_b)
#define MICRO GEMM_CAT(GEMM_NAME, _micro)
#define BUF_A GEMM_CAT(GEMM_NAME, _buf_a)
#define BUF_B GEMM_CAT(GEMM_NAME, _buf_b)

typedef float VF __attribute__((vector_size(VW * 4), aligned(4)));

/* Packing buffers per thread (Node worker threads may call the addon at once). */
static __thread float *BUF_A = NULL;
static __thread float *BUF_B = NULL;

/* A[i0:i0+mc, p0:p0+kc] → MR-row panels, k-major inside a panel, zero rows past mc. */
static void PACK_A(const float *A, int lda, int transA, int i0, int p0, int mc, int kc, float *dst) {
  for (int ir = 0; ir < mc; ir += MR) {
    const int mr = mc - ir < MR ? mc - ir : MR;
    for (int k = 0; k < kc; k++) {
      float *d = dst + (size_t)ir * kc + (size_t)k * MR;
      if (transA) {
        const float *s = A + (size_t)(p0 + k) * lda + i0 + ir;
        for (int i = 0; i < mr; i++) d[i] = s[i];
      } else {
        const float *s = A + (size_t)(i0 + ir) * lda + p0 + k;
        for (int i = 0; i < mr; i++) d[i] = s[(size_t)i * lda];
      }
      for (int i = mr; i < MR; i++) d[i] = 0.0f;
    }
  }
}

/* B[p0:p0+kc, j0:j0+nc] → NR-column panels, k-major inside a panel, zero columns past nc. */
static void PACK_B(const float *B, int ldb, int transB, int p0, int j0, int kc, int nc, float *dst) {
  for (int jr = 0; jr < nc; jr += NR) {
    const int nr = nc - jr < NR ? nc - jr : NR;
    float *panel = dst + (size_t)jr * kc;
    if (transB) {
      for (int j = 0; j < nr; j++) {
        const float *s = B + (size_t)(j0 + jr + j) * ldb + p0;
        for (int k = 0; k < kc; k++) panel[(size_t)k * NR + j] = s[k];
      }
      for (int j = nr; j < NR; j++)
        for (int k = 0; k < kc; k++) panel[(size_t)k * NR + j] = 0.0f;
    } else {
      for (int k = 0; k < kc; k++) {
        const float *s = B + (size_t)(p0 + k) * ldb + j0 + jr;
        float *d = panel + (size_t)k * NR;
        memcpy(d, s, (size_t)nr * sizeof(float));
        for (int j = nr; j < NR; j++) d[j] = 0.0f;
      }
    }
  }
}

/* C[0:mr, 0:nr] (row stride ldc) = (accumulate ? C : 0) + Apanel·Bpanel over kc.
 * Loads and stores go through VF pointers, never memcpy: GCC expands a 32-byte memcpy as two 16-byte moves, and when
 * the accumulators' addresses are taken (as a memcpy from them does) it keeps them on the stack, so the AVX2 loop
 * stored two halves and reloaded the whole vector each k (a store-forwarding stall; measured 4–17 GFLOP/s). */
static void MICRO(int kc, const float *restrict a, const float *restrict b, float *c, int ldc, int mr, int nr, int accumulate) {
  VF acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = (VF){0};
  for (int k = 0; k < kc; k++) {
    const VF b0 = *(const VF *)(b + (size_t)k * NR);
    const VF b1 = *(const VF *)(b + (size_t)k * NR + VW);
    const float *ak = a + (size_t)k * MR;
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      /* vector × scalar broadcasts; from memory it folds into the FMA ({1to16}) instead of a shuffle-port uop */
      acc0[i] += ak[i] * b0;
      acc1[i] += ak[i] * b1;
    }
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      VF *ci = (VF *)(c + (size_t)i * ldc);
      if (accumulate) {
        ci[0] += acc0[i];
        ci[1] += acc1[i];
      } else {
        ci[0] = acc0[i];
        ci[1] = acc1[i];
      }
    }
  } else {
    float tile[MR * NR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      *(VF *)(tile + i * NR) = acc0[i];
      *(VF *)(tile + i * NR + VW) = acc1[i];
    }
    for (int i = 0; i < mr; i++)
      for (int j = 0; j < nr; j++) c[(size_t)i * ldc + j] = (accumulate ? c[(size_t)i * ldc + j] : 0.0f) + tile[i * NR + j];
  }
}

/* Few rows (a row of ones summing a tensor's leading axes, a one-row product) and B not transposed: row-axpys straight
 * from B, since packing for an MR-row tile would waste MR − M of every MR rows of work. */
static void GEMM_CAT(GEMM_NAME, _few_rows)(int transA, int M, int N, int K, const float *A, int lda, const float *B,
                                           int ldb, float beta, float *C, int ldc) {
  for (int i = 0; i < M; i++) {
    float *restrict c = C + (size_t)i * ldc;
    if (beta == 0.0f)
      for (int j = 0; j < N; j++) c[j] = 0.0f;
    else if (beta != 1.0f)
      for (int j = 0; j < N; j++) c[j] *= beta;
    for (int k = 0; k < K; k++) {
      const float a = transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
      const float *restrict b = B + (size_t)k * ldb;
      for (int j = 0; j < N; j++) c[j] += a * b[j];
    }
  }
}

/* Returns 0, or -1 when the packing buffers cannot be allocated. */
static int GEMM_NAME(int transA, int transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                     float beta, float *C, int ldc) {
  if (M <= 4 && !transB) {
    GEMM_CAT(GEMM_NAME, _few_rows)(transA, M, N, K, A, lda, B, ldb, beta, C, ldc);
    return 0;
  }
  if (!BUF_A) BUF_A = aligned_alloc(64, sizeof(float) * MC * KC);
  if (!BUF_B) BUF_B = aligned_alloc(64, sizeof(float) * KC * (NC + NR));
  if (!BUF_A || !BUF_B) return -1;
  if (beta != 0.0f && beta != 1.0f)
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] *= beta;
  for (int j0 = 0; j0 < N; j0 += NC) {
    const int nc = N - j0 < NC ? N - j0 : NC;
    for (int p0 = 0; p0 < K; p0 += KC) {
      const int kc = K - p0 < KC ? K - p0 : KC;
      /* beta = 0 must not read C (it may hold anything, NaN included): the first K block overwrites. */
      const int accumulate = p0 > 0 || beta != 0.0f;
      PACK_B(B, ldb, transB, p0, j0, kc, nc, BUF_B);
      for (int i0 = 0; i0 < M; i0 += MC) {
        const int mc = M - i0 < MC ? M - i0 : MC;
        PACK_A(A, lda, transA, i0, p0, mc, kc, BUF_A);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = mc - ir < MR ? mc - ir : MR;
            MICRO(kc, BUF_A + (size_t)ir * kc, BUF_B + (size_t)jr * kc, C + (size_t)(i0 + ir) * ldc + j0 + jr, ldc, mr, nr,
                  accumulate);
          }
        }
      }
    }
  }
  return 0;
}

#undef NR
#undef KC
#undef MC
#undef NC
#undef VF
#undef PACK_A
#undef PACK_B
#undef MICRO
#undef BUF_A
#undef BUF_B
