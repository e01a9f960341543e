/*
 * rsc_one_thread.h - whole layers on one thread, for the unit tests and
 * benches: each calls its kernel's _part form as part 0 of 1. Generated
 * models never use them (they call the _part forms on every thread of the
 * team), so they are not in runtime/ and not pasted into models.
 * Include after runtime/rsc_kernels.h.
 */
#ifndef RSC_ONE_THREAD_H
#define RSC_ONE_THREAD_H

/* The whole conv on one thread, with a 4-pixel tile. */
RSC_INLINE void rsc_conv2d(const float *restrict in, const float *restrict w,
                           const float *restrict bias, float *restrict out, int N, int H, int W,
                           int C, int OH, int OW, int K, int KH, int KW, int SH, int SW, int PT,
                           int PL, int KB, int act) {
  rsc_conv2d_part(in, w, bias, out, NULL, 1, N, H, W, C, OH, OW, K, KH, KW, SH, SW, PT, PL, KB, 4,
                  1, 0, 0, 1, 0, act, 0, 1);
}

/* The whole pool on one thread. */
RSC_INLINE void rsc_maxpool(const float *restrict in, float *restrict out, int N, int H, int W,
                            int C, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL) {
  rsc_pool_part(in, out, N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, 0, 0, 1);
}

RSC_INLINE void rsc_avgpool(const float *restrict in, float *restrict out, int N, int H, int W,
                            int C, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL) {
  rsc_pool_part(in, out, N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, 1, 0, 1);
}

/* The whole dense layer on one thread (rsc_dense_part's layouts). */
RSC_INLINE void rsc_dense(const float *restrict in, const float *restrict w,
                          const float *restrict b, float *restrict out, int N, int CIN, int K,
                          int KB, int act) {
  rsc_dense_blocks(in, w, b, out, N, CIN, K, KB, 0, (K + KB - 1) / KB, act);
}

/* The whole of rsc_se_add_part on one thread. */
RSC_INLINE void rsc_se_add(const float *x, const float *sc,
                           const float *restrict w1, const float *restrict b1,
                           const float *restrict w2, const float *restrict b2, float *out,
                           float *restrict scratch, int PC, int N, int HW, int C, int M, int KB,
                           int act) {
  rsc_se_add_part(x, sc, w1, b1, w2, b2, out, scratch, NULL, PC, N, HW, C, M, KB, act, 0, 1, NULL,
                  NULL);
}

#endif /* RSC_ONE_THREAD_H */
