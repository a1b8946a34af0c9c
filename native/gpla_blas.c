/*
 * gpla_blas: an optional N-API addon that runs single-precision matrix products with the system's OpenBLAS directly
 * on the tfjs wasm backend's heap (a WebAssembly.Memory's ArrayBuffer), so no tensor is copied in or out.
 *
 * Why dlopen instead of linking: the addon then builds with nothing but a C compiler and Node's headers, and a
 * machine without OpenBLAS loads it fine and reports why the fast path is off (load() throws with the reason) instead
 * of failing to load at all.
 *
 * API (all offsets are BYTE offsets into `heap`, all strides are in floats):
 *   load(candidates: string[]) -> { library, threads, coretype }
 *   setThreads(n)
 *   sgemm(heap, transA, transB, M, N, K, aOff, bOff, cOff, batch, strideA, strideB, strideC, beta)
 *     C_i = op(A_i)·op(B_i) + beta·C_i for i < batch, row-major; op(A_i) is M×K, op(B_i) is K×N, C_i is M×N.
 *     A stride of 0 broadcasts that operand over the batch.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <node_api.h>
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

#define CHECK(env, call)                                                                                               \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      napi_throw_error((env), NULL, "gpla_blas: N-API call failed: " #call);                                          \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

static napi_value make_info(napi_env env) {
  napi_value obj, lib, threads, core;
  CHECK(env, napi_create_object(env, &obj));
  CHECK(env, napi_create_string_utf8(env, loaded_library, NAPI_AUTO_LENGTH, &lib));
  CHECK(env, napi_create_int32(env, get_threads_ptr ? get_threads_ptr() : 1, &threads));
  const char *corename = get_corename_ptr ? get_corename_ptr() : "unknown";
  CHECK(env, napi_create_string_utf8(env, corename ? corename : "unknown", NAPI_AUTO_LENGTH, &core));
  CHECK(env, napi_set_named_property(env, obj, "library", lib));
  CHECK(env, napi_set_named_property(env, obj, "threads", threads));
  CHECK(env, napi_set_named_property(env, obj, "coretype", core));
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
  __builtin_cpu_init();
  if (!getenv("OPENBLAS_CORETYPE") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
  }
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

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 1;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_range_error(env, NULL, "gpla_blas.setThreads: expected a positive integer");
    return NULL;
  }
  if (set_threads_ptr) set_threads_ptr(n);
  return make_info(env);
}

static napi_value sgemm(napi_env env, napi_callback_info info) {
  if (!cblas_sgemm_ptr) {
    napi_throw_error(env, NULL, "gpla_blas.sgemm: call load() first");
    return NULL;
  }
  size_t argc = 14;
  napi_value argv[14];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 14) {
    napi_throw_type_error(env, NULL, "gpla_blas.sgemm: expected 14 arguments");
    return NULL;
  }
  void *data = NULL;
  size_t bytes = 0;
  bool is_ab = false;
  CHECK(env, napi_is_arraybuffer(env, argv[0], &is_ab));
  if (!is_ab) {
    napi_throw_type_error(env, NULL, "gpla_blas.sgemm: heap must be an ArrayBuffer");
    return NULL;
  }
  CHECK(env, napi_get_arraybuffer_info(env, argv[0], &data, &bytes));
  bool ta, tb;
  CHECK(env, napi_get_value_bool(env, argv[1], &ta));
  CHECK(env, napi_get_value_bool(env, argv[2], &tb));
  int64_t v[10];
  for (int i = 0; i < 10; i++) CHECK(env, napi_get_value_int64(env, argv[3 + i], &v[i]));
  double beta = 0;
  CHECK(env, napi_get_value_double(env, argv[13], &beta));
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
  const float *A = (const float *)((char *)data + aOff);
  const float *B = (const float *)((char *)data + bOff);
  float *C = (float *)((char *)data + cOff);
  const int lda = ta ? (int)M : (int)K, ldb = tb ? (int)K : (int)N, ldc = (int)N;
  for (int64_t i = 0; i < batch; i++) {
    cblas_sgemm_ptr(CBLAS_ROW_MAJOR, ta ? CBLAS_TRANS : CBLAS_NO_TRANS, tb ? CBLAS_TRANS : CBLAS_NO_TRANS, (int)M,
                    (int)N, (int)K, 1.0f, A + i * sA, lda, B + i * sB, ldb, (float)beta, C + i * sC, ldc);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
