/*
 * endpoints_main.c - the caller tests/endpoints.sh builds against a model
 * generated with `rsc --name m --outputs ...`: it uses the header's endpoint
 * API exactly as documented (docs/spec.md, "Feature endpoints") and writes
 * each endpoint to DIR/NAME.f32 for comparison with the reference evaluator.
 *
 * Besides the values (compared by the script), it checks what only a caller
 * can see: every float of every buffer is written (buffers start as NaN),
 * P_run writes the same bits as the last endpoint of P_run_outputs, two
 * threads give the same bits as one, pinned or not, P_pin_threads binds the
 * worker to the second CPU of the caller's mask and unbinds it (Linux), and a
 * NULL endpoint pointer is ERR_ARG.
 *
 * Usage: endpoints_main WEIGHTS INPUT DIR. Exit 0 ok, 1 failure.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getaffinity, gettid */
#endif
#include "m.h"

#ifdef __linux__
#include <dirent.h>
#include <sched.h>
#include <unistd.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *names[M_NUM_OUTPUTS];
static size_t sizes[M_NUM_OUTPUTS]; /* floats per image */

static void describe(void) {
#ifdef M_OUT_C2
  names[M_OUT_C2] = "c2", sizes[M_OUT_C2] = M_OUT_C2_SIZE;
#endif
#ifdef M_OUT_C3
  names[M_OUT_C3] = "c3", sizes[M_OUT_C3] = M_OUT_C3_SIZE;
#endif
#ifdef M_OUT_C4
  names[M_OUT_C4] = "c4", sizes[M_OUT_C4] = M_OUT_C4_SIZE;
#endif
#ifdef M_OUT_C5
  names[M_OUT_C5] = "c5", sizes[M_OUT_C5] = M_OUT_C5_SIZE;
#endif
#ifdef M_OUT_HEAD
  names[M_OUT_HEAD] = "head", sizes[M_OUT_HEAD] = M_OUT_HEAD_SIZE;
#endif
}

static int fail(const char *what) {
  fprintf(stderr, "endpoints_main: %s\n", what);
  return 1;
}

/* A run of the model with `threads` threads into fresh NaN-filled buffers. */
static int run(m_model *m, const M_IN_TYPE *in, int threads, float *out[M_NUM_OUTPUTS]) {
  for (int k = 0; k < M_NUM_OUTPUTS; k++) {
    size_t n = (size_t)M_BATCH * sizes[k];
    out[k] = malloc(n * sizeof *out[k]);
    if (!out[k])
      return fail("out of memory");
    for (size_t i = 0; i < n; i++)
      out[k][i] = NAN;
  }
  if (m_set_threads(m, threads) != M_OK)
    return fail("set_threads failed");
  int rc = m_run_outputs(m, in, out);
  if (rc != M_OK)
    return fail(m_strerror(rc));
  for (int k = 0; k < M_NUM_OUTPUTS; k++)
    for (size_t i = 0; i < (size_t)M_BATCH * sizes[k]; i++)
      if (isnan(out[k][i])) {
        fprintf(stderr, "endpoints_main: %s[%zu] not written\n", names[k], i);
        return 1;
      }
  return 0;
}

#ifdef __linux__
/* The affinity mask of this process's one thread besides the caller (the
 * model's worker); 1 if there is not exactly one. */
static int worker_mask(cpu_set_t *mask) {
  DIR *d = opendir("/proc/self/task");
  if (!d)
    return 1;
  int found = 0;
  for (struct dirent *e; (e = readdir(d));) {
    long tid = strtol(e->d_name, NULL, 10);
    if (tid <= 0 || tid == (long)gettid())
      continue;
    if (sched_getaffinity((pid_t)tid, sizeof *mask, mask) != 0)
      break;
    found++;
  }
  closedir(d);
  return found != 1;
}

/* P_pin_threads on a team of two: the worker on exactly the second CPU of the
 * caller's mask (the first if it has one), the same bits as `one`; unpinned
 * again, the worker has the caller's whole mask. */
static int check_pinning(m_model *m, const M_IN_TYPE *in, float *const one[M_NUM_OUTPUTS]) {
  cpu_set_t all, w, want;
  if (sched_getaffinity(0, sizeof all, &all) != 0)
    return fail("sched_getaffinity failed");
  int k = 1 % CPU_COUNT(&all), cpu = 0;
  for (; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &all) && k-- == 0)
      break;
  CPU_ZERO(&want);
  CPU_SET(cpu, &want);
  float *pinned[M_NUM_OUTPUTS];
  if (m_pin_threads(m, 1) != M_OK || run(m, in, 2, pinned))
    return fail("pinned run failed");
  if (worker_mask(&w) || !CPU_EQUAL(&w, &want)) {
    fprintf(stderr, "endpoints_main: pinned worker not on CPU %d alone\n", cpu);
    return 1;
  }
  for (int e = 0; e < M_NUM_OUTPUTS; e++) {
    if (memcmp(one[e], pinned[e], (size_t)M_BATCH * sizes[e] * sizeof(float)) != 0) {
      fprintf(stderr, "endpoints_main: %s differs between 1 and 2 pinned threads\n", names[e]);
      return 1;
    }
    free(pinned[e]);
  }
  if (m_pin_threads(m, 0) != M_OK || worker_mask(&w) || !CPU_EQUAL(&w, &all))
    return fail("unpinned worker does not have the caller's mask");
  return 0;
}
#endif

int main(int argc, char **argv) {
  if (argc != 4)
    return fail("usage: endpoints_main WEIGHTS INPUT DIR");
  describe();
  /* The header's sizes are H * W * C, and the last endpoint is the Output. */
  if (sizes[M_NUM_OUTPUTS - 1] != M_OUT_SIZE)
    return fail("the last endpoint is not the model's output");
  size_t in_n = (size_t)M_BATCH * M_IN_SIZE;
  M_IN_TYPE *in = malloc(in_n * sizeof *in);
  FILE *f = fopen(argv[2], "rb");
  if (!in || !f || fread(in, sizeof *in, in_n, f) != in_n)
    return fail("cannot read the input");
  fclose(f);
  m_model *m;
  int rc = m_open(&m, argv[1]);
  if (rc != M_OK)
    return fail(m_strerror(rc));

  float *one[M_NUM_OUTPUTS], *two[M_NUM_OUTPUTS];
  if (run(m, in, 1, one) || run(m, in, 2, two))
    return 1;
  for (int k = 0; k < M_NUM_OUTPUTS; k++)
    if (memcmp(one[k], two[k], (size_t)M_BATCH * sizes[k] * sizeof(float)) != 0) {
      fprintf(stderr, "endpoints_main: %s differs between 1 and 2 threads\n", names[k]);
      return 1;
    }

#ifdef __linux__
  if (check_pinning(m, in, one))
    return 1;
#else
  if (m_pin_threads(m, 1) != M_ERR_THREADS)
    return fail("m_pin_threads(m, 1) off Linux was not ERR_THREADS");
#endif

  /* P_run: the last endpoint alone, the same bits. */
  if (m_set_threads(m, 1) != M_OK)
    return fail("set_threads failed");
  float *alone = malloc((size_t)M_BATCH * M_OUT_SIZE * sizeof *alone);
  if (!alone || m_run(m, in, alone) != M_OK)
    return fail("m_run failed");
  if (memcmp(alone, one[M_NUM_OUTPUTS - 1], (size_t)M_BATCH * M_OUT_SIZE * sizeof(float)) != 0)
    return fail("m_run's output differs from the last endpoint of m_run_outputs");

  /* Every endpoint pointer is required. */
  for (int k = 0; k < M_NUM_OUTPUTS; k++) {
    float *holes[M_NUM_OUTPUTS];
    memcpy(holes, two, sizeof holes);
    holes[k] = NULL;
    if (m_run_outputs(m, in, holes) != M_ERR_ARG)
      return fail("a NULL endpoint pointer was not ERR_ARG");
  }

  for (int k = 0; k < M_NUM_OUTPUTS; k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.f32", argv[3], names[k]);
    FILE *o = fopen(path, "wb");
    size_t n = (size_t)M_BATCH * sizes[k];
    if (!o || fwrite(one[k], sizeof(float), n, o) != n || fclose(o) != 0)
      return fail("cannot write an output");
    free(one[k]);
    free(two[k]);
  }
  free(alone);
  free(in);
  m_close(m);
  return 0;
}
