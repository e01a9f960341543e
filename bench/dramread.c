/*
 * dramread.c - measures the machine's streaming-read bandwidth from DRAM, the
 * denominator of the benchmark's "DRAM ceiling". At batch 1 a network's packed
 * weights (RS-50: 154 MB) exceed the L3, so every inference reads every weight
 * from DRAM once; a layer cannot run faster than its weight bytes over this
 * bandwidth, whatever its kernel.
 *
 * The buffer (512 MiB, or 8x the L3 if that is more) is written first so its
 * pages exist, then each thread sums its own contiguous part with vector loads
 * in memory order (the stream the hardware prefetchers follow best), through
 * independent accumulators so the loop is bound by the loads alone. Nothing is
 * written while timing. With AVX-512F: 512-bit loads; otherwise GCC/Clang
 * vector extensions, as in fmapeak.c.
 *
 * Usage: dramread [THREADS...]   (default: 1 2)
 * Prints the L3 size the system reports ("l3: B bytes", from sysfs or
 * sysconf; "l3: ? bytes" if neither knows), then one line per thread count:
 * "threads N: G GB/s read" (total bytes over the slowest thread's time, best
 * of several runs, 1 GB = 1e9 bytes).
 */
#define _GNU_SOURCE /* sysconf(_SC_LEVEL3_CACHE_SIZE) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "probe_args.h"
#include <unistd.h>

#ifdef __AVX512F__
#include <immintrin.h>
typedef __m512 vec;
#define LANES 16
#define VLOAD(p) _mm512_load_ps(p)
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VZERO() _mm512_setzero_ps()
static double vsum(vec v) { return _mm512_reduce_add_ps(v); }
#define ISA "avx512"
#else
#ifdef __AVX__
#define LANES 8
#else
#define LANES 4
#endif
typedef float vec __attribute__((vector_size(LANES * sizeof(float))));
#define VLOAD(p) (*(const vec *)(p))
#define VADD(a, b) ((a) + (b))
#define VZERO() ((vec){0})
static double vsum(vec v) {
  double s = 0;
  for (int i = 0; i < LANES; i++)
    s += v[i];
  return s;
}
#define ISA "generic"
#endif

#define MIB (1024L * 1024L)
#define MIN_BYTES (512 * MIB)
/* Each accumulator lane counts ones in float: exact below 2^24 per lane. */
#define MAX_BYTES ((1L << 24) * 4 * LANES * (long)sizeof(float))
#define STEP (4 * LANES) /* floats per loop step: four vectors, one per accumulator */
#define RUNS 5

typedef struct {
  const float *p; /* this thread's part */
  long n;         /* floats, a multiple of STEP */
  pthread_barrier_t *start;
  double sum, seconds;
} Job;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The L3 size in bytes as the system reports it, or 0. sysfs says e.g. "49152K". */
static long l3_bytes(void) {
  FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
  long v = 0;
  if (f) {
    char unit = 0;
    if (fscanf(f, "%ld%c", &v, &unit) < 1)
      v = 0;
    fclose(f);
    v *= unit == 'K' ? 1024 : unit == 'M' ? MIB : 1;
  }
#ifdef _SC_LEVEL3_CACHE_SIZE
  if (v <= 0)
    v = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
  return v > 0 ? v : 0;
}

static void *work(void *arg) {
  Job *j = arg;
  vec a0 = VZERO(), a1 = VZERO(), a2 = VZERO(), a3 = VZERO();
  pthread_barrier_wait(j->start); /* all threads start reading together */
  double t0 = now();
  for (long i = 0; i < j->n; i += STEP) {
    a0 = VADD(a0, VLOAD(j->p + i));
    a1 = VADD(a1, VLOAD(j->p + i + LANES));
    a2 = VADD(a2, VLOAD(j->p + i + 2 * LANES));
    a3 = VADD(a3, VLOAD(j->p + i + 3 * LANES));
  }
  j->seconds = now() - t0;
  j->sum = vsum(a0) + vsum(a1) + vsum(a2) + vsum(a3);
  return NULL;
}

/* GB/s of `threads` threads reading their parts of buf[n] at once: total bytes
 * over the slowest thread's time. */
static double measure(const float *buf, long n, int threads) {
  pthread_t tid[64];
  Job jobs[64];
  pthread_barrier_t start;
  long part = n / threads / STEP * STEP;
  pthread_barrier_init(&start, NULL, (unsigned)threads);
  for (int t = 0; t < threads; t++) {
    jobs[t] = (Job){.p = buf + t * part, .n = part, .start = &start};
    if (pthread_create(&tid[t], NULL, work, &jobs[t]) != 0) {
      fprintf(stderr, "dramread: pthread_create failed\n");
      exit(1);
    }
  }
  double worst = 0, sum = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    if (jobs[t].seconds > worst)
      worst = jobs[t].seconds;
    sum += jobs[t].sum;
  }
  pthread_barrier_destroy(&start);
  /* Every float is 1, so the sum counts the floats read: a check that the loop ran. */
  if (sum != (double)part * threads)
    fprintf(stderr, "dramread: sum %.0f, expected %ld\n", sum, part * threads);
  return 4.0 * part * threads / worst / 1e9;
}

int main(int argc, char **argv) {
  int counts[16];
  const int n = probe_thread_counts(argc, argv, counts);
  if (n == 0)
    return 2;
  long l3 = l3_bytes();
  long bytes = 8 * l3 > MIN_BYTES ? 8 * l3 : MIN_BYTES;
  if (bytes > MAX_BYTES)
    bytes = MAX_BYTES;
  float *buf = aligned_alloc(64, (size_t)bytes);
  if (!buf) {
    fprintf(stderr, "dramread: cannot allocate %ld MiB\n", bytes / MIB);
    return 1;
  }
  long floats = bytes / (long)sizeof(float);
  for (long i = 0; i < floats; i++) /* every page written, so every page exists */
    buf[i] = 1.0f;
  if (l3)
    printf("l3: %ld bytes\n", l3);
  else
    printf("l3: ? bytes\n");
  measure(buf, floats, 1); /* warm up the clocks and the TLB walk caches */
  for (int i = 0; i < n; i++) {
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
      double g = measure(buf, floats, counts[i]);
      if (g > best)
        best = g;
    }
    printf("threads %d: %.1f GB/s read (%s, %ld MiB)\n", counts[i], best, ISA, bytes / MIB);
  }
  free(buf);
  return 0;
}
