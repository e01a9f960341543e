/*
 * bench/tiletime.c - times one conv layer under several register tiles, to
 * calibrate the tile model of compiler/select.c (docs/kernels.md). Not part
 * of make test. bench/tiles.sh writes the candidates (tiles.inc) and builds
 * this file; every candidate is a call of the runtime's kernel with literal
 * shape and tile, as rsc's generated code makes it.
 *
 * Each timed run starts as a layer does inside a network: the weights cold
 * (a 128 MB buffer is written first, past any L3) and the input warm (read
 * just before, as the previous layer has just written it). The candidates
 * take turns, run by run, so a noisy neighbour hits them alike; medians.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../runtime/rsc_kernels.h" /* after the headers it relies on */

typedef void (*conv_fn)(const float *in, const float *w, const float *b, float *out);

#include "tiles.inc" /* CONV_IN, CONV_OUT, CONV_W, CONV_FLOPS, candidates[] */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static float *alloc_floats(size_t n) {
  float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
  if (!p) {
    perror("tiletime");
    exit(1);
  }
  for (size_t i = 0; i < n; i++)
    p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  return p;
}

int main(int argc, char **argv) {
  const int runs = argc > 1 ? atoi(argv[1]) : 15;
  const int n = (int)(sizeof candidates / sizeof *candidates);
  const size_t flush_n = (size_t)32 << 20; /* floats: 128 MB */
  float *in = alloc_floats(CONV_IN), *w = alloc_floats(CONV_W), *b = alloc_floats(4096);
  float *out = alloc_floats(CONV_OUT), *flush = alloc_floats(flush_n);
  double *t = calloc((size_t)runs * (size_t)n, sizeof *t);
  volatile float sink = 0.0f;
  for (int r = -1; r < runs; r++) /* run -1 is the warm-up */
    for (int i = 0; i < n; i++) {
      for (size_t j = 0; j < flush_n; j += 16)
        flush[j] += 1.0f;
      float s = 0.0f;
      for (size_t j = 0; j < CONV_IN; j += 16)
        s += in[j];
      sink += s;
      const double t0 = now_ms();
      candidates[i].fn(in, w, b, out);
      const double ms = now_ms() - t0;
      sink += out[0];
      if (r >= 0)
        t[(size_t)i * (size_t)runs + (size_t)r] = ms;
    }
  for (int i = 0; i < n; i++) {
    double *ti = t + (size_t)i * (size_t)runs;
    qsort(ti, (size_t)runs, sizeof *ti, by_value);
    const double med = ti[runs / 2];
    printf("%-12s median %8.3f ms  min %8.3f ms  %6.1f GFLOP/s\n", candidates[i].name, med, ti[0],
           CONV_FLOPS / med / 1e6);
  }
  free(in);
  free(w);
  free(b);
  free(out);
  free(flush);
  free(t);
  return 0;
}
