m4_dnl model.c.m4 - the skeleton of a generated model .c file. emit.c defines the
m4_dnl scalar macros (RSC_PREFIX, RSC_UPREFIX, RSC_BANNER, RSC_HEADER, RSC_RUNTIME,
m4_dnl RSC_FINGERPRINT, RSC_SCRATCH, RSC_IN, RSC_OUT) and fills diversions 1-5
m4_dnl through rsc.m4's macros before including this file.
m4_divert(0)m4_dnl
/*
RSC_BANNER */
/* Linux's sched_setaffinity (RSC_PREFIX<||>_pin_threads) is a GNU extension. A forced
 * include that reads a system header first (-include config.h, a precompiled
 * header) makes this define too late: the affinity API then stays hidden, and
 * pinning is left out (RSC_UPREFIX<||>_HAVE_PIN below), not declared by hand. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "RSC_HEADER"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

m4_dnl The runtime's families, in runtime/rsc_kernels.h's order (tools/golden.sh
m4_dnl checks the block's bytes against those files).
/* ==== begin rsc runtime: runtime/rsc_kernels.h's files, verbatim ==== */
m4_undivert(RSC_RUNTIME<||>/rsc_limits.h)m4_dnl
m4_undivert(RSC_RUNTIME<||>/rsc_vec.h)m4_dnl
m4_undivert(RSC_RUNTIME<||>/rsc_conv.h)m4_dnl
m4_undivert(RSC_RUNTIME<||>/rsc_conv_bf16.h)m4_dnl
m4_undivert(RSC_RUNTIME<||>/rsc_wino.h)m4_dnl
m4_undivert(RSC_RUNTIME<||>/rsc_pool.h)m4_dnl
m4_undivert(RSC_RUNTIME<||>/rsc_dense.h)m4_dnl
m4_undivert(RSC_RUNTIME<||>/rsc_entry.h)m4_dnl
m4_undivert(RSC_RUNTIME<||>/rsc_checksum.h)m4_dnl
/* ==== end rsc runtime ==== */
/* ---- weights payload: offsets in floats ---- */
enum {
m4_undivert(1)m4_dnl
  W_END_ = 0
};

/* ---- activation arena: offsets in floats; live ranges in layer order ---- */
enum {
m4_undivert(2)m4_dnl
  A_SCRATCH = RSC_SCRATCH /* SE_ADD's pooled and reduced vectors */
};

/* ---- kernels specialised to this model's shapes ---- */
m4_undivert(3)
/* ---- the thread team (threads.c.m4); C11 threads unless opted out ---- */
#if !defined(RSC_UPREFIX<||>_NO_THREADS) && !defined(__STDC_NO_THREADS__) && !defined(__STDC_NO_ATOMICS__)
#define RSC_UPREFIX<||>_HAVE_THREADS 1
#include <stdatomic.h>
#include <threads.h>
#ifdef __linux__
#include <sched.h>
#endif
#else
#define RSC_UPREFIX<||>_HAVE_THREADS 0
#endif
/* Whether RSC_PREFIX<||>_pin_threads can bind workers: threads, Linux, and <sched.h>'s
 * GNU part visible (CPU_SETSIZE comes with sched_getaffinity and CPU_ISSET). */
#if RSC_UPREFIX<||>_HAVE_THREADS && defined(__linux__) && defined(CPU_SETSIZE)
#define RSC_UPREFIX<||>_HAVE_PIN 1
#else
#define RSC_UPREFIX<||>_HAVE_PIN 0
#endif

#if RSC_UPREFIX<||>_HAVE_THREADS
typedef struct RSC_PREFIX<||>_team {
  thrd_t thr[RSC_UPREFIX<||>_MAX_THREADS];
  struct RSC_PREFIX<||>_model *self[RSC_UPREFIX<||>_MAX_THREADS]; /* worker i's argument: &self[i] */
  mtx_t mu; /* parks idle workers */
  cnd_t cv;
  atomic_uint gen;     /* bumped once per run */
  atomic_int stop;     /* set by close / set_threads */
  atomic_int done;     /* workers finished with this run */
  atomic_int arrived;  /* layer barrier: threads arrived */
  atomic_uint phase;   /* layer barrier: generation */
  const RSC_IN_CTYPE *input; /* this run's arguments */
  float *output;
} RSC_PREFIX<||>_team;
#endif

struct RSC_PREFIX<||>_model {
  float *weights; /* RSC_UPREFIX<||>_WEIGHT_BYTES, 64-byte aligned */
  float *arena;   /* RSC_UPREFIX<||>_ARENA_BYTES, 64-byte aligned */
  int threads;    /* team size, the caller included; 1 after open */
  int pin;        /* RSC_PREFIX<||>_pin_threads: workers bind to a CPU each */
m4_ifelse(RSC_MULTI, 1, <|  float *out[RSC_UPREFIX<||>_NUM_OUTPUTS]; /* this run's endpoint buffers; NULL: not asked for */
|>)m4_dnl
#if RSC_UPREFIX<||>_HAVE_THREADS
  RSC_PREFIX<||>_team team;
#endif
};

static void RSC_PREFIX<||>_stop_team(RSC_PREFIX<||>_model *m);
static void RSC_PREFIX<||>_sync(RSC_PREFIX<||>_model *m);

/* The team's barrier as the runtime's kernels call it (rsc_se_add_part). */
static void rsc_team_sync(void *m)
{
  RSC_PREFIX<||>_sync(m);
}

/* Build with -D<||>RSC_UPREFIX<||>_PROFILE to time every layer: thread 0 reads the
 * clock after each layer (its barrier included) and RSC_PREFIX<||>_close prints, to
 * stderr, each layer's mean time per run, GFLOP/s on its direct-conv FLOPs and
 * share of the total. The first run is a warm-up and not counted when there
 * are more. Without the flag none of this is compiled. */
#ifdef RSC_UPREFIX<||>_PROFILE
#ifdef RSC_UPREFIX<||>_TRACE
#error "RSC_UPREFIX<||>_PROFILE and RSC_UPREFIX<||>_TRACE cannot be combined"
#endif
static const struct {
  const char *name;
  double macs;
} RSC_PREFIX<||>_prof_layer[] = {
m4_undivert(5)m4_dnl
};
#define RSC_UPREFIX<||>_PROF_N (sizeof RSC_PREFIX<||>_prof_layer / sizeof RSC_PREFIX<||>_prof_layer[0])
static double RSC_PREFIX<||>_prof_ms[RSC_UPREFIX<||>_PROF_N]; /* summed over the counted runs */
static double RSC_PREFIX<||>_prof_t;                  /* the clock at the last mark */
static size_t RSC_PREFIX<||>_prof_i;                  /* the next layer */
static long RSC_PREFIX<||>_prof_runs;                 /* runs started */

static double RSC_PREFIX<||>_prof_now(void)
{
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void RSC_PREFIX<||>_prof_start(void)
{
  if (++RSC_PREFIX<||>_prof_runs == 2) /* run 1 was the warm-up */
    memset(RSC_PREFIX<||>_prof_ms, 0, sizeof RSC_PREFIX<||>_prof_ms);
  RSC_PREFIX<||>_prof_i = 0;
  RSC_PREFIX<||>_prof_t = RSC_PREFIX<||>_prof_now();
}

static void RSC_PREFIX<||>_prof_mark(void)
{
  double t = RSC_PREFIX<||>_prof_now();
  if (RSC_PREFIX<||>_prof_i < RSC_UPREFIX<||>_PROF_N)
    RSC_PREFIX<||>_prof_ms[RSC_PREFIX<||>_prof_i++] += t - RSC_PREFIX<||>_prof_t;
  RSC_PREFIX<||>_prof_t = t;
}

static void RSC_PREFIX<||>_prof_print(void)
{
  long runs = RSC_PREFIX<||>_prof_runs > 1 ? RSC_PREFIX<||>_prof_runs - 1 : RSC_PREFIX<||>_prof_runs;
  if (runs < 1)
    return;
  double total = 0;
  for (size_t i = 0; i < RSC_UPREFIX<||>_PROF_N; i++)
    total += RSC_PREFIX<||>_prof_ms[i] / (double)runs;
  fprintf(stderr, "profile RSC_PREFIX: %zu layers, mean of %ld runs, %.3f ms\n", RSC_UPREFIX<||>_PROF_N, runs, total);
  fprintf(stderr, "profile %-32s %10s %9s %7s\n", "layer", "ms", "GFLOP/s", "share");
  for (size_t i = 0; i < RSC_UPREFIX<||>_PROF_N; i++) {
    double ms = RSC_PREFIX<||>_prof_ms[i] / (double)runs;
    double gflops = ms > 0 ? 2 * RSC_PREFIX<||>_prof_layer[i].macs / (ms * 1e6) : 0;
    fprintf(stderr, "profile %-32s %10.4f %9.2f %6.2f%%\n", RSC_PREFIX<||>_prof_layer[i].name, ms, gflops,
            total > 0 ? 100 * ms / total : 0);
  }
}

#endif

m4_include(<|loader.c.m4|>)m4_dnl

/* Build with -D<||>RSC_UPREFIX<||>_TRACE=fn, fn(const char *name, const float *out,
 * size_t n), to see every layer's output once the whole team has made it (rsc
 * --verify does, to compare layer by layer). Without it the hook is no code. */
#ifdef RSC_UPREFIX<||>_TRACE
#define RSC_UPREFIX<||>_TRACE_LAYER(name, out, n) \
  do { \
    if (part == 0) \
      RSC_UPREFIX<||>_TRACE(name, out, n); \
  } while (0)
#else
#define RSC_UPREFIX<||>_TRACE_LAYER(name, out, n) ((void)0)
#endif

#ifdef RSC_UPREFIX<||>_PROFILE /* the profile's clock marks replace the trace hook */
#undef RSC_UPREFIX<||>_TRACE_LAYER
#define RSC_UPREFIX<||>_TRACE_LAYER(name, out, n) \
  do { \
    (void)(out); \
    if (part == 0) \
      RSC_PREFIX<||>_prof_mark(); \
  } while (0)
#endif

/* The layers, run by every thread of the team: thread `part` of `parts`
 * does its share of each layer, then waits for the others. */
static void RSC_PREFIX<||>_body(RSC_PREFIX<||>_model *m, const RSC_IN_CTYPE *input, float *output, int part, int parts)
{
  float *const a = m->arena;
  const float *const w = m->weights;
  (void)a;
  (void)w;
  (void)rsc_team_sync; /* used by SE layers only */
#ifdef RSC_UPREFIX<||>_PROFILE
  if (part == 0)
    RSC_PREFIX<||>_prof_start();
#endif
m4_undivert(4)m4_dnl
}

m4_include(<|threads.c.m4|>)m4_dnl

int RSC_PREFIX<||>_run(RSC_PREFIX<||>_model *m, const RSC_IN_CTYPE *input, float *output)
{
  if (!m || !input || !output)
    return RSC_UPREFIX<||>_ERR_ARG;
m4_ifelse(RSC_MULTI, 1, <|  memset(m->out, 0, sizeof m->out); /* the output only: no endpoint copies */
|>)m4_dnl
  if (m->threads > 1)
    RSC_PREFIX<||>_run_team(m, input, output);
  else
    RSC_PREFIX<||>_body(m, input, output, 0, 1);
  return RSC_UPREFIX<||>_OK;
}
m4_ifelse(RSC_MULTI, 1, <|
/* The endpoints other than the last are copied to m->out[] by the body right
 * after the layer computing them; the last one is the body's output. */
int RSC_PREFIX<||>_run_outputs(RSC_PREFIX<||>_model *m, const RSC_IN_CTYPE *input,
                    float *const outputs[RSC_UPREFIX<||>_NUM_OUTPUTS])
{
  if (!m || !input || !outputs)
    return RSC_UPREFIX<||>_ERR_ARG;
  for (int k = 0; k < RSC_UPREFIX<||>_NUM_OUTPUTS; k++)
    if (!outputs[k])
      return RSC_UPREFIX<||>_ERR_ARG;
  memcpy(m->out, outputs, sizeof m->out);
  if (m->threads > 1)
    RSC_PREFIX<||>_run_team(m, input, outputs[RSC_UPREFIX<||>_NUM_OUTPUTS - 1]);
  else
    RSC_PREFIX<||>_body(m, input, outputs[RSC_UPREFIX<||>_NUM_OUTPUTS - 1], 0, 1);
  memset(m->out, 0, sizeof m->out); /* no pointers kept past the call */
  return RSC_UPREFIX<||>_OK;
}
|>)m4_dnl
m4_ifdef(<|RSC_WITH_MAIN|>, <|m4_include(<|main.c.m4|>)|>)m4_dnl
