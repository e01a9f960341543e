m4_dnl model.c.m4 - the skeleton of a generated model .c file. emit.c defines the
m4_dnl scalar macros (RSC_PREFIX, RSC_UPREFIX, RSC_BANNER, RSC_HEADER, RSC_RUNTIME,
m4_dnl RSC_FINGERPRINT, RSC_SCRATCH, RSC_IN, RSC_OUT) and fills diversions 1-4
m4_dnl through rsc.m4's macros before including this file.
m4_divert(0)m4_dnl
/*
RSC_BANNER */
#include "RSC_HEADER"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- runtime kernels (from rsc's runtime/rsc_kernels.h) ---- */
m4_undivert(RSC_RUNTIME)
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
};

m4_include(<|loader.c.m4|>)m4_dnl

int RSC_PREFIX<||>_run(RSC_PREFIX<||>_model *m, const RSC_IN_CTYPE *input, float *output)
{
  if (!m || !input || !output)
    return RSC_UPREFIX<||>_ERR_ARG;
  float *const a = m->arena;
  const float *const w = m->weights;
  (void)a;
  (void)w;
m4_undivert(4)m4_dnl
  return RSC_UPREFIX<||>_OK;
}
m4_ifdef(<|RSC_WITH_MAIN|>, <|m4_include(<|main.c.m4|>)|>)m4_dnl
