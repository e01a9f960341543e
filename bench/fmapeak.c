/*
 * fmapeak.c - measures the machine's fp32 FMA peak, the denominator of the
 * benchmark's "% of peak". Each thread runs independent chains of vector FMAs
 * (enough chains to cover the FMA latency on every port, so the loop is bound
 * by FMA throughput alone) on registers only, no memory traffic.
 *
 * With AVX-512F: 512-bit FMAs, 16 lanes. Otherwise a portable fallback with
 * GCC/Clang vector extensions (whatever width the target gives them).
 *
 * Usage: fmapeak [THREADS...]   (default: 1 2)
 * Prints one line per thread count: "threads N: G GFLOP/s" (best of several
 * runs; one FMA counts as 2 FLOPs).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "probe_args.h"

#ifdef __AVX512F__
#include <immintrin.h>
typedef __m512 vec;
#define LANES 16
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VSET(x) _mm512_set1_ps(x)
static float vsum(const vec *v) { return _mm512_reduce_add_ps(*v); }
#define ISA "avx512"
#else
#ifdef __AVX__
#define LANES 8
#else
#define LANES 4
#endif
typedef float vec __attribute__((vector_size(LANES * sizeof(float))));
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VSET(x) ((vec){0} + (x))
static float vsum(const vec *v) {
  float s = 0;
  for (int i = 0; i < LANES; i++)
    s += (*v)[i];
  return s;
}
#define ISA "generic"
#endif

/* KEEP(v): an empty asm that claims to change v in its register, so the
 * compiler can neither fold the chain into a closed form nor spill it. */
#if defined(__x86_64__) || defined(__i386__)
#define KEEP(v) __asm__ volatile("" : "+x"(v))
#elif defined(__aarch64__)
#define KEEP(v) __asm__ volatile("" : "+w"(v))
#else
#define KEEP(v) __asm__ volatile("" : : "g"(&(v)) : "memory")
#endif

/* Independent accumulator chains: at least latency x ports (4 x 2 on most
 * cores), 12 leaves headroom and still fits in 16 registers. */
#define CHAINS 12 /* must match EACH below */
#define ITERS 20000000L

typedef struct {
  long iters;
  float sink;
  double seconds;
} Job;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Twelve named accumulators, written out: an array would be kept in memory by
 * compilers that do not unroll the chain loop at -O2. */
#define EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define DECL(c) vec acc##c = VSET(1.0f + (c) * 1e-3f);
#define STEP(c) acc##c = VFMA(acc##c, a, b);
#define HOLD(c) KEEP(acc##c);
#define SUM(c) s += vsum(&acc##c);

static void *work(void *arg) {
  Job *j = arg;
  EACH(DECL)
  /* a*x+b with a slightly below 1 keeps every value bounded (no inf/denormals). */
  vec a = VSET(0.999999f), b = VSET(1e-6f);
  double t0 = now();
  for (long i = 0; i < j->iters; i++) {
    EACH(STEP)
    EACH(HOLD)
  }
  j->seconds = now() - t0;
  float s = 0;
  EACH(SUM)
  j->sink = s;
  return NULL;
}

/* GFLOP/s of `threads` threads running at once: total FLOPs over the slowest thread's time. */
static double measure(int threads, long iters) {
  pthread_t tid[64];
  Job jobs[64];
  for (int t = 0; t < threads; t++) {
    jobs[t] = (Job){.iters = iters};
    if (pthread_create(&tid[t], NULL, work, &jobs[t]) != 0) {
      fprintf(stderr, "fmapeak: pthread_create failed\n");
      exit(1);
    }
  }
  double worst = 0, sink = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    if (jobs[t].seconds > worst)
      worst = jobs[t].seconds;
    sink += jobs[t].sink;
  }
  if (sink != sink)
    fprintf(stderr, "fmapeak: NaN\n");
  return 2.0 * LANES * CHAINS * (double)iters * threads / worst / 1e9;
}

int main(int argc, char **argv) {
  int counts[16];
  const int n = probe_thread_counts(argc, argv, counts);
  if (n == 0)
    return 2;
  long iters = ITERS / 4;
  measure(1, iters / 10); /* warm up the clocks */
  for (int i = 0; i < n; i++) {
    double best = 0;
    for (int r = 0; r < 5; r++) {
      double g = measure(counts[i], iters);
      if (g > best)
        best = g;
    }
    printf("threads %d: %.1f GFLOP/s (%s, %d lanes, %d chains)\n", counts[i], best, ISA, LANES,
           CHAINS);
  }
  return 0;
}
