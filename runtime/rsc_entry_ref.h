/*
 * rsc_entry_ref.h - the scalar twin of rsc_entry.h: element (n, h, w, c) of
 * the output is the input's element at the same place, read as NHWC or
 * NCHW, as bytes or floats, minus shift[c] (shift NULL: none).
 */
#ifndef RSC_ENTRY_REF_H
#define RSC_ENTRY_REF_H

static inline void rsc_entry_ref(const void *in, int u8, float *out, int N, int H, int W, int C,
                                 int nchw, const float *shift) {
  for (int n = 0; n < N; n++)
    for (int h = 0; h < H; h++)
      for (int w = 0; w < W; w++)
        for (int c = 0; c < C; c++) {
          const size_t i = nchw ? (((size_t)n * C + c) * H + h) * W + w
                                : (((size_t)n * H + h) * W + w) * C + c;
          const float x = u8 ? (float)((const unsigned char *)in)[i] : ((const float *)in)[i];
          out[(((size_t)n * H + h) * W + w) * C + c] = shift ? x - shift[c] : x;
        }
}

#endif /* RSC_ENTRY_REF_H */
