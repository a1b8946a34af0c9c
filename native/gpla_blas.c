/*
 * gpla_blas: an optional N-API addon that runs single-precision matrix products directly on the tfjs wasm backend's
 * heap (a WebAssembly.Memory's ArrayBuffer), so no tensor is copied in or out: with the system's OpenBLAS when it
 * loads, else with the built-in kernel of gemm_kernel.h (compiled here for AVX-512, AVX2 and the baseline, the widest
 * one this CPU runs picked at load time), so a plain install with a C compiler has native products too.
 *
 * Why dlopen instead of linking: the addon then builds with nothing but a C compiler and Node's headers, and a
 * machine without OpenBLAS loads it fine and reports why the fast path is off (load() throws with the reason) instead
 * of failing to load at all.
 *
 * API (all offsets are BYTE offsets into `heap`, all strides are in floats):
 *   load(candidates: string[]) -> { library, threads, coretype, isa }   (throws, with each candidate's error, when none loads)
 *   useBuiltin() -> { library: "built-in", threads: 1, coretype }   (the built-in kernel; coretype names its ISA)
 *   setIsa(name)    "avx512" | "avx2" | "baseline" | "auto": the built-in code paths (the product kernel and the
 *                   element-wise kernels) to run; throws when the CPU cannot run them (GPLA_NATIVE_ISA in native-blas.ts)
 *   setThreads(n)   2 or more turns on the helper thread of thread_pool.h, which splits products (OpenBLAS itself is
 *                   kept at one thread) and the element-wise kernels
 *   sgemm(heap, transA, transB, M, N, K, aOff, bOff, cOff, batch, strideA, strideB, strideC, beta)
 *     C_i = op(A_i)·op(B_i) + beta·C_i for i < batch, row-major; op(A_i) is M×K, op(B_i) is K×N, C_i is M×N.
 *     A stride of 0 broadcasts that operand over the batch.
 *   binary(heap, op, aOff, aKind, bOff, bKind, outOff, R, C)
 *     out[r, c] = a ∘ b for an R×C output, op 0 add, 1 sub, 2 mul, 3 div; kinds as in elementwise.h.
 *   adamw(heap, pOff, mOff, vOff, gOff, pOutOff, mOutOff, vOutOff, n, lr, beta1, beta2, eps, bc1, bc2, decay, gradScale)
 *     the fused AdamW update of src/backend/optimizer-kernels.ts.
 *   transpose(heap, xOff, outOff, shape: number[], perm: number[])   (4-byte elements, rank ≤ 8)
 *   normForward(heap, xOff, gOff, bOff | -1, yOff, xhatOff, rOff, rows, D, eps, rms)
 *   normBackward(heap, dyOff, xhatOff, rOff, gOff, dxOff, dgOff, dbOff | -1, rows, D, rms)
 *     LayerNorm (rms false) / RMSNorm (rms true) over rows of D, as in elementwise.h; -1 = no bias.
 *   gelu(heap, xOff, dyOff, outOff, n, backward)
 *     out = gelu(x), or with backward = true out = dy·gelu'(x) (dyOff is ignored going forward).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sgemm_fn)(int order, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_corename_fn)(void);

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

static sgemm_fn cblas_sgemm_ptr = NULL;
static set_threads_fn set_threads_ptr = NULL;
static get_threads_fn get_threads_ptr = NULL;
static get_corename_fn get_corename_ptr = NULL;
static char loaded_library[512] = "";

/* ---- the built-in kernel, one copy per instruction set */
typedef int (*gemm_fn)(int transA, int transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                       float beta, float *C, int ldc);
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,fma")
#define GEMM_NAME gemm_avx512
#define VW 16
#define MR 14 /* 28 accumulators + 2 B vectors + 1 broadcast of the 32 zmm registers */
#include "gemm_kernel.h"
#undef GEMM_NAME
#undef VW
#undef MR
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define GEMM_NAME gemm_avx2
#define VW 8
#define MR 6 /* 12 accumulators + 2 + 1 of the 16 ymm registers */
#include "gemm_kernel.h"
#undef GEMM_NAME
#undef VW
#undef MR
#pragma GCC pop_options
#define HAVE_X86_VARIANTS 1
#endif
#define GEMM_NAME gemm_baseline
#define VW 4
#define MR 6
#include "gemm_kernel.h"
#undef GEMM_NAME
#undef VW
#undef MR

#include "thread_pool.h"
#include "elementwise.h"

/* ---- the element-wise kernels, one copy per instruction set like the product (elementwise_isa.h) */
#ifdef HAVE_X86_VARIANTS
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#define EW(n) EW_CAT(ew_##n, avx512)
#include "elementwise_isa.h"
#undef EW
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#define EW(n) EW_CAT(ew_##n, avx2)
#include "elementwise_isa.h"
#undef EW
#pragma GCC pop_options
#endif
#define EW(n) EW_CAT(ew_##n, baseline)
#include "elementwise_isa.h"
#undef EW

/* The instruction sets of the built-in code paths, widest first: a product kernel and an element-wise table each. */
enum { ISA_AVX512 = 0, ISA_AVX2 = 1, ISA_BASELINE = 2, ISA_COUNT = 3 };
static const char *const isa_keys[ISA_COUNT] = {"avx512", "avx2", "baseline"};
static const char *const isa_names[ISA_COUNT] = {"AVX-512", "AVX2", "baseline (4-wide)"};
static const struct ew_ops ew_tables[ISA_COUNT] = {
#ifdef HAVE_X86_VARIANTS
    EW_OPS(avx512), EW_OPS(avx2),
#else
    EW_OPS(baseline), EW_OPS(baseline),
#endif
    EW_OPS(baseline)};

static gemm_fn builtin_gemm = NULL;
static const char *builtin_isa = "";
static int isa_in_use = -1;
static const struct ew_ops *ew = &ew_tables[ISA_BASELINE];

/* Whether this CPU (and this build) can run the code path `isa`. */
static int isa_supported(int isa) {
  if (isa == ISA_BASELINE) return 1;
#ifdef HAVE_X86_VARIANTS
  __builtin_cpu_init();
  /* x86-64-v4 / v3 as GCC defines them (the element-wise copies are compiled for exactly those) */
  const int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
                 __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("lzcnt") &&
                 __builtin_cpu_supports("movbe");
  if (isa == ISA_AVX2) return v3;
  if (isa == ISA_AVX512)
    return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512cd");
#endif
  return 0;
}

static void use_isa(int isa) {
  static const gemm_fn gemms[ISA_COUNT] = {
#ifdef HAVE_X86_VARIANTS
      gemm_avx512, gemm_avx2,
#else
      gemm_baseline, gemm_baseline,
#endif
      gemm_baseline};
  isa_in_use = isa;
  builtin_gemm = gemms[isa];
  builtin_isa = isa_names[isa];
  ew = &ew_tables[isa];
}

/* The widest code path this CPU runs (the default, unless setIsa asked for another). */
static void pick_builtin(void) {
  if (isa_in_use >= 0) return;
  for (int i = 0; i < ISA_COUNT; i++)
    if (isa_supported(i)) {
      use_isa(i);
      return;
    }
}

#define CHECK(env, call)                                                                                               \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      napi_throw_error((env), NULL, "gpla_blas: N-API call failed: " #call);                                          \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

static napi_value make_info(napi_env env) {
  napi_value obj, lib, threads, core, isa;
  CHECK(env, napi_create_object(env, &obj));
  CHECK(env, napi_create_string_utf8(env, loaded_library, NAPI_AUTO_LENGTH, &lib));
  CHECK(env, napi_create_int32(env, pool_threads, &threads));
  const char *corename = cblas_sgemm_ptr ? (get_corename_ptr ? get_corename_ptr() : "unknown") : builtin_isa;
  CHECK(env, napi_create_string_utf8(env, corename ? corename : "unknown", NAPI_AUTO_LENGTH, &core));
  CHECK(env, napi_set_named_property(env, obj, "library", lib));
  CHECK(env, napi_set_named_property(env, obj, "threads", threads));
  CHECK(env, napi_set_named_property(env, obj, "coretype", core));
  CHECK(env, napi_create_string_utf8(env, isa_keys[isa_in_use], NAPI_AUTO_LENGTH, &isa));
  CHECK(env, napi_set_named_property(env, obj, "isa", isa));
  return obj;
}

/* load(candidates): dlopen the first library that has cblas_sgemm. */
static napi_value load(napi_env env, napi_callback_info info) {
  if (cblas_sgemm_ptr) return make_info(env);
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "gpla_blas.load: expected an array of library names");
    return NULL;
  }
  /* OpenBLAS picks its AVX2 kernels on CPUs it does not know (e.g. Zen 5) even when AVX-512 is there; its
   * SkylakeX kernels are faster on them. Only where the CPU has AVX-512 and the user did not choose. */
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (!getenv("OPENBLAS_CORETYPE") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
  }
#endif
  uint32_t n = 0;
  CHECK(env, napi_get_array_length(env, argv[0], &n));
  char reasons[2048] = "";
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    char name[512];
    size_t len = 0;
    CHECK(env, napi_get_element(env, argv[0], i, &item));
    if (napi_get_value_string_utf8(env, item, name, sizeof name, &len) != napi_ok) continue;
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char *e = dlerror();
      size_t used = strlen(reasons);
      snprintf(reasons + used, sizeof reasons - used, "%s%s", used ? "; " : "", e ? e : name);
      continue;
    }
    sgemm_fn f = (sgemm_fn)dlsym(h, "cblas_sgemm");
    if (!f) {
      size_t used = strlen(reasons);
      snprintf(reasons + used, sizeof reasons - used, "%s%s has no cblas_sgemm", used ? "; " : "", name);
      dlclose(h);
      continue;
    }
    cblas_sgemm_ptr = f;
    set_threads_ptr = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    get_threads_ptr = (get_threads_fn)dlsym(h, "openblas_get_num_threads");
    get_corename_ptr = (get_corename_fn)dlsym(h, "openblas_get_corename");
    Dl_info di;
    if (dladdr((void *)f, &di) && di.dli_fname) snprintf(loaded_library, sizeof loaded_library, "%s", di.dli_fname);
    else snprintf(loaded_library, sizeof loaded_library, "%s", name);
    return make_info(env);
  }
  napi_throw_error(env, NULL, reasons[0] ? reasons : "no library names given");
  return NULL;
}

/* useBuiltin(): products with the built-in kernel from now on (also after a successful load()). */
static napi_value use_builtin(napi_env env, napi_callback_info info) {
  (void)info;
  pick_builtin();
  cblas_sgemm_ptr = NULL;
  snprintf(loaded_library, sizeof loaded_library, "built-in");
  return make_info(env);
}

/* setIsa(name): the built-in code paths (product kernel and element-wise kernels) of "avx512", "avx2" or "baseline",
 * or "auto" for the widest this CPU runs; throws when the CPU cannot run the one asked for. OpenBLAS, when it is the
 * product library, is not affected (its kernels follow OPENBLAS_CORETYPE, read when it loads). */
static napi_value set_isa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[32] = "";
  size_t len = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "gpla_blas.setIsa: expected \"avx512\", \"avx2\", \"baseline\" or \"auto\"");
    return NULL;
  }
  if (!strcmp(name, "auto")) {
    isa_in_use = -1;
    pick_builtin();
    return make_info(env);
  }
  for (int i = 0; i < ISA_COUNT; i++)
    if (!strcmp(name, isa_keys[i])) {
      if (!isa_supported(i)) {
        char msg[160];
        snprintf(msg, sizeof msg, "gpla_blas.setIsa: this CPU (or this build) cannot run the %s code path", isa_names[i]);
        napi_throw_error(env, NULL, msg);
        return NULL;
      }
      use_isa(i);
      return make_info(env);
    }
  char msg[160];
  snprintf(msg, sizeof msg, "gpla_blas.setIsa: unknown code path \"%s\" (expected avx512, avx2, baseline or auto)", name);
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 1;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_range_error(env, NULL, "gpla_blas.setThreads: expected a positive integer");
    return NULL;
  }
  /* OpenBLAS stays at one thread: its own pool spins after each call and fought the helper for the two cores
   * (measured: 2 OpenBLAS threads + helper ran slower than 1); the helper splits products for both libraries. */
  if (cblas_sgemm_ptr && set_threads_ptr) set_threads_ptr(1);
  pool_set_threads(n);
  return make_info(env);
}

struct gemm_ctx {
  int ta, tb, M, N, K;
  const float *A;
  int lda;
  const float *B;
  int ldb;
  float beta;
  float *C;
  int ldc;
  int64_t batch, sA, sB, sC;
  int failed;
};

/* One product with the library in use: OpenBLAS (single-threaded; the pool splits) or the built-in kernel. */
static int one_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
                    float *C, int ldc) {
  if (cblas_sgemm_ptr) {
    cblas_sgemm_ptr(CBLAS_ROW_MAJOR, ta ? CBLAS_TRANS : CBLAS_NO_TRANS, tb ? CBLAS_TRANS : CBLAS_NO_TRANS, M, N, K, 1.0f,
                    A, lda, B, ldb, beta, C, ldc);
    return 0;
  }
  return builtin_gemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

/* The product's halves: batched products split the batch, single ones their columns (32-aligned). Each thread packs
 * into its own buffers (the built-in kernel's are thread-local; OpenBLAS locks its buffer pool). */
static void gemm_task(void *p, int part, int parts) {
  struct gemm_ctx *c = p;
  int64_t lo, hi;
  if (c->batch >= 2) {
    pool_split(c->batch, part, parts, 1, &lo, &hi);
    for (int64_t i = lo; i < hi; i++)
      if (one_gemm(c->ta, c->tb, c->M, c->N, c->K, c->A + i * c->sA, c->lda, c->B + i * c->sB, c->ldb, c->beta,
                   c->C + i * c->sC, c->ldc))
        c->failed = 1;
    return;
  }
  pool_split(c->N, part, parts, 32, &lo, &hi);
  if (hi <= lo) return;
  const float *B = c->tb ? c->B + lo * c->ldb : c->B + lo;
  if (one_gemm(c->ta, c->tb, c->M, (int)(hi - lo), c->K, c->A, c->lda, B, c->ldb, c->beta, c->C + lo, c->ldc))
    c->failed = 1;
}

/* ---- reading a call's arguments; each reader throws a JS error naming the function and returns false on a mismatch */
static void throw_msg(napi_env env, bool type_error, const char *fn, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "gpla_blas.%s: %s", fn, what);
  if (type_error) napi_throw_type_error(env, NULL, msg);
  else napi_throw_error(env, NULL, msg);
}

/* Exactly n arguments into argv, the first being the heap (an ArrayBuffer): its base and size. */
static bool call_args(napi_env env, napi_callback_info info, const char *fn, size_t n, napi_value *argv, char **heap,
                      size_t *bytes) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_msg(env, false, fn, "N-API call failed: napi_get_cb_info");
    return false;
  }
  if (argc != n) {
    char what[64];
    snprintf(what, sizeof what, "expected %zu arguments", n);
    throw_msg(env, true, fn, what);
    return false;
  }
  bool is_ab = false;
  void *data = NULL;
  if (napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab ||
      napi_get_arraybuffer_info(env, argv[0], &data, bytes) != napi_ok) {
    throw_msg(env, true, fn, "heap must be an ArrayBuffer");
    return false;
  }
  *heap = data;
  return true;
}

/* argv[first .. first + count) as integers, numbers or booleans. */
static bool int_args(napi_env env, const char *fn, napi_value *argv, int first, int count, int64_t *out) {
  for (int i = 0; i < count; i++)
    if (napi_get_value_int64(env, argv[first + i], &out[i]) != napi_ok) {
      throw_msg(env, true, fn, "expected a number where an offset or size goes");
      return false;
    }
  return true;
}

static bool double_args(napi_env env, const char *fn, napi_value *argv, int first, int count, double *out) {
  for (int i = 0; i < count; i++)
    if (napi_get_value_double(env, argv[first + i], &out[i]) != napi_ok) {
      throw_msg(env, true, fn, "expected a number");
      return false;
    }
  return true;
}

static bool bool_args(napi_env env, const char *fn, napi_value *argv, int first, int count, bool *out) {
  for (int i = 0; i < count; i++)
    if (napi_get_value_bool(env, argv[first + i], &out[i]) != napi_ok) {
      throw_msg(env, true, fn, "expected a boolean");
      return false;
    }
  return true;
}

static napi_value sgemm(napi_env env, napi_callback_info info) {
  if (!cblas_sgemm_ptr && !builtin_gemm) {
    napi_throw_error(env, NULL, "gpla_blas.sgemm: call load() or useBuiltin() first");
    return NULL;
  }
  napi_value argv[14];
  char *data;
  size_t bytes;
  bool t[2];
  int64_t v[10];
  double beta = 0;
  if (!call_args(env, info, "sgemm", 14, argv, &data, &bytes) || !bool_args(env, "sgemm", argv, 1, 2, t) ||
      !int_args(env, "sgemm", argv, 3, 10, v) || !double_args(env, "sgemm", argv, 13, 1, &beta))
    return NULL;
  const bool ta = t[0], tb = t[1];
  const int64_t M = v[0], N = v[1], K = v[2], aOff = v[3], bOff = v[4], cOff = v[5], batch = v[6];
  const int64_t sA = v[7], sB = v[8], sC = v[9];
  if (M <= 0 || N <= 0 || K <= 0 || batch <= 0 || aOff < 0 || bOff < 0 || cOff < 0 || sA < 0 || sB < 0 || sC < 0 ||
      (aOff | bOff | cOff) & 3) {
    napi_throw_range_error(env, NULL, "gpla_blas.sgemm: bad sizes or offsets");
    return NULL;
  }
  /* Every element touched must lie inside the heap. */
  const int64_t lastA = aOff + 4 * ((batch - 1) * sA + M * K), lastB = bOff + 4 * ((batch - 1) * sB + K * N),
                lastC = cOff + 4 * ((batch - 1) * sC + M * N);
  if (lastA > (int64_t)bytes || lastB > (int64_t)bytes || lastC > (int64_t)bytes) {
    napi_throw_range_error(env, NULL, "gpla_blas.sgemm: operands reach past the end of the heap");
    return NULL;
  }
  const float *A = (const float *)(data + aOff);
  const float *B = (const float *)(data + bOff);
  float *C = (float *)(data + cOff);
  const int lda = ta ? (int)M : (int)K, ldb = tb ? (int)K : (int)N, ldc = (int)N;
  struct gemm_ctx ctx = {ta, tb, (int)M, (int)N, (int)K, A, lda, B, ldb, (float)beta, C, ldc, batch, sA, sB, sC, 0};
  pool_run(gemm_task, &ctx, batch * M * N * K / 16);
  if (ctx.failed) napi_throw_error(env, NULL, "gpla_blas.sgemm: out of memory for the packing buffers");
  return NULL;
}

/* A float32 range [off, off + 4·count) inside the heap, off 4-byte aligned. */
static bool in_heap(int64_t off, int64_t count, size_t bytes) {
  return off >= 0 && count >= 0 && !(off & 3) && off + 4 * count <= (int64_t)bytes;
}

/* ---- the kernels' halves for the thread pool (thread_pool.h) */
struct binary_ctx {
  int op;
  const float *a;
  int ak;
  const float *b;
  int bk;
  float *out;
  int64_t R, C;
};

/* Splits rows, or the columns of a single row; each operand's pointer moves by what its kind spans. */
static void binary_task(void *p, int part, int parts) {
  const struct binary_ctx *c = p;
  int64_t lo, hi;
  if (c->R >= 2) {
    pool_split(c->R, part, parts, 1, &lo, &hi);
    const int64_t da = c->ak == EW_FULL ? lo * c->C : c->ak == EW_COL ? lo : 0;
    const int64_t db = c->bk == EW_FULL ? lo * c->C : c->bk == EW_COL ? lo : 0;
    ew->binary(c->op, c->a + da, c->ak, c->b + db, c->bk, c->out + lo * c->C, hi - lo, c->C);
  } else {
    pool_split(c->C, part, parts, 16, &lo, &hi);
    const int64_t da = c->ak == EW_FULL || c->ak == EW_ROW ? lo : 0, db = c->bk == EW_FULL || c->bk == EW_ROW ? lo : 0;
    ew->binary(c->op, c->a + da, c->ak, c->b + db, c->bk, c->out + lo, c->R, hi - lo);
  }
}

struct adamw_ctx {
  const float *p, *m, *v, *g;
  float *po, *mo, *vo;
  int64_t n;
  double h[8];
};

static void adamw_task(void *p, int part, int parts) {
  const struct adamw_ctx *c = p;
  int64_t lo, hi;
  pool_split(c->n, part, parts, 16, &lo, &hi);
  ew->adamw(c->p + lo, c->m + lo, c->v + lo, c->g + lo, c->po + lo, c->mo + lo, c->vo + lo, hi - lo, c->h[0], c->h[1],
           c->h[2], c->h[3], c->h[4], c->h[5], c->h[6], c->h[7]);
}

struct gelu_ctx {
  const float *x, *dy;
  float *out;
  int64_t n;
  int backward;
};

static void gelu_task(void *p, int part, int parts) {
  const struct gelu_ctx *c = p;
  int64_t lo, hi;
  pool_split(c->n, part, parts, 16, &lo, &hi);
  if (c->backward) ew->gelu_grad(c->x + lo, c->dy + lo, c->out + lo, hi - lo);
  else ew->gelu(c->x + lo, c->out + lo, hi - lo);
}

struct transpose_ctx {
  const float *x;
  float *out;
  int rank;
  const int64_t *shape, *perm;
};

static void transpose_task(void *p, int part, int parts) {
  const struct transpose_ctx *c = p;
  ew_transpose(c->x, c->out, c->rank, c->shape, c->perm, part, parts);
}

struct norm_ctx {
  const float *x, *g, *b, *dy, *xhat, *r;
  float *y, *xhat_out, *r_out, *dx, *dg, *db, *dg2, *db2;
  int64_t rows, D;
  double eps;
  int rms;
};

static void norm_forward_task(void *p, int part, int parts) {
  const struct norm_ctx *c = p;
  int64_t lo, hi;
  pool_split(c->rows, part, parts, 1, &lo, &hi);
  ew->norm_forward(c->x + lo * c->D, c->g, c->b, c->y + lo * c->D, c->xhat_out + lo * c->D, c->r_out + lo, hi - lo, c->D,
                  c->eps, c->rms);
}

/* The second half sums its dg, db into its own buffers; the caller adds them after both halves finish. */
static void norm_backward_task(void *p, int part, int parts) {
  const struct norm_ctx *c = p;
  int64_t lo, hi;
  pool_split(c->rows, part, parts, 1, &lo, &hi);
  ew->norm_backward(c->dy + lo * c->D, c->xhat + lo * c->D, c->r + lo, c->g, c->dx + lo * c->D, part ? c->dg2 : c->dg,
                   part ? (c->db ? c->db2 : NULL) : c->db, hi - lo, c->D, c->rms);
}

static napi_value binary(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  char *heap;
  size_t bytes;
  int64_t v[8];
  if (!call_args(env, info, "binary", 9, argv, &heap, &bytes) || !int_args(env, "binary", argv, 1, 8, v)) return NULL;
  const int64_t op = v[0], aOff = v[1], ak = v[2], bOff = v[3], bk = v[4], oOff = v[5], R = v[6], C = v[7];
  const int64_t count[4] = {R * C, C, R, 1};
  if (op < 0 || op > 3 || ak < 0 || ak > 3 || bk < 0 || bk > 3 || R < 0 || C < 0 || !in_heap(aOff, count[ak], bytes) ||
      !in_heap(bOff, count[bk], bytes) || !in_heap(oOff, R * C, bytes)) {
    napi_throw_range_error(env, NULL, "gpla_blas.binary: bad operation, kinds, sizes or offsets");
    return NULL;
  }
  struct binary_ctx ctx = {(int)op, (const float *)(heap + aOff), (int)ak, (const float *)(heap + bOff), (int)bk,
                           (float *)(heap + oOff), R, C};
  pool_run(binary_task, &ctx, R * C);
  return NULL;
}

static napi_value adamw(napi_env env, napi_callback_info info) {
  napi_value argv[17];
  char *heap;
  size_t bytes;
  int64_t off[8];
  double h[8];
  if (!call_args(env, info, "adamw", 17, argv, &heap, &bytes) || !int_args(env, "adamw", argv, 1, 8, off) ||
      !double_args(env, "adamw", argv, 9, 8, h))
    return NULL;
  const int64_t n = off[7];
  for (int i = 0; i < 7; i++) {
    if (!in_heap(off[i], n, bytes)) {
      napi_throw_range_error(env, NULL, "gpla_blas.adamw: bad size or offsets");
      return NULL;
    }
  }
  struct adamw_ctx ctx = {(const float *)(heap + off[0]), (const float *)(heap + off[1]), (const float *)(heap + off[2]),
                          (const float *)(heap + off[3]), (float *)(heap + off[4]), (float *)(heap + off[5]),
                          (float *)(heap + off[6]), n, {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]}};
  pool_run(adamw_task, &ctx, n);
  return NULL;
}

static napi_value gelu(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  char *heap;
  size_t bytes;
  int64_t v[4];
  bool backward = false;
  if (!call_args(env, info, "gelu", 6, argv, &heap, &bytes) || !int_args(env, "gelu", argv, 1, 4, v) ||
      !bool_args(env, "gelu", argv, 5, 1, &backward))
    return NULL;
  const int64_t xOff = v[0], dyOff = v[1], oOff = v[2], n = v[3];
  if (!in_heap(xOff, n, bytes) || !in_heap(oOff, n, bytes) || (backward && !in_heap(dyOff, n, bytes))) {
    napi_throw_range_error(env, NULL, "gpla_blas.gelu: bad size or offsets");
    return NULL;
  }
  struct gelu_ctx ctx = {(const float *)(heap + xOff), backward ? (const float *)(heap + dyOff) : NULL,
                         (float *)(heap + oOff), n, backward};
  pool_run(gelu_task, &ctx, n);
  return NULL;
}

static napi_value transpose(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  char *heap;
  size_t bytes;
  int64_t off[2];
  if (!call_args(env, info, "transpose", 5, argv, &heap, &bytes) || !int_args(env, "transpose", argv, 1, 2, off))
    return NULL;
  const int64_t xOff = off[0], oOff = off[1];
  uint32_t rank = 0, prank = 0;
  if (napi_get_array_length(env, argv[3], &rank) != napi_ok || napi_get_array_length(env, argv[4], &prank) != napi_ok ||
      rank != prank || rank > 8) {
    napi_throw_range_error(env, NULL, "gpla_blas.transpose: shape and perm must be arrays of the same length ≤ 8");
    return NULL;
  }
  int64_t shape[8], perm[8], total = 1;
  int seen = 0;
  for (uint32_t i = 0; i < rank; i++) {
    napi_value e;
    CHECK(env, napi_get_element(env, argv[3], i, &e));
    CHECK(env, napi_get_value_int64(env, e, &shape[i]));
    CHECK(env, napi_get_element(env, argv[4], i, &e));
    CHECK(env, napi_get_value_int64(env, e, &perm[i]));
    if (shape[i] < 0 || perm[i] < 0 || perm[i] >= (int64_t)rank || (seen & (1 << perm[i]))) {
      napi_throw_range_error(env, NULL, "gpla_blas.transpose: bad shape or perm");
      return NULL;
    }
    seen |= 1 << perm[i];
    total *= shape[i];
  }
  if (!in_heap(xOff, total, bytes) || !in_heap(oOff, total, bytes)) {
    napi_throw_range_error(env, NULL, "gpla_blas.transpose: bad offsets");
    return NULL;
  }
  struct transpose_ctx ctx = {(const float *)(heap + xOff), (float *)(heap + oOff), (int)rank, shape, perm};
  pool_run(transpose_task, &ctx, total);
  return NULL;
}

static napi_value norm_forward(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  char *heap;
  size_t bytes;
  int64_t v[8];
  double eps = 0;
  bool rms = false;
  if (!call_args(env, info, "normForward", 11, argv, &heap, &bytes) || !int_args(env, "normForward", argv, 1, 8, v) ||
      !double_args(env, "normForward", argv, 9, 1, &eps) || !bool_args(env, "normForward", argv, 10, 1, &rms))
    return NULL;
  const int64_t xOff = v[0], gOff = v[1], bOff = v[2], yOff = v[3], hOff = v[4], rOff = v[5], rows = v[6], D = v[7];
  if (rows < 0 || D <= 0 || !in_heap(xOff, rows * D, bytes) || !in_heap(gOff, D, bytes) ||
      (bOff != -1 && !in_heap(bOff, D, bytes)) || !in_heap(yOff, rows * D, bytes) || !in_heap(hOff, rows * D, bytes) ||
      !in_heap(rOff, rows, bytes)) {
    napi_throw_range_error(env, NULL, "gpla_blas.normForward: bad sizes or offsets");
    return NULL;
  }
  struct norm_ctx ctx = {.x = (const float *)(heap + xOff), .g = (const float *)(heap + gOff),
                         .b = bOff == -1 ? NULL : (const float *)(heap + bOff), .y = (float *)(heap + yOff),
                         .xhat_out = (float *)(heap + hOff), .r_out = (float *)(heap + rOff), .rows = rows, .D = D,
                         .eps = eps, .rms = rms};
  pool_run(norm_forward_task, &ctx, rows * D);
  return NULL;
}

static napi_value norm_backward(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  char *heap;
  size_t bytes;
  int64_t v[9];
  bool rms = false;
  if (!call_args(env, info, "normBackward", 11, argv, &heap, &bytes) || !int_args(env, "normBackward", argv, 1, 9, v) ||
      !bool_args(env, "normBackward", argv, 10, 1, &rms))
    return NULL;
  const int64_t dyOff = v[0], hOff = v[1], rOff = v[2], gOff = v[3], dxOff = v[4], dgOff = v[5], dbOff = v[6],
                rows = v[7], D = v[8];
  if (rows < 0 || D <= 0 || !in_heap(dyOff, rows * D, bytes) || !in_heap(hOff, rows * D, bytes) ||
      !in_heap(rOff, rows, bytes) || !in_heap(gOff, D, bytes) || !in_heap(dxOff, rows * D, bytes) ||
      !in_heap(dgOff, D, bytes) || (dbOff != -1 && !in_heap(dbOff, D, bytes))) {
    napi_throw_range_error(env, NULL, "gpla_blas.normBackward: bad sizes or offsets");
    return NULL;
  }
  float *scratch = malloc(sizeof(float) * 2 * (size_t)D);
  if (!scratch) {
    napi_throw_error(env, NULL, "gpla_blas.normBackward: out of memory");
    return NULL;
  }
  struct norm_ctx ctx = {.dy = (const float *)(heap + dyOff), .xhat = (const float *)(heap + hOff),
                         .r = (const float *)(heap + rOff), .g = (const float *)(heap + gOff), .dx = (float *)(heap + dxOff),
                         .dg = (float *)(heap + dgOff), .db = dbOff == -1 ? NULL : (float *)(heap + dbOff),
                         .dg2 = scratch, .db2 = scratch + D, .rows = rows, .D = D, .rms = rms};
  for (int64_t j = 0; j < 2 * D; j++) scratch[j] = 0.0f; /* stays zero when the helper takes no part */
  pool_run(norm_backward_task, &ctx, rows * D);
  for (int64_t j = 0; j < D; j++) {
    ctx.dg[j] += ctx.dg2[j];
    if (ctx.db) ctx.db[j] += ctx.db2[j];
  }
  free(scratch);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  pick_builtin(); /* the element-wise kernels run from the first call, whichever product library loads */
  napi_property_descriptor props[] = {
      {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
      {"useBuiltin", NULL, use_builtin, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"setIsa", NULL, set_isa, NULL, NULL, NULL, napi_default, NULL},
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"binary", NULL, binary, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, adamw, NULL, NULL, NULL, napi_default, NULL},
      {"gelu", NULL, gelu, NULL, NULL, NULL, napi_default, NULL},
      {"transpose", NULL, transpose, NULL, NULL, NULL, napi_default, NULL},
      {"normForward", NULL, norm_forward, NULL, NULL, NULL, napi_default, NULL},
      {"normBackward", NULL, norm_backward, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
