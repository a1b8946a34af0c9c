/*
 * A second thread for the addon's loops. tfjs's wasm backend runs on one thread; with GPLA_BLAS_THREADS=2 (the same
 * knob as OpenBLAS's threads) the element-wise, norm and built-in product kernels split their work with one helper
 * thread, as PyTorch splits its ops over its intra-op threads. On by default on a machine with two or more cores
 * (native-blas.ts); `reproduce --jobs 2` runs one process per core at 1 thread each.
 *
 * One helper for work of at least POOL_MIN_ELEMENTS (below that the hand-off costs more than it saves); it spins
 * briefly between tasks and sleeps on a condition variable after that. Calls from several JS threads at once
 * (data-parallel workers) are safe: whoever finds the helper busy runs its work alone. The caller runs the second half too when the helper has not claimed it by the time
 * the first is done, so a descheduled helper costs nothing but the time it was not there.
 */
#include <pthread.h>
#include <stdatomic.h>

typedef void (*pool_task)(void *ctx, int part, int parts);

#define POOL_MIN_ELEMENTS 32768
/* How long the helper spins for the next task before it sleeps (~0.5 ms): a step's kernels come every few tens of
 * microseconds, and waking a sleeping thread costs more than that on a VM (the idle vCPU halts; measured: the
 * condition-variable-only version made the grounding step slower with 2 threads than with 1). */
#define POOL_SPINS 20000

static inline void pool_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static int pool_threads = 1;
static pthread_mutex_t pool_owner = PTHREAD_MUTEX_INITIALIZER; /* held by the caller using the helper */
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_start = PTHREAD_COND_INITIALIZER;
static pool_task pool_fn = NULL;
static void *pool_ctx = NULL;
static atomic_ulong pool_posted = 0;
/* The second half of the task in flight: whoever exchanges pool_claimed from 0 to 1 first runs it, the helper or the
 * caller once its own half is done (on a loaded machine the helper may not be scheduled for milliseconds; a caller
 * that waited for it made 2 threads slower than 1). pool_done: the helper finished the half it claimed. */
static atomic_int pool_claimed = 1, pool_done = 1;
static atomic_int pool_sleeping = 0;
static int pool_started = 0;

static void *pool_main(void *unused) {
  (void)unused;
  unsigned long seen = 0;
  for (;;) {
    unsigned long p;
    int spins = 0;
    while ((p = atomic_load(&pool_posted)) == seen) {
      if (++spins < POOL_SPINS) {
        pool_relax();
        continue;
      }
      /* Sleep. The poster increments pool_posted, then reads pool_sleeping; we set pool_sleeping, then read
       * pool_posted (both sequentially consistent), so one of us sees the other and no task is missed. */
      pthread_mutex_lock(&pool_mu);
      atomic_store(&pool_sleeping, 1);
      while ((p = atomic_load(&pool_posted)) == seen) pthread_cond_wait(&pool_start, &pool_mu);
      atomic_store(&pool_sleeping, 0);
      pthread_mutex_unlock(&pool_mu);
      break;
    }
    seen = p;
    /* The claim orders after the caller's stores of pool_fn / pool_ctx, and the caller posts nothing new until
     * pool_done; a claim that finds 1 (the caller took the half, or this wake-up was for a task already done) skips. */
    if (atomic_exchange(&pool_claimed, 1) == 0) {
      pool_fn(pool_ctx, 1, 2);
      atomic_store(&pool_done, 1);
    }
  }
  return NULL;
}

/* Sets the number of threads (1 or 2); starts the helper the first time 2 is asked for. Returns the count in use. */
static int pool_set_threads(int n) {
  if (n >= 2 && !pool_started) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, pool_main, NULL) == 0) pool_started = 1;
    pthread_attr_destroy(&attr);
  }
  pool_threads = n >= 2 && pool_started ? 2 : 1;
  return pool_threads;
}

/* Runs fn(ctx, part, parts) for every part: both halves at once when the helper is on, free and the work is large. */
static void pool_run(pool_task fn, void *ctx, int64_t elements) {
  if (pool_threads < 2 || elements < POOL_MIN_ELEMENTS || pthread_mutex_trylock(&pool_owner) != 0) {
    fn(ctx, 0, 1);
    return;
  }
  pool_fn = fn;
  pool_ctx = ctx;
  atomic_store(&pool_done, 0);
  atomic_store(&pool_claimed, 0);
  atomic_fetch_add(&pool_posted, 1);
  if (atomic_load(&pool_sleeping)) {
    pthread_mutex_lock(&pool_mu);
    pthread_cond_signal(&pool_start);
    pthread_mutex_unlock(&pool_mu);
  }
  fn(ctx, 0, 2);
  if (atomic_exchange(&pool_claimed, 1) == 0) fn(ctx, 1, 2); /* the helper has not started it: run it here */
  else
    while (!atomic_load(&pool_done)) pool_relax();
  pthread_mutex_unlock(&pool_owner);
}

/* The half [*lo, *hi) of [0, n) that part `part` of `parts` takes, rounded to multiples of `align`. */
static inline void pool_split(int64_t n, int part, int parts, int64_t align, int64_t *lo, int64_t *hi) {
  int64_t mid = parts == 1 ? n : ((n / 2 + align - 1) / align) * align;
  if (mid > n) mid = n;
  *lo = part == 0 ? 0 : mid;
  *hi = part == parts - 1 ? n : mid;
}
