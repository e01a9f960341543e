/*
 * rsc_wino.h - 3x3 stride-1 convolutions by Winograd F(2x2, 3x3). Scalar
 * twin: rsc_wino_ref.h. Needs rsc_conv.h (its register tile, rsc_tile_steps).
 */
#ifndef RSC_WINO_H
#define RSC_WINO_H

/*
 * Winograd F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016) for 3x3 convs with stride 1 and padding 1: each 2x2
 * output tile is A^T [U .* (B^T d B)] A over the 4x4 input patch d that
 * covers it, with U = G g G^T the 4x4 transform of each 3x3 filter, computed
 * and packed by rsc at compile time (pack.c). 16 multiply-adds per input
 * channel and 2x2 outputs instead of 36: 2.25x fewer. The transforms B^T.B
 * and A^T.A are additions only, so the error stays within a few ulps of the
 * direct sum (G has halves: exact in binary).
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   A^T = [1 1 1 0; 0 1 -1 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 * Element xi = 4a + b of a 4x4 matrix is its row a, column b.
 */

_Static_assert(RSC_WINO_NT <= RSC_NP_MAX, "Winograd tiles share the direct tile's registers");

/* t = B^T d B for one 4x4 patch, vectors or single lanes (T is the type). */
#define RSC_WINO_IN_TRANSFORM(T, ADD, SUB, d, t)                                                 \
  do {                                                                                           \
    T r_[4][4];                                                                                  \
    for (int j_ = 0; j_ < 4; j_++) {                                                             \
      r_[0][j_] = SUB(d[0][j_], d[2][j_]);                                                       \
      r_[1][j_] = ADD(d[1][j_], d[2][j_]);                                                       \
      r_[2][j_] = SUB(d[2][j_], d[1][j_]);                                                       \
      r_[3][j_] = SUB(d[1][j_], d[3][j_]);                                                       \
    }                                                                                            \
    for (int i_ = 0; i_ < 4; i_++) {                                                             \
      t[i_][0] = SUB(r_[i_][0], r_[i_][2]);                                                      \
      t[i_][1] = ADD(r_[i_][1], r_[i_][2]);                                                      \
      t[i_][2] = SUB(r_[i_][2], r_[i_][1]);                                                      \
      t[i_][3] = SUB(r_[i_][1], r_[i_][3]);                                                      \
    }                                                                                            \
  } while (0)

/* y = A^T m A for one 4x4 element matrix. */
#define RSC_WINO_OUT_TRANSFORM(T, ADD, SUB, m, y)                                                \
  do {                                                                                           \
    T s_[2][4];                                                                                  \
    for (int j_ = 0; j_ < 4; j_++) {                                                             \
      s_[0][j_] = ADD(ADD(m[0][j_], m[1][j_]), m[2][j_]);                                        \
      s_[1][j_] = SUB(SUB(m[1][j_], m[2][j_]), m[3][j_]);                                        \
    }                                                                                            \
    for (int i_ = 0; i_ < 2; i_++) {                                                             \
      y[i_][0] = ADD(ADD(s_[i_][0], s_[i_][1]), s_[i_][2]);                                      \
      y[i_][1] = SUB(SUB(s_[i_][1], s_[i_][2]), s_[i_][3]);                                      \
    }                                                                                            \
  } while (0)

#define RSC_FADD_(a, b) ((a) + (b))
#define RSC_FSUB_(a, b) ((a) - (b))

/*
 * Input transform of channels [c0, c0 + cn) of NT tiles into
 * v[16][RSC_WINO_NT][RSC_WINO_CC]. p[r][i][j] points at tile r's patch
 * element (i, j) (channel 0 of its pixel), or is NULL outside the image or for
 * a slot past the last tile: those read as zeros.
 */
RSC_INLINE void rsc_wino_input(const float *p[RSC_WINO_NT][4][4], int c0, int cn, int NT,
                               float *restrict v) {
  for (int r = 0; r < NT; r++) {
    int c = 0;
    for (; c + RSC_VL <= cn; c += RSC_VL) {
      rsc_vf d[4][4], t[4][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
          d[i][j] = p[r][i][j] ? rsc_vload(p[r][i][j] + c0 + c) : rsc_vset1(0.0f);
      RSC_WINO_IN_TRANSFORM(rsc_vf, rsc_vadd, rsc_vsub, d, t);
      for (int xi = 0; xi < 16; xi++)
        rsc_vstore(v + ((size_t)xi * RSC_WINO_NT + (size_t)r) * RSC_WINO_CC + (size_t)c,
                   t[xi / 4][xi % 4]);
    }
    for (; c < cn; c++) { /* channels past the last full vector */
      float d[4][4], t[4][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
          d[i][j] = p[r][i][j] ? p[r][i][j][c0 + c] : 0.0f;
      RSC_WINO_IN_TRANSFORM(float, RSC_FADD_, RSC_FSUB_, d, t);
      for (int xi = 0; xi < 16; xi++)
        v[((size_t)xi * RSC_WINO_NT + (size_t)r) * RSC_WINO_CC + (size_t)c] = t[xi / 4][xi % 4];
    }
  }
}

/*
 * m[r][l] (+)= sum over c < cn of v[r][c] * wk[c*KB + l] for NT tiles r and
 * ln lanes l: one element xi's slice of the tile's batched matrix product.
 * v rows are RSC_WINO_CC apart, m rows RSC_WINO_KB; `first` starts from zero
 * instead of m's partial sums. Registers: NT x (up to RSC_V_MAX) vectors.
 */
RSC_INLINE void rsc_wino_gemm(const float *restrict v, const float *restrict wk,
                              float *restrict m, int NT, int cn, int KB, int ln, int first,
                              int pf) {
  if (ln % RSC_VL != 0) {
    for (int r = 0; r < NT; r++)
      for (int l = 0; l < ln; l++) {
        float acc = first ? 0.0f : m[r * RSC_WINO_KB + l];
        for (int c = 0; c < cn; c++)
          acc = RSC_FMA(v[r * RSC_WINO_CC + c], wk[(size_t)c * (size_t)KB + (size_t)l], acc);
        m[r * RSC_WINO_KB + l] = acc;
      }
    return;
  }
  const int V = ln / RSC_VL, VC = rsc_conv_vc(V);
  for (int v0 = 0; v0 < V; v0 += VC) {
    rsc_vf acc[RSC_NP_MAX][RSC_V_MAX];
    const float *x[RSC_NP_MAX];
    /* Every slot set (rows past NT unused): gcc cannot tell at -O2 with a
     * run-time NT and would warn. Constant-folded in the generated code. */
    for (int r = 0; r < RSC_NP_MAX; r++)
      x[r] = v + (r < NT ? r : 0) * RSC_WINO_CC;
    RSC_UNROLL
    for (int r = 0; r < NT; r++)
      RSC_UNROLL
      for (int q = 0; q < VC; q++)
        acc[r][q] = first ? rsc_vset1(0.0f) : rsc_vload(m + r * RSC_WINO_KB + (v0 + q) * RSC_VL);
    rsc_tile_steps(acc, x, wk + v0 * RSC_VL, cn, KB, NT, VC, pf, (rsc_nextpf){NULL, 0, 0, 0, NULL, 0, 0});
    RSC_UNROLL
    for (int r = 0; r < NT; r++)
      RSC_UNROLL
      for (int q = 0; q < VC; q++)
        rsc_vstore(m + r * RSC_WINO_KB + (v0 + q) * RSC_VL, acc[r][q]);
  }
}

/*
 * Output transform of tile r's ln lanes: y = A^T m A + bias, activated, into
 * the tile's (up to) 2x2 output pixels o[i][j] (NULL: outside the image);
 * only lanes < kn are real channels.
 */
RSC_INLINE void rsc_wino_output(const float *restrict m, int r, const float *restrict bb,
                                float *o[2][2], int ln, int kn, int act) {
  int l = 0;
  for (; l + RSC_VL <= ln && l + RSC_VL <= kn; l += RSC_VL) {
    rsc_vf e[4][4], y[2][2];
    for (int xi = 0; xi < 16; xi++)
      e[xi / 4][xi % 4] = rsc_vload(m + ((size_t)xi * RSC_WINO_NT + (size_t)r) * RSC_WINO_KB + (size_t)l);
    RSC_WINO_OUT_TRANSFORM(rsc_vf, rsc_vadd, rsc_vsub, e, y);
    const rsc_vf b = rsc_vload(bb + l);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) {
        if (!o[i][j])
          continue;
        rsc_vf z = rsc_vadd(y[i][j], b);
        if (act == RSC_ACT_RELU || act == RSC_ACT_NONE) {
          rsc_vstore(o[i][j] + l, act == RSC_ACT_RELU ? rsc_vrelu(z) : z);
        } else {
          float t[RSC_VL];
          rsc_vstore(t, z);
          for (int q = 0; q < RSC_VL; q++)
            o[i][j][l + q] = rsc_act(t[q], act);
        }
      }
  }
  for (; l < ln && l < kn; l++) { /* lanes past the last full vector */
    float e[4][4], y[2][2];
    for (int xi = 0; xi < 16; xi++)
      e[xi / 4][xi % 4] = m[((size_t)xi * RSC_WINO_NT + (size_t)r) * RSC_WINO_KB + (size_t)l];
    RSC_WINO_OUT_TRANSFORM(float, RSC_FADD_, RSC_FSUB_, e, y);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++)
        if (o[i][j])
          o[i][j][l] = rsc_act(y[i][j] + bb[l], act);
  }
}

/*
 * out = act(conv3x3(in, w) + bias), stride 1, padding 1: same layouts as
 * rsc_conv2d_part (OH = H, OW = W) except the weights:
 *   w [ceil(K/KB)][16][C][KB]  element xi of U = G g G^T for filter (o, i) at
 *     ((o/KB)*16 + xi)*C*KB + i*KB + o%KB; K zero-padded (LAYOUT_WINO_BLOCK)
 * The work is ceil(K/KB) blocks x ceil(T/NT) groups of NT consecutive tiles
 * (T = N*ceil(H/2)*ceil(W/2) tiles in (n, row, column) order), block-major,
 * split over parts like rsc_conv2d_part. A unit walks the input channels in
 * chunks of RSC_WINO_CC: the chunk's patches are transformed into v, then for
 * each of the 16 elements an NT x KB register tile accumulates v x U into m;
 * after the last chunk every tile's m is transformed back and stored.
 * Each output's sums run in channel order whatever NT and the split (m
 * round-trips through memory exactly), so results depend on the shapes only.
 */
RSC_INLINE void rsc_wino_part(const float *restrict in, const float *restrict w,
                              const float *restrict bias, float *restrict out, int N, int H, int W,
                              int C, int K, int KB, int NT, int act, int part, int parts) {
  if (NT < 1)
    NT = 1;
  if (NT > RSC_WINO_NT)
    NT = RSC_WINO_NT;
  const int TH = (H + 1) / 2, TW = (W + 1) / 2;
  const long T = (long)N * TH * TW, groups = (T + NT - 1) / NT;
  const long nkb = (K + KB - 1) / KB, units = nkb * groups;
  const long u0 = units * part / parts, u1 = units * (part + 1) / parts;
  float v[16 * RSC_WINO_NT * RSC_WINO_CC];
  float m[16 * RSC_WINO_NT * RSC_WINO_KB];
  for (long u = u0; u < u1; u++) {
    const long kb = u / groups, t0 = (u % groups) * NT;
    const float *p[RSC_WINO_NT][4][4];
    float *o[RSC_WINO_NT][2][2];
    for (int r = 0; r < NT; r++) {
      const long t = t0 + r;
      const long n = t / ((long)TH * TW), th = t / TW % TH, tw = t % TW;
      const float *img = in + (size_t)n * (size_t)H * (size_t)W * (size_t)C;
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
          const long ih = 2 * th - 1 + i, iw = 2 * tw - 1 + j;
          p[r][i][j] = t < T && ih >= 0 && ih < H && iw >= 0 && iw < W
                           ? img + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C
                           : NULL;
        }
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
          const long oh = 2 * th + i, ow = 2 * tw + j;
          o[r][i][j] = t < T && oh < H && ow < W
                           ? out + (((size_t)n * (size_t)H + (size_t)oh) * (size_t)W + (size_t)ow) *
                                       (size_t)K +
                                 (size_t)kb * (size_t)KB
                           : NULL;
        }
    }
    const float *restrict wb = w + (size_t)kb * 16 * (size_t)C * (size_t)KB;
    const int kn = K - (int)kb * KB < KB ? K - (int)kb * KB : KB;
    const int pf = u == u0 || t0 == 0; /* as in rsc_conv2d_part */
    for (int l0 = 0; l0 < KB; l0 += RSC_WINO_KB) {
      const int ln = KB - l0 < RSC_WINO_KB ? KB - l0 : RSC_WINO_KB;
      for (int c0 = 0; c0 < C; c0 += RSC_WINO_CC) {
        const int cn = C - c0 < RSC_WINO_CC ? C - c0 : RSC_WINO_CC;
        rsc_wino_input(p, c0, cn, NT, v);
        for (int xi = 0; xi < 16; xi++)
          rsc_wino_gemm(v + (size_t)xi * RSC_WINO_NT * RSC_WINO_CC,
                        wb + ((size_t)xi * (size_t)C + (size_t)c0) * (size_t)KB + (size_t)l0,
                        m + (size_t)xi * RSC_WINO_NT * RSC_WINO_KB, NT, cn, KB, ln, c0 == 0,
                        pf);
      }
      for (int r = 0; r < NT; r++) {
        float *ol[2][2];
        for (int i = 0; i < 2; i++)
          for (int j = 0; j < 2; j++)
            ol[i][j] = o[r][i][j] ? o[r][i][j] + l0 : NULL;
        rsc_wino_output(m, r, bias + (size_t)kb * (size_t)KB + (size_t)l0, ol, ln, kn - l0, act);
      }
    }
  }
}
#endif /* RSC_WINO_H */
