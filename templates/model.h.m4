m4_dnl model.h.m4 - the public header of a generated model. Macros (from emit.c):
m4_dnl RSC_PREFIX, RSC_UPREFIX (identifier prefix, lower/upper case), RSC_BANNER,
m4_dnl RSC_BATCH, RSC_IN_H, RSC_IN_W, RSC_IN_C, RSC_OUT_H, RSC_OUT_W, RSC_OUT_C,
m4_dnl RSC_OUT_SIZE, RSC_ARENA_BYTES, RSC_WEIGHT_BYTES, RSC_OUT_DOC, and the input's
m4_dnl format: RSC_IN_CTYPE, RSC_IN_U8, RSC_IN_NCHW, RSC_IN_IMAGENET, RSC_IN_SIZE;
m4_dnl the `outputs` key: RSC_MULTI (1 unless only the head), RSC_NUM_OUTPUTS and
m4_dnl RSC_OUTPUT_LIST, one RSC_OUTPUT(NAME, index, h, w, c, size, doc) per endpoint.
m4_define(<|RSC_OUTPUT|>, <|#define RSC_UPREFIX<||>_OUT_$1 $2 /* $7 */
#define RSC_UPREFIX<||>_OUT_$1_H $3
#define RSC_UPREFIX<||>_OUT_$1_W $4
#define RSC_UPREFIX<||>_OUT_$1_C $5
#define RSC_UPREFIX<||>_OUT_$1_SIZE $6
|>)m4_dnl
m4_divert(0)m4_dnl
/*
RSC_BANNER */
#ifndef RSC_UPREFIX<||>_H
#define RSC_UPREFIX<||>_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Input: RSC_IN_CTYPE m4_ifelse(RSC_IN_NCHW, 1, <|NCHW [RSC_UPREFIX<||>_BATCH][RSC_UPREFIX<||>_IN_C][RSC_UPREFIX<||>_IN_H][RSC_UPREFIX<||>_IN_W]|>, <|NHWC [RSC_UPREFIX<||>_BATCH][RSC_UPREFIX<||>_IN_H][RSC_UPREFIX<||>_IN_W][RSC_UPREFIX<||>_IN_C]|>)m4_ifelse(RSC_IN_IMAGENET, 1, <|,
 * RGB in [0, 255]: the model applies ImageNet preprocessing itself (x/255, then
 * (x - mean)/std per channel; spec key preprocess imagenet)|>).
 * RSC_UPREFIX<||>_IN_TYPE is the element type of RSC_PREFIX<||>_run's input, RSC_UPREFIX<||>_IN_SIZE the elements
 * per image; RSC_UPREFIX<||>_IN_U8, RSC_UPREFIX<||>_IN_NCHW and RSC_UPREFIX<||>_IN_IMAGENET (0 or 1) are for #if. */
#define RSC_UPREFIX<||>_BATCH RSC_BATCH
#define RSC_UPREFIX<||>_IN_H RSC_IN_H
#define RSC_UPREFIX<||>_IN_W RSC_IN_W
#define RSC_UPREFIX<||>_IN_C RSC_IN_C
#define RSC_UPREFIX<||>_IN_SIZE RSC_IN_SIZE
#define RSC_UPREFIX<||>_IN_TYPE RSC_IN_CTYPE
#define RSC_UPREFIX<||>_IN_U8 RSC_IN_U8
#define RSC_UPREFIX<||>_IN_NCHW RSC_IN_NCHW
#define RSC_UPREFIX<||>_IN_IMAGENET RSC_IN_IMAGENET
/* Output: float32 [RSC_UPREFIX<||>_BATCH][RSC_UPREFIX<||>_OUT_SIZE]; RSC_OUT_DOC */
#define RSC_UPREFIX<||>_OUT_H RSC_OUT_H
#define RSC_UPREFIX<||>_OUT_W RSC_OUT_W
#define RSC_UPREFIX<||>_OUT_C RSC_OUT_C
#define RSC_UPREFIX<||>_OUT_SIZE RSC_OUT_SIZE
m4_ifelse(RSC_MULTI, 1, <|/* Outputs (spec key outputs): RSC_PREFIX<||>_run_outputs writes each of these
 * endpoints to its own buffer, outputs[RSC_UPREFIX<||>_OUT_<NAME>], float32 NHWC
 * [RSC_UPREFIX<||>_BATCH][<NAME>_H][<NAME>_W][<NAME>_C], <NAME>_SIZE floats per image.
 * The last one is the Output above. */
#define RSC_UPREFIX<||>_NUM_OUTPUTS RSC_NUM_OUTPUTS
RSC_OUTPUT_LIST<||>|>)m4_dnl
/* Memory: the activation arena allocated by RSC_PREFIX<||>_open, and the weights payload. */
#define RSC_UPREFIX<||>_ARENA_BYTES RSC_ARENA_BYTES
#define RSC_UPREFIX<||>_WEIGHT_BYTES RSC_WEIGHT_BYTES

/* Return codes of RSC_PREFIX<||>_open and RSC_PREFIX<||>_run; RSC_PREFIX<||>_strerror explains each. */
enum {
  RSC_UPREFIX<||>_OK = 0,
  RSC_UPREFIX<||>_ERR_ARG = 1,       /* a NULL argument */
  RSC_UPREFIX<||>_ERR_NOMEM = 2,     /* allocation failed */
  RSC_UPREFIX<||>_ERR_OPEN = 3,      /* the weights file cannot be opened */
  RSC_UPREFIX<||>_ERR_READ = 4,      /* read error */
  RSC_UPREFIX<||>_ERR_MAGIC = 5,     /* not an rsc weights file */
  RSC_UPREFIX<||>_ERR_VERSION = 6,   /* another weights format version */
  RSC_UPREFIX<||>_ERR_MODEL = 7,     /* weights of another model (fingerprint differs) */
  RSC_UPREFIX<||>_ERR_TRUNCATED = 8, /* shorter than its header says */
  RSC_UPREFIX<||>_ERR_SIZE = 9,      /* size differs from this model's, or trailing bytes */
  RSC_UPREFIX<||>_ERR_CHECKSUM = 10, /* payload corrupted */
  RSC_UPREFIX<||>_ERR_THREADS = 11,  /* threads unavailable (built without) or not created */
  RSC_UPREFIX<||>_ERR_CPU = 12,      /* this CPU lacks the instruction set the code was built for */
  RSC_UPREFIX<||>_ERR_PRECISION = 13 /* weights of another precision (rsc --precision) */
};
/* The most threads RSC_PREFIX<||>_set_threads accepts. */
#define RSC_UPREFIX<||>_MAX_THREADS 64

typedef struct RSC_PREFIX<||>_model RSC_PREFIX<||>_model;

/* Loads the weights file written beside the .c by rsc; 0 on success.m4_ifelse(RSC_EMBED, 1, <|
 * The weights are also inside the object (rsc --embed-weights): weights_path
 * NULL opens that copy, checked like a file and used in place.|>) */
int RSC_PREFIX<||>_open(RSC_PREFIX<||>_model **model, const char *weights_path);
/* One inference; no allocation (Winograd layers use 64 KiB of each running
 * thread's stack for their tiles). A model is not to be run by two threads at once.
 * Debug hook: compiling the .c with -D<||>RSC_UPREFIX<||>_TRACE=fn calls
 * fn(const char *timm_name, const float *out, size_t n) after every layer (rsc
 * --verify uses it); without that define there is no such code. */
int RSC_PREFIX<||>_run(RSC_PREFIX<||>_model *model, const RSC_IN_CTYPE *input, float *output);
m4_ifelse(RSC_MULTI, 1, <|/* The same inference, writing every endpoint of the spec's `outputs`:
 * outputs[RSC_UPREFIX<||>_OUT_<NAME>] receives endpoint NAME (sizes above). All
 * RSC_UPREFIX<||>_NUM_OUTPUTS pointers must be non-NULL (else ERR_ARG) and the buffers must
 * not overlap each other or the input. RSC_PREFIX<||>_run above writes only the last
 * endpoint (its output) and skips the copies of the others. */
int RSC_PREFIX<||>_run_outputs(RSC_PREFIX<||>_model *model, const RSC_IN_CTYPE *input,
                    float *const outputs[RSC_UPREFIX<||>_NUM_OUTPUTS]);
|>)m4_dnl
/* Runs the model on n threads (the caller's and n-1 workers kept for the model's
 * life; 1 after open, which starts none). Outputs are bit-identical for every n.
 * ERR_THREADS if built with -D<||>RSC_UPREFIX<||>_NO_THREADS and n > 1. */
int RSC_PREFIX<||>_set_threads(RSC_PREFIX<||>_model *model, int n);
/* on != 0 binds each worker thread to one CPU, worker i (1 .. n-1) to the i-th
 * CPU of the caller's affinity mask (wrapping around); the caller's own thread
 * is left alone. Without it the kernel may wake a worker parked between runs on
 * the caller's CPU and the two share it for milliseconds: on a 2-core machine a
 * 2-thread run after a pause of 0.1 s or more can take as long as a 1-thread
 * run (docs/kernels.md). on == 0 (the default) unbinds. Applies to the current
 * team (restarted) and later ones; ERR_THREADS where unsupported unless
 * on == 0: not Linux, built without threads, or the .c compiled after a system
 * header hid <sched.h>'s GNU affinity API from it (a forced -include, a
 * precompiled header; define _GNU_SOURCE there to keep pinning). */
int RSC_PREFIX<||>_pin_threads(RSC_PREFIX<||>_model *model, int on);
void RSC_PREFIX<||>_close(RSC_PREFIX<||>_model *model);
const char *RSC_PREFIX<||>_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
