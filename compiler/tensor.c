/*
 * tensor.c - a weight tensor's values and the scales passes put on them, in
 * one place. A tensor's values are its data, or, for a deferred tensor
 * (weights_random_deferred), values not drawn yet: weights.c's generator
 * draws them when they are needed (tensor_values), one tensor at a time, so
 * that a big model's random weights never all exist in memory at once.
 *
 * Passes that rescale a tensor (fold.c: the BN scale per output channel;
 * entry.c: the preprocessing scale per input channel of the first conv) only
 * record the scale with tensor_scale. Values present are scaled at once; a
 * deferred tensor keeps its scales, in the order recorded, and tensor_values
 * applies them to the values it draws: the same operations in the same order
 * as on drawn values, so the same bits either way. Each value is multiplied
 * in double and rounded to float once per scale.
 */
#include "rsc.h"

#include <stdlib.h>

/* data (t's dims) times sc, rounded once per value. */
static void apply_scale(const Tensor *t, const TensorScale *sc, float *data) {
  size_t rows = (size_t)t->dims[0], per_row = tensor_elems(t) / (rows ? rows : 1);
  if (sc->axis == 0) { /* output channel o: w[o][...] *= s[o] */
    for (size_t o = 0; o < rows; o++) {
      float *row = data + o * per_row;
      for (size_t k = 0; k < per_row; k++)
        row[k] = (float)(row[k] * sc->s[o]);
    }
    return;
  }
  /* input channel c: w[o][c][...] *= s[c] */
  size_t cin = (size_t)t->dims[1], taps = per_row / cin;
  for (size_t o = 0; o < rows; o++)
    for (size_t c = 0; c < cin; c++) {
      float *p = data + (o * cin + c) * taps;
      for (size_t k = 0; k < taps; k++)
        p[k] = (float)(p[k] * sc->s[c]);
    }
}

void tensor_scale(Tensor *t, int axis, double *s) {
  RSC_ASSERT((axis == 0 || axis == 1) && t->ndim > axis);
  TensorScale sc = {axis, s};
  if (!t->deferred) {
    RSC_ASSERT(t->data);
    apply_scale(t, &sc, t->data);
    free(s);
    return;
  }
  RSC_ASSERT(t->nscales < TENSOR_MAX_SCALES);
  t->scales[t->nscales++] = sc;
}

const float *tensor_values(const Graph *g, const Tensor *t, float **scratch, size_t *cap) {
  if (!t->deferred)
    return t->data;
  size_t n = tensor_elems(t);
  if (n > *cap || !*scratch) {
    free(*scratch);
    *scratch = xmalloc((n ? n : 1) * sizeof(float));
    *cap = n;
  }
  weights_draw(g, t, *scratch);
  for (int k = 0; k < t->nscales; k++)
    apply_scale(t, &t->scales[k], *scratch);
  return *scratch;
}
