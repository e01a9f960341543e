m4_dnl model.h.m4 - the public header of a generated model. Macros (from emit.c):
m4_dnl RSC_PREFIX, RSC_UPREFIX (identifier prefix, lower/upper case), RSC_BANNER,
m4_dnl RSC_BATCH, RSC_IN_H, RSC_IN_W, RSC_IN_C, RSC_OUT_H, RSC_OUT_W, RSC_OUT_C,
m4_dnl RSC_OUT_SIZE, RSC_ARENA_BYTES, RSC_WEIGHT_BYTES, RSC_OUT_DOC.
m4_divert(0)m4_dnl
/*
RSC_BANNER */
#ifndef RSC_UPREFIX<||>_H
#define RSC_UPREFIX<||>_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Input: float32 NHWC [RSC_UPREFIX<||>_BATCH][RSC_UPREFIX<||>_IN_H][RSC_UPREFIX<||>_IN_W][RSC_UPREFIX<||>_IN_C]. */
#define RSC_UPREFIX<||>_BATCH RSC_BATCH
#define RSC_UPREFIX<||>_IN_H RSC_IN_H
#define RSC_UPREFIX<||>_IN_W RSC_IN_W
#define RSC_UPREFIX<||>_IN_C RSC_IN_C
/* Output: float32 [RSC_UPREFIX<||>_BATCH][RSC_UPREFIX<||>_OUT_SIZE]; RSC_OUT_DOC */
#define RSC_UPREFIX<||>_OUT_H RSC_OUT_H
#define RSC_UPREFIX<||>_OUT_W RSC_OUT_W
#define RSC_UPREFIX<||>_OUT_C RSC_OUT_C
#define RSC_UPREFIX<||>_OUT_SIZE RSC_OUT_SIZE
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
  RSC_UPREFIX<||>_ERR_CHECKSUM = 10  /* payload corrupted */
};

typedef struct RSC_PREFIX<||>_model RSC_PREFIX<||>_model;

/* Loads the weights file written beside the .c by rsc; 0 on success. */
int RSC_PREFIX<||>_open(RSC_PREFIX<||>_model **model, const char *weights_path);
/* One inference; no allocation. A model is not to be run by two threads at once. */
int RSC_PREFIX<||>_run(RSC_PREFIX<||>_model *model, const float *input, float *output);
void RSC_PREFIX<||>_close(RSC_PREFIX<||>_model *model);
const char *RSC_PREFIX<||>_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
