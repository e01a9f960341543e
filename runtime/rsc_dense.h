/*
 * rsc_dense.h - the dense layer, the elementwise residual add, the fused
 * Squeeze-and-Excitation tail and the softmax. Scalar twin: rsc_dense_ref.h.
 * Needs rsc_vec.h and rsc_pool.h (SE's squeeze is a pixel mean).
 */
#ifndef RSC_DENSE_H
#define RSC_DENSE_H

/* A register block of rsc_dense_blocks: the sums of one KB-column block for
 * up to RSC_DENSE_ROWS rows, KB/RSC_VL vectors per row, beside the row's
 * KB/RSC_VL weight vectors and a broadcast: 16 + 2 + 1 of AVX-512's 32
 * registers at KB 32, 8 + 4 + 1 of AVX2's 16, and the portable 4-float
 * vectors one row. Blocks wider than RSC_DENSE_MAXKB (or not whole vectors)
 * take the scalar lanes instead. */
#define RSC_DENSE_ROWS (RSC_VL == 16 ? 8 : RSC_VL == 8 ? 2 : 1)
#define RSC_DENSE_MAXKB 32

/*
 * Column blocks [blk0, blk1) of rsc_dense (KB columns each). Block blk's
 * weights are one contiguous [CIN][KB] run, so a thread's blocks are one
 * sequential stream: at small batch a dense layer is a matrix-vector
 * product bound by DRAM, and a stream per core is what keeps the hardware
 * prefetchers (and both cores' memory queues) full. The sums of a block
 * stay in registers over all CIN inputs, each weight vector serving every
 * row of the register block; the last block's padding columns (zero weights)
 * are computed but not stored. Every output is b + the sum over i in
 * increasing order, one RSC_FMA per product, whatever N, the blocks, the
 * path or the target. Measured (2-core Zen 5 EPYC, cold weights, 2048x512):
 * 1 row 102 us on one thread, 82 on two, where the [in][out] layout took
 * 130 (one thread streaming whole rows; two threads on alternate halves of
 * each row, 134); 8 rows 165 / 100 us against 253 / 135.
 */
RSC_INLINE void rsc_dense_blocks(const float *restrict in, const float *restrict w,
                                 const float *restrict b, float *restrict out, int N, int CIN,
                                 int K, int KB, long blk0, long blk1, int act) {
  const int V = KB / RSC_VL;
  const int vec = KB % RSC_VL == 0 && KB <= RSC_DENSE_MAXKB;
  for (long blk = blk0; blk < blk1; blk++) {
    const float *restrict wb = w + (size_t)blk * (size_t)CIN * (size_t)KB;
    const size_t k = (size_t)blk * (size_t)KB;
    const int cols = (size_t)K - k < (size_t)KB ? (int)((size_t)K - k) : KB;
    for (int n0 = 0; n0 < N; n0 += vec ? RSC_DENSE_ROWS : 1) {
      const float *restrict x = in + (size_t)n0 * (size_t)CIN;
      float *restrict o = out + (size_t)n0 * (size_t)K + k;
      if (!vec) { /* scalar lanes, one row */
        for (int l = 0; l < cols; l++) {
          float acc = b[k + (size_t)l];
          for (int i = 0; i < CIN; i++)
            acc = RSC_FMA(x[i], wb[(size_t)i * (size_t)KB + (size_t)l], acc);
          o[l] = rsc_act(acc, act);
        }
        continue;
      }
      const int nr = N - n0 < RSC_DENSE_ROWS ? N - n0 : RSC_DENSE_ROWS;
      rsc_vf s[RSC_DENSE_ROWS][RSC_DENSE_MAXKB / RSC_VL];
      for (int r = 0; r < nr; r++)
        for (int v = 0; v < V; v++)
          s[r][v] = rsc_vload(b + k + (size_t)v * RSC_VL);
      for (int i = 0; i < CIN; i++) {
        rsc_vf wv[RSC_DENSE_MAXKB / RSC_VL];
        for (int v = 0; v < V; v++)
          wv[v] = rsc_vload(wb + (size_t)i * (size_t)KB + (size_t)v * RSC_VL);
        for (int r = 0; r < nr; r++) {
          const rsc_vf a = rsc_vset1(x[(size_t)r * (size_t)CIN + (size_t)i]);
          for (int v = 0; v < V; v++)
            s[r][v] = rsc_vfma(a, wv[v], s[r][v]);
        }
      }
      for (int r = 0; r < nr; r++) {
        float sums[RSC_DENSE_MAXKB];
        for (int v = 0; v < V; v++)
          rsc_vstore(sums + v * RSC_VL, s[r][v]);
        for (int l = 0; l < cols; l++) /* not the last block's padding */
          o[(size_t)r * (size_t)K + (size_t)l] = rsc_act(sums[l], act);
      }
    }
  }
}

/* ---------------------------------------------------------------- elementwise */

/* out[i] = act(a[i] + b[i]) for n elements (any layout, all three alike). */
RSC_INLINE void rsc_add_act(const float *restrict a, const float *restrict b, float *restrict out,
                            size_t n, int act) {
  for (size_t i = 0; i < n; i++)
    out[i] = rsc_act(a[i] + b[i], act);
}

/* Part `part` of `parts` of rsc_add_act: a contiguous, 16-float aligned range. */
RSC_INLINE void rsc_add_act_part(const float *restrict a, const float *restrict b,
                                 float *restrict out, size_t n, int act, int part, int parts) {
  size_t lo, hi;
  rsc_range(n, part, parts, &lo, &hi);
  rsc_add_act(a + lo, b + lo, out + lo, hi - lo, act);
}

/*
 * out = act(in * w + b), part `part` of `parts` of it.
 *   in [N][CIN], out [N][K], b [ceil(K/KB)*KB] (zero-padded)
 *   w  [ceil(K/KB)][CIN][KB] (LAYOUT_DENSE_BLOCK): element (o,i) of the
 *      [out][in] weight at ((o/KB)*CIN + i)*KB + o%KB; padded o are 0
 * Each output is b + the sum over i in increasing order. Split over output
 * column blocks: each part takes one contiguous run of blocks, so one
 * stream of weights per thread (rsc_dense_blocks), and no output cache line
 * is written by two parts while KB floats are a multiple of 64 bytes.
 */
RSC_INLINE void rsc_dense_part(const float *restrict in, const float *restrict w,
                               const float *restrict b, float *restrict out, int N, int CIN, int K,
                               int KB, int act, int part, int parts) {
  const long nblk = (K + KB - 1) / KB;
  const long blk0 = nblk * part / parts, blk1 = nblk * (part + 1) / parts;
  if (blk1 > blk0)
    rsc_dense_blocks(in, w, b, out, N, CIN, K, KB, blk0, blk1, act);
}

/* SE's excite and the residual tail for pixels [p0, p1) of one image:
 * out[p][c] = act(x[p][c] * g[c] + sc[p][c]), vectors for ReLU and none.
 * out may be x or sc (each element is read before it is written). */
RSC_INLINE void rsc_se_scale_add(const float *x, const float *restrict g, const float *sc,
                                 float *out, int C, size_t p0,
                                 size_t p1, int act) {
  const int vec = act == RSC_ACT_RELU || act == RSC_ACT_NONE;
  for (size_t p = p0; p < p1; p++) {
    const size_t at = p * (size_t)C;
    int c = 0;
    for (; vec && c + RSC_VL <= C; c += RSC_VL) {
      const rsc_vf y = rsc_vfma(rsc_vload(x + at + (size_t)c), rsc_vload(g + c),
                                rsc_vload(sc + at + (size_t)c));
      rsc_vstore(out + at + (size_t)c, act == RSC_ACT_RELU ? rsc_vrelu(y) : y);
    }
    for (; c < C; c++)
      out[at + (size_t)c] = rsc_act(RSC_FMA(x[at + (size_t)c], g[c], sc[at + (size_t)c]), act);
  }
}

/*
 * The fused tail of a bottleneck: Squeeze-and-Excitation on x, then the
 * residual add and the block's activation. Per image n:
 *   s[n][c] = mean over the HW pixels of x[n][.][c]        (chunks of PC)
 *   m[n][j] = relu(b1[j] + sum_c s[n][c] * fc1[j][c])      (c order)
 *   g[n][c] = sigmoid(b2[c] + sum_j m[n][j] * fc2[c][j])   (j order)
 *   out[n][p][c] = act(x[n][p][c] * g[n][c] + sc[n][p][c])
 *   x, sc, out [N][HW][C]; w1 [ceil(M/KB)][C][KB], b1 [ceil(M/KB)*KB],
 *   w2 [ceil(C/KB)][M][KB], b2 [ceil(C/KB)*KB] (LAYOUT_DENSE_BLOCK of fc1
 *   [M,C,1,1] and fc2 [C,M,1,1], rsc_dense); scratch: N*(C + M) floats,
 *   s then g in [0, N*C), m in [N*C, N*(C+M)).
 * The phases run over the whole batch, so each of the two dense layers
 * streams its weights once for all N images (rsc_dense_blocks): in stage 4
 * they are 8 MB, which per image were read N times from DRAM.
 * Each phase (pool over channels, reduce, gate, scale and add over pixel
 * rows) is split into `parts` ranges of independent outputs (the reduce and
 * the gate in column blocks, rsc_dense_part), with sync(ctx) (a barrier
 * of all parts) between phases that read another part's results.
 * No sum is split, so the output is the same for any number of parts.
 * out may be x or sc: the only phase that writes out reads x and sc at
 * the same rows and no other, after the barrier that ends the pool's reads.
 * The pool sums each image's pixels in chunks of PC (rsc_chunk_floor's
 * order), never across images: an image's output is the same bytes alone
 * or in any batch. pool (NULL: pool x here): the chunk sums the conv
 * producing x wrote (rsc_conv2d_part's pool, chunks of the same PC); the
 * means are then the same bytes, and x is read once instead of twice.
 */
RSC_INLINE void rsc_se_add_part(const float *x, const float *sc,
                                const float *restrict w1, const float *restrict b1,
                                const float *restrict w2, const float *restrict b2, float *out,
                                float *restrict scratch,
                                const float *restrict pool, int PC, int N, int HW, int C, int M,
                                int KB, int act, int part, int parts, void (*sync)(void *),
                                void *ctx) {
  float *restrict s = scratch;
  float *restrict m = scratch + (size_t)N * (size_t)C;
  const size_t rows = (size_t)N * (size_t)HW;
  size_t c0, c1;
  rsc_range((size_t)C, part, parts, &c0, &c1);
  /* Whole rows of C floats: no cache line shared between parts. */
  const size_t r0 = rows * (size_t)part / (size_t)parts;
  const size_t r1 = rows * ((size_t)part + 1) / (size_t)parts;
  for (int n = 0; n < N; n++) {
    if (pool)
      rsc_slot_mean(pool, s + (size_t)n * (size_t)C, n, HW, PC, C, c0, c1);
    else
      rsc_pixel_mean(x + (size_t)n * (size_t)HW * (size_t)C, s + (size_t)n * (size_t)C, HW, C,
                     PC, c0, c1);
  }
  if (parts > 1)
    sync(ctx);
  rsc_dense_part(s, w1, b1, m, N, C, M, KB, RSC_ACT_RELU, part, parts);
  if (parts > 1)
    sync(ctx);
  /* s is dead once m exists: the gate reuses its room. */
  rsc_dense_part(m, w2, b2, s, N, M, C, KB, RSC_ACT_SIGMOID, part, parts);
  if (parts > 1)
    sync(ctx);
  for (size_t r = r0; r < r1;) {
    /* The rows of one image share its gate. */
    const size_t n = r / (size_t)HW;
    const size_t end = (n + 1) * (size_t)HW < r1 ? (n + 1) * (size_t)HW : r1;
    const size_t base = n * (size_t)HW * (size_t)C;
    rsc_se_scale_add(x + base, s + n * (size_t)C, sc + base, out + base, C, r - n * (size_t)HW,
                     end - n * (size_t)HW, act);
    r = end;
  }
}


/* In-place softmax over each row of x [N][K]: the row max is subtracted
 * before expf, and the sum runs in index order. */
RSC_INLINE void rsc_softmax(float *restrict x, int N, int K) {
  for (int n = 0; n < N; n++) {
    float *restrict row = x + (size_t)n * (size_t)K;
    float mx = row[0];
    for (int k = 1; k < K; k++)
      mx = row[k] > mx ? row[k] : mx;
    float sum = 0.0f;
    for (int k = 0; k < K; k++) {
      row[k] = expf(row[k] - mx);
      sum += row[k];
    }
    for (int k = 0; k < K; k++)
      row[k] = row[k] / sum;
  }
}

#endif /* RSC_DENSE_H */
