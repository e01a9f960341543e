/*
 * rsc_entry.h - the network's entry: the caller's input to the float NHWC
 * tensor the first conv reads. Scalar twin: rsc_entry_ref.h. Needs
 * rsc_vec.h.
 */
#ifndef RSC_ENTRY_H
#define RSC_ENTRY_H

/* Element i of the caller's input, bytes or floats. */
RSC_INLINE float rsc_entry_load(const void *restrict in, int u8, size_t i) {
  return u8 ? (float)((const unsigned char *)in)[i] : ((const float *)in)[i];
}

/*
 * The network's entry (the compiler's OP_ENTRY, compiler/entry.c): the
 * caller's input, bytes or floats, NHWC or NCHW, to the float32 NHWC tensor
 * the first conv reads, minus a per-channel shift (NULL: none). Under
 * `preprocess imagenet` the shift is 255 * the ImageNet mean and the conv's
 * weights carry the 1/(255 std) scale, so the conv's zero padding is exactly
 * the zero of normalised space.
 *   in   NHWC [N][H][W][C] (nchw == 0) or NCHW [N][C][H][W] (nchw == 1)
 *   out  NHWC [N][H][W][C], written in order
 */
RSC_INLINE void rsc_entry(const void *restrict in, int u8, float *restrict out, int N, int H,
                          int W, int C, int nchw, const float *restrict shift) {
  const size_t hw = (size_t)H * (size_t)W;
  for (int n = 0; n < N; n++)
    for (size_t p = 0; p < hw; p++)
      for (int c = 0; c < C; c++) {
        const size_t o = ((size_t)n * hw + p) * (size_t)C + (size_t)c;
        const size_t i = nchw ? ((size_t)n * (size_t)C + (size_t)c) * hw + p : o;
        const float x = rsc_entry_load(in, u8, i);
        out[o] = shift ? x - shift[c] : x;
      }
}

/* uint8_t is unsigned char wherever it exists; the runtime needs no <stdint.h>. */
RSC_INLINE void rsc_entry_u8(const unsigned char *restrict in, float *restrict out, int N, int H,
                             int W, int C, int nchw, const float *restrict shift) {
  rsc_entry(in, 1, out, N, H, W, C, nchw, shift);
}

RSC_INLINE void rsc_entry_f32(const float *restrict in, float *restrict out, int N, int H, int W,
                              int C, int nchw, const float *restrict shift) {
  rsc_entry(in, 0, out, N, H, W, C, nchw, shift);
}

#endif /* RSC_ENTRY_H */
