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
 * pinning is left out (RSC_HAVE_PIN, runtime/rsc_threads.h), not declared by hand. */
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

/* -D<||>RSC_UPREFIX<||>_NO_THREADS: no thread team, no thread library (runtime/rsc_threads.h). */
#ifdef RSC_UPREFIX<||>_NO_THREADS
#define RSC_NO_THREADS
#endif
/* The precision the .weights must have (runtime/rsc_loader.h). */
#define RSC_MODEL_PRECISION RSC_PRECISION
#define RSC_MODEL_PRECISION_NAME "RSC_PRECISION_NAME"

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
m4_undivert(RSC_RUNTIME<||>/rsc_loader.h)m4_dnl
m4_undivert(RSC_RUNTIME<||>/rsc_threads.h)m4_dnl
/* ==== end rsc runtime ==== */
/* The API returns the runtime's codes as they are (runtime/rsc_limits.h). */
_Static_assert(RSC_UPREFIX<||>_OK == RSC_OK && RSC_UPREFIX<||>_ERR_ARG == RSC_ERR_ARG &&
                   RSC_UPREFIX<||>_ERR_NOMEM == RSC_ERR_NOMEM && RSC_UPREFIX<||>_ERR_OPEN == RSC_ERR_OPEN &&
                   RSC_UPREFIX<||>_ERR_READ == RSC_ERR_READ && RSC_UPREFIX<||>_ERR_MAGIC == RSC_ERR_MAGIC &&
                   RSC_UPREFIX<||>_ERR_VERSION == RSC_ERR_VERSION && RSC_UPREFIX<||>_ERR_MODEL == RSC_ERR_MODEL &&
                   RSC_UPREFIX<||>_ERR_TRUNCATED == RSC_ERR_TRUNCATED && RSC_UPREFIX<||>_ERR_SIZE == RSC_ERR_SIZE &&
                   RSC_UPREFIX<||>_ERR_CHECKSUM == RSC_ERR_CHECKSUM &&
                   RSC_UPREFIX<||>_ERR_THREADS == RSC_ERR_THREADS && RSC_UPREFIX<||>_ERR_CPU == RSC_ERR_CPU &&
                   RSC_UPREFIX<||>_ERR_PRECISION == RSC_ERR_PRECISION,
               "the header's return codes are runtime/rsc_limits.h's");
_Static_assert(RSC_UPREFIX<||>_MAX_THREADS == RSC_MAX_THREADS, "the header's MAX_THREADS is the runtime's");

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
struct RSC_PREFIX<||>_model {
  float *weights; /* RSC_UPREFIX<||>_WEIGHT_BYTES, 64-byte aligned */
  float *arena;   /* RSC_UPREFIX<||>_ARENA_BYTES, 64-byte aligned */
  rsc_team team;  /* the threads running it, the caller's included; 1 after open */
m4_ifelse(RSC_MULTI, 1, <|  float *out[RSC_UPREFIX<||>_NUM_OUTPUTS]; /* this run's endpoint buffers; NULL: not asked for */
|>)m4_dnl
};

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
#ifdef RSC_UPREFIX<||>_PROFILE
  if (part == 0)
    RSC_PREFIX<||>_prof_start();
#endif
m4_undivert(4)m4_dnl
}

m4_ifelse(RSC_EMBED, 1, <|/* ---- the weights inside the object file (rsc --embed-weights) ----
 * The assembler's .incbin reads RSC_UPREFIX<||>_WEIGHTS_FILE when this file is compiled:
 * by default the .weights path exactly as rsc was told to write it, so relative
 * to the directory rsc ran in. Compile from that directory (the usual Makefile
 * case), give rsc an absolute -o, or define it: -D'RSC_UPREFIX<||>_WEIGHTS_FILE="dir/x.weights"'.
 * The bytes are checked at open exactly like a file's (rsc_check_blob). */
#ifndef RSC_UPREFIX<||>_WEIGHTS_FILE
#define RSC_UPREFIX<||>_WEIGHTS_FILE "RSC_WEIGHTS_FILE"
#endif
#if defined(__ELF__)
#define RSC_UPREFIX<||>_ASM_SECTION ".pushsection .rodata.RSC_PREFIX<||>_weights,\"a\"\n"
#define RSC_UPREFIX<||>_ASM_LOCAL(sym) ".globl " sym "\n.hidden " sym "\n"
#elif defined(__APPLE__)
#define RSC_UPREFIX<||>_ASM_SECTION ".pushsection __DATA,__const\n"
#define RSC_UPREFIX<||>_ASM_LOCAL(sym) ".globl " sym "\n.private_extern " sym "\n"
#else
#error "--embed-weights needs an ELF or Mach-O assembler; generate the model without it"
#endif
__asm__(RSC_UPREFIX<||>_ASM_SECTION
        RSC_UPREFIX<||>_ASM_LOCAL("RSC_PREFIX<||>_wblob_")
        RSC_UPREFIX<||>_ASM_LOCAL("RSC_PREFIX<||>_wsize_")
        ".balign 64\n"
        "RSC_PREFIX<||>_wblob_:\n"
        ".incbin \"" RSC_UPREFIX<||>_WEIGHTS_FILE "\"\n"
        "RSC_PREFIX<||>_wend_:\n"
        ".balign 8\n"
        "RSC_PREFIX<||>_wsize_:\n"
        ".quad RSC_PREFIX<||>_wend_ - RSC_PREFIX<||>_wblob_\n"
        ".popsection\n");
/* The whole .weights file (64-byte aligned, so the payload after the header is
 * too) and its length, named by the assembler labels above. */
extern const unsigned char RSC_PREFIX<||>_wblob_[] __asm__("RSC_PREFIX<||>_wblob_");
extern const uint64_t RSC_PREFIX<||>_wsize_ __asm__("RSC_PREFIX<||>_wsize_");

|>)m4_dnl
/* ---- the API: this model's weights and arena on the runtime's loader and
 * thread team (runtime/rsc_loader.h, runtime/rsc_threads.h) ---- */
const char *RSC_PREFIX<||>_strerror(int code)
{
  return rsc_strerror(code);
}

void RSC_PREFIX<||>_close(RSC_PREFIX<||>_model *m)
{
  if (!m)
    return;
#ifdef RSC_UPREFIX<||>_PROFILE
  RSC_PREFIX<||>_prof_print();
#endif
  rsc_team_stop(&m->team);
m4_ifelse(RSC_EMBED, 1, <|  if ((const void *)m->weights != (const void *)(RSC_PREFIX<||>_wblob_ + RSC_WFILE_HEADER))
    free(m->weights);|>, <|  free(m->weights);|>)
  free(m->arena);
  free(m);
}

int RSC_PREFIX<||>_open(RSC_PREFIX<||>_model **model, const char *weights_path)
{
  if (!model<||>m4_ifelse(RSC_EMBED, 1, , <| || !weights_path|>))
    return RSC_UPREFIX<||>_ERR_ARG;
  *model = NULL;
  if (!rsc_cpu_ok())
    return RSC_UPREFIX<||>_ERR_CPU;
  RSC_PREFIX<||>_model *m = calloc(1, sizeof *m);
  if (!m)
    return RSC_UPREFIX<||>_ERR_NOMEM;
  rsc_team_init(&m->team);
m4_ifelse(RSC_EMBED, 1, <|  if (!weights_path) { /* the embedded copy, used in place */
    int rc = rsc_check_blob(RSC_PREFIX<||>_wblob_, RSC_PREFIX<||>_wsize_, UINT64_C(RSC_FINGERPRINT), RSC_UPREFIX<||>_WEIGHT_BYTES);
    m->arena = rsc_alloc64(RSC_UPREFIX<||>_ARENA_BYTES);
    if (rc == RSC_UPREFIX<||>_OK && !m->arena)
      rc = RSC_UPREFIX<||>_ERR_NOMEM;
    m->weights = (float *)(uintptr_t)(RSC_PREFIX<||>_wblob_ + RSC_WFILE_HEADER);
    if (rc != RSC_UPREFIX<||>_OK) {
      RSC_PREFIX<||>_close(m);
      return rc;
    }
    *model = m;
    return RSC_UPREFIX<||>_OK;
  }
|>)m4_dnl
  m->weights = rsc_alloc64(RSC_UPREFIX<||>_WEIGHT_BYTES);
  m->arena = rsc_alloc64(RSC_UPREFIX<||>_ARENA_BYTES);
  if (!m->weights || !m->arena) {
    RSC_PREFIX<||>_close(m);
    return RSC_UPREFIX<||>_ERR_NOMEM;
  }
  int rc = rsc_load_weights(weights_path, m->weights, UINT64_C(RSC_FINGERPRINT), RSC_UPREFIX<||>_WEIGHT_BYTES);
  if (rc != RSC_UPREFIX<||>_OK) {
    RSC_PREFIX<||>_close(m);
    return rc;
  }
  *model = m;
  return RSC_UPREFIX<||>_OK;
}

int RSC_PREFIX<||>_set_threads(RSC_PREFIX<||>_model *m, int n)
{
  if (!m || n < 1 || n > RSC_UPREFIX<||>_MAX_THREADS)
    return RSC_UPREFIX<||>_ERR_ARG;
  return rsc_team_resize(&m->team, n);
}

int RSC_PREFIX<||>_pin_threads(RSC_PREFIX<||>_model *m, int on)
{
  if (!m)
    return RSC_UPREFIX<||>_ERR_ARG;
  return rsc_team_pin(&m->team, on);
}

/* One run's arguments, for every thread of the team. */
typedef struct RSC_PREFIX<||>_run_args {
  RSC_PREFIX<||>_model *m;
  const RSC_IN_CTYPE *input;
  float *output;
} RSC_PREFIX<||>_run_args;

static void RSC_PREFIX<||>_body_part(void *ctx, int part, int parts)
{
  const RSC_PREFIX<||>_run_args *r = ctx;
  RSC_PREFIX<||>_body(r->m, r->input, r->output, part, parts);
}

/* The body on every thread of the team, or on the caller's alone. */
static void RSC_PREFIX<||>_run_body(RSC_PREFIX<||>_model *m, const RSC_IN_CTYPE *input, float *output)
{
  if (m->team.threads > 1) {
    RSC_PREFIX<||>_run_args r = {m, input, output};
    rsc_team_run(&m->team, RSC_PREFIX<||>_body_part, &r);
  } else {
    RSC_PREFIX<||>_body(m, input, output, 0, 1);
  }
}

int RSC_PREFIX<||>_run(RSC_PREFIX<||>_model *m, const RSC_IN_CTYPE *input, float *output)
{
  if (!m || !input || !output)
    return RSC_UPREFIX<||>_ERR_ARG;
m4_ifelse(RSC_MULTI, 1, <|  memset(m->out, 0, sizeof m->out); /* the output only: no endpoint copies */
|>)m4_dnl
  RSC_PREFIX<||>_run_body(m, input, output);
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
  RSC_PREFIX<||>_run_body(m, input, outputs[RSC_UPREFIX<||>_NUM_OUTPUTS - 1]);
  memset(m->out, 0, sizeof m->out); /* no pointers kept past the call */
  return RSC_UPREFIX<||>_OK;
}
|>)m4_dnl
m4_ifdef(<|RSC_WITH_MAIN|>, <|m4_include(<|main.c.m4|>)|>)m4_dnl
