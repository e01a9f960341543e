/*
 * rsc_conv.h - the direct convolution (any kernel size, stride and padding):
 * register tiles of NP pixels x VC vectors over packed weight blocks, tile
 * groups, the SE pool a conv can write as it stores, and the split of the
 * work over the thread team. Scalar twin: rsc_conv_ref.h. Needs rsc_vec.h.
 */
#ifndef RSC_CONV_H
#define RSC_CONV_H

/* Zeros that a tap outside the image reads instead of the input. */
#define RSC_ZERO_N 1024
static const float rsc_zero[RSC_ZERO_N]
#if defined(__GNUC__)
    __attribute__((unused, aligned(64)))
#endif
    = {0.0f};

/* Vectors per accumulator row for a block of KB = V*RSC_VL channels: the
 * largest divisor of V that is at most RSC_V_MAX. Folds to a constant. */
RSC_INLINE int rsc_conv_vc(int V) {
  for (int v = RSC_V_MAX; v > 1; v--)
    if (V % v == 0)
      return v;
  return 1;
}

/* Software prefetch of the weight stream, RSC_PF_DIST floats (8 KiB) ahead
 * of the loads, into L1; RSC_PREFETCH_L2 for the next block (rsc_nextpf).
 * Prefetches never fault, so running past the end is harmless. */
#define RSC_PF_DIST 2048
#if defined(__GNUC__)
#define RSC_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define RSC_PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
#else
#define RSC_PREFETCH(p) ((void)(p))
#define RSC_PREFETCH_L2(p) ((void)(p))
#endif

/*
 * A tile's share of the next weight block's prefetch: from tile step `step`
 * on, one 64-byte line of `line0` every 2^sh steps (line i at step i << sh).
 * line0 NULL: none. rsc_conv2d_part explains who prefetches what.
 * xoff (0: none): the next tile's input, xoff floats past each pixel's
 * (rsc_conv2d_part's XP), prefetched a line per pixel every 16 channels.
 * cw (NULL: none): the tile's share of the next weight chunk of a group of
 * tiles (rsc_conv2d_part's TG), spread evenly over its steps.
 */
typedef struct {
  const float *line0;
  int step, sh;
  long xoff;
  const float *cw; /* chunk prefetch (rsc_conv_tiles' TG): NULL none, else */
  long coff;       /* each 16 steps c0 .. ce-1 prefetch the lines that start */
  int cs;          /* in [cw + coff + c0*cs, cw + coff + ce*cs) */
} rsc_nextpf;

/* One step of rsc_tile_steps: channel c of the NP rows, weights wc. */
RSC_INLINE void rsc_tile_step(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX],
                              const float *const x[RSC_NP_MAX], const float *restrict wc, int c,
                              int NP, int VC) {
  rsc_vf wv[RSC_V_MAX];
  RSC_UNROLL
  for (int q = 0; q < VC; q++)
    wv[q] = rsc_vload(wc + q * RSC_VL);
  RSC_UNROLL
  for (int r = 0; r < NP; r++) {
    const rsc_vf xv = rsc_vset1(x[r][c]);
    RSC_UNROLL
    for (int q = 0; q < VC; q++)
      acc[r][q] = rsc_vfma(xv, wv[q], acc[r][q]);
  }
}

/*
 * The register tile's inner loop, shared by the direct conv and Winograd's
 * products: for cn input channels c, acc[r][q] += x[r][c] * wc[c*KB + q*VL..]
 * for NP rows r and VC vectors q. Per channel: VC weight-vector loads, NP
 * broadcasts, NP*VC FMAs, all unrolled so acc stays in registers. nx: this
 * stretch of steps' share of the next block's prefetch (rsc_nextpf).
 * With pf set it also prefetches the weights RSC_PF_DIST floats ahead, one
 * line per 64 bytes it consumes. The caller sets pf on the first tile a thread
 * runs of each weight block: that tile pulls the block from L3 or DRAM (at
 * batch 1 every layer's weights are cold, the network's exceed the L3), where
 * the hardware prefetchers fall behind; the block's later tiles find it in
 * L2. Measured on the 5x5x512 3x3 conv with cold weights (Ice Lake Xeon):
 * 1.83 -> 1.60 ms, and 0.87 -> 0.67 ms on the 5x5 1x1 2048->512 one.
 */
RSC_INLINE void rsc_tile_steps(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX],
                               const float *const x[RSC_NP_MAX], const float *restrict wc,
                               int cn, int KB, int NP, int VC, int pf, rsc_nextpf nx) {
  /* The prefetches are issued per 16 steps, ahead of them, so that the
   * steps themselves run nothing but their loads and FMAs: with 512-bit
   * FMAs on two of the four ALU ports, every scalar test and branch in the
   * step loop competes with them. */
  for (int c0 = 0; c0 < cn; c0 += 16) {
    const int ce = cn - c0 < 16 ? cn : c0 + 16;
    if (nx.xoff) {
      RSC_UNROLL
      for (int r = 0; r < NP; r++)
        RSC_PREFETCH(x[r] + c0 + nx.xoff);
    }
    if (nx.cw) { /* the lines of cw + coff + c*cs that steps c0 .. ce-1 enter */
      const long a = nx.coff + (long)c0 * nx.cs, b = nx.coff + (long)ce * nx.cs;
      for (long off = (a + 15) & ~15L; off < b; off += 16)
        RSC_PREFETCH(nx.cw + off);
    }
    if (nx.line0) { /* line i at step i << sh */
      const int m = (1 << nx.sh) - 1;
      for (int st = (nx.step + c0 + m) & ~m; st < nx.step + ce; st += m + 1)
        RSC_PREFETCH_L2(nx.line0 + (size_t)(st >> nx.sh) * 16);
    }
    if (pf) {
      for (int c = c0; c < ce; c++, wc += KB) {
        RSC_UNROLL
        for (int l = 0; l < VC * RSC_VL; l += 16)
          RSC_PREFETCH(wc + RSC_PF_DIST + l);
        rsc_tile_step(acc, x, wc, c, NP, VC);
      }
    } else {
      for (int c = c0; c < ce; c++, wc += KB)
        rsc_tile_step(acc, x, wc, c, NP, VC);
    }
  }
}

/*
 * The SE pool's order of additions (rsc_conv2d_part's pool, rsc_slot_mean,
 * rsc_pixel_mean): an image's pixels form chunks of PC, counted from its own
 * first pixel (the last chunk may be short); each chunk's sum runs in pixel
 * order from its first pixel, and the mean adds the chunk sums in chunk
 * order. Nothing in it depends on the batch, the tiles or the split, so an
 * image's pooled mean is the same bytes alone or in any batch (compiler/
 * select.c makes PC a constant, SE_POOL_CHUNK).
 *
 * rsc_conv2d_part's unit u (of `units`, groups of kg of the nkb blocks,
 * tile-major within a group) moved down to the nearest unit where a thread's
 * range may start with a pool: a group's first, or the first unit of a tile
 * whose first pixel starts a chunk (NP pixels per tile, hw per image), so
 * that one thread sums each chunk; `units` itself stays. The search walks
 * the chunk starts down from u's tile: within an image their residues mod NP
 * repeat after NP chunks at most, so an image with none among NP has none.
 */
RSC_INLINE long rsc_chunk_floor(long u, long units, long tiles, long nkb, long kg, int NP, long hw,
                                int PC) {
  if (u >= units)
    return units;
  const long g = u / (kg * tiles), gu = u % (kg * tiles);
  const long gn = nkb - g * kg < kg ? nkb - g * kg : kg;
  const long p = gu / gn * NP;
  long n = p / hw, j = (p - n * hw) / PC;
  for (;;) {
    for (int i = 0; i < NP && j >= 0; i++, j--) {
      const long s = n * hw + j * PC;
      if (s % NP == 0)
        return g * kg * tiles + s / NP * gn;
    }
    if (n == 0) /* not reached: pixel 0 starts a chunk and a tile */
      return g * kg * tiles;
    n--;
    j = (hw - 1) / PC;
  }
}

/*
 * A tile's part in the SE pool (rsc_conv2d_part's pool): slot holds the
 * chunk sum of the tile's first pixel (channel 0 of the tile's block), and
 * pixel r >= 1 with bit r of `runs` set starts the next chunk, whose slot is
 * the next row, K floats on (an image's last chunk is followed by the next
 * image's first). add: the first pixel continues a chunk an earlier tile
 * began, and adds to its slot, where a chunk's first pixel stores. slot
 * NULL: no pool. Passed by value, in registers: with a per-pixel slot array
 * on the stack instead, a stage-1 conv at batch 8 was 20 % slower, most
 * likely because its output stores miss the cache and fill the store
 * buffer, so that every further store waits for it to drain
 * (docs/kernels.md, "The SE tail").
 */
typedef struct {
  float *slot;
  int K, add;
  unsigned runs;
} rsc_tpool;

/*
 * The pool's share of one tile from its stored outputs o[r], channels
 * [j0, j1): each chunk's sum, in pixel order from the slot's (tp.add) or
 * from the chunk's first pixel, stored to its slot. For the tiles
 * rsc_conv_tiles does not pool from its registers: other activations, a
 * block's partial vector, a tile past the last pixel. The values are read
 * back while they are in L1. xb[r] == NULL ends the tile.
 */
RSC_INLINE void rsc_tile_pool(float *const o[RSC_NP_MAX], const float *const xb[RSC_NP_MAX],
                              int NP, int j0, int j1, rsc_tpool tp) {
  for (int j = j0; j < j1; j++) {
    float *slot = tp.slot + j;
    float s = tp.add ? *slot + o[0][j] : o[0][j];
    for (int r = 1; r < NP && xb[r]; r++) {
      if (tp.runs >> r & 1u) {
        *slot = s;
        slot += tp.K;
        s = o[r][j];
      } else {
        s += o[r][j];
      }
    }
    *slot = s;
  }
}

/*
 * One register tile of rsc_conv_tiles: NP consecutive output pixels (in
 * (n, oh, ow) order, across rows and images) of one block of output channels.
 *   xb[r], ih0[r], iw0[r]  pixel r's image and window origin; xb[r] == NULL
 *                          for a slot past the last pixel (not stored)
 *   o[r]  where pixel r's channels of the block go
 *   tp    the tile's part in the SE pool's partial sums (rsc_tpool)
 */
typedef struct {
  const float *xb[RSC_NP_MAX];
  float *o[RSC_NP_MAX];
  int ih0[RSC_NP_MAX], iw0[RSC_NP_MAX];
  rsc_tpool tp;
} rsc_tile;

/* A tile's NP x VC accumulators to and from a group's spill buffer. */
RSC_INLINE void rsc_acc_store(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX], float *p, int NP, int VC) {
  RSC_UNROLL
  for (int r = 0; r < NP; r++)
    RSC_UNROLL
    for (int v = 0; v < VC; v++)
      rsc_vstore(p + (r * VC + v) * RSC_VL, acc[r][v]);
}

RSC_INLINE void rsc_acc_load(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX], const float *p, int NP, int VC) {
  RSC_UNROLL
  for (int r = 0; r < NP; r++)
    RSC_UNROLL
    for (int v = 0; v < VC; v++)
      acc[r][v] = rsc_vload(p + (r * VC + v) * RSC_VL);
}

/*
 * A tile's epilogue for its vectors v0 .. v0+VC-1 (acc): ReLU on the
 * registers, the pool's share, then the stores; a block's padded lanes
 * (past kn) are dropped.
 */
RSC_INLINE void rsc_tile_store(rsc_vf acc[RSC_NP_MAX][RSC_V_MAX], const rsc_tile *tl, int NP,
                               int VC, int v0, int kn, int act) {
  const rsc_tpool tp = tl->tp;
  if (act == RSC_ACT_RELU) {
    RSC_UNROLL
    for (int r = 0; r < NP; r++)
      RSC_UNROLL
      for (int v = 0; v < VC; v++)
        acc[r][v] = rsc_vrelu(acc[r][v]);
  }
  /* A whole tile pools from the registers (which hold what is stored: ReLU
   * or none, whole vectors), before the stores, which at batch 8 miss the
   * cache (stores retire in order). Most tiles lie in one chunk: one run of
   * adds, the rest branch where a chunk starts (tp.runs). */
  const int pool_regs = tp.slot && (act == RSC_ACT_RELU || act == RSC_ACT_NONE) &&
                        (v0 + VC) * RSC_VL <= kn && tl->xb[NP - 1];
  if (pool_regs) {
    RSC_UNROLL
    for (int v = 0; v < VC; v++) {
      float *slot = tp.slot + (v0 + v) * RSC_VL;
      rsc_vf sum = tp.add ? rsc_vadd(rsc_vload(slot), acc[0][v]) : acc[0][v];
      if (!tp.runs) {
        RSC_UNROLL
        for (int r = 1; r < NP; r++)
          sum = rsc_vadd(sum, acc[r][v]);
      } else {
        RSC_UNROLL
        for (int r = 1; r < NP; r++) {
          if (tp.runs >> r & 1u) {
            rsc_vstore(slot, sum);
            slot += tp.K;
            sum = acc[r][v];
          } else {
            sum = rsc_vadd(sum, acc[r][v]);
          }
        }
      }
      rsc_vstore(slot, sum);
    }
  }
  RSC_UNROLL
  for (int r = 0; r < NP; r++) {
    if (!tl->xb[r])
      continue;
    RSC_UNROLL
    for (int v = 0; v < VC; v++) {
      const int j = (v0 + v) * RSC_VL;
      if (j >= kn)
        break;
      if (j + RSC_VL <= kn && (act == RSC_ACT_RELU || act == RSC_ACT_NONE)) {
        rsc_vstore(tl->o[r] + j, acc[r][v]);
      } else {
        float t[RSC_VL];
        rsc_vstore(t, acc[r][v]);
        /* A fixed trip count: gcc's range analysis of an unrolled
         * `l < kn - j` bound warns of a huge memcpy (-Wstringop-overread). */
        for (int l = 0; l < RSC_VL; l++)
          if (j + l < kn)
            tl->o[r][j + l] = act == RSC_ACT_RELU ? t[l] : rsc_act(t[l], act);
      }
    }
  }
  /* Other activations and a block's partial vector: from the stores. */
  if (tp.slot && !pool_regs && v0 * RSC_VL < kn)
    rsc_tile_pool(tl->o, tl->xb, NP, v0 * RSC_VL,
                  (v0 + VC) * RSC_VL < kn ? (v0 + VC) * RSC_VL : kn, tp);
}

/*
 * gt register tiles tl[0 .. gt-1] (rsc_tile) of one block of KB output
 * channels, in that order.
 *   wb  this block's weights [KH][KW][C][KB]; bb its bias [KB]
 *   kn  the block's real channels (the rest is padding)
 *   pf  prefetch the weight stream (rsc_tile_steps), for gt 1
 *   nx  the tiles' share of the next block's prefetch, its steps counted
 *       (v0 pass, kh, kw, c) from 0 (gt 1)
 *   CS  channels per chunk, for gt > 1
 * gt 1: the tile keeps its accumulators in registers from the first tap to
 * the last. gt > 1: the tiles take turns on each chunk of CS channels of a
 * tap, their accumulators stored to a stack buffer in between, so the
 * chunk's weights come from L3 or DRAM once, for the first tile, and from L1
 * for the others; meanwhile each tile prefetches its share of the next
 * chunk (rsc_conv2d_part's TG says why).
 * A tap outside the image points the pixel at rsc_zero, so all NP pixels run
 * the same unrolled loop; an FMA with 0 leaves every finite sum unchanged.
 * Each output is bias + sum over (kh, kw, c) in that order whatever the
 * tile or group (a spilled accumulator is reloaded exactly), so NP, TG, the
 * split over threads and the target never change a result (only FMA vs
 * separate multiply-add could, and that is fixed per target).
 */
RSC_INLINE void rsc_conv_tiles(const rsc_tile *tl, int gt, const float *restrict wb,
                               const float *restrict bb, int H, int W, int C, int KH, int KW,
                               int KB, int NP, int kn, int act, int pf, rsc_nextpf nx, int CS) {
  if (KB % RSC_VL != 0) {
    /* Generic lanes (KB no multiple of the vector): one pixel at a time. */
    for (int t = 0; t < gt; t++) {
      for (int r = 0; r < NP; r++) {
        if (!tl[t].xb[r])
          continue;
        for (int j = 0; j < kn; j++) {
          float acc = bb[j];
          for (int kh = 0; kh < KH; kh++) {
            const int ih = tl[t].ih0[r] + kh;
            if (ih < 0 || ih >= H)
              continue;
            for (int kw = 0; kw < KW; kw++) {
              const int iw = tl[t].iw0[r] + kw;
              if (iw < 0 || iw >= W)
                continue;
              const float *restrict x =
                  tl[t].xb[r] + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C;
              const float *restrict wk = wb +
                                         ((size_t)kh * (size_t)KW + (size_t)kw) * (size_t)C *
                                             (size_t)KB +
                                         (size_t)j;
              for (int c = 0; c < C; c++)
                acc = RSC_FMA(x[c], wk[(size_t)c * (size_t)KB], acc);
            }
          }
          tl[t].o[r][j] = rsc_act(acc, act);
        }
      }
      if (tl[t].tp.slot)
        rsc_tile_pool(tl[t].o, tl[t].xb, NP, 0, kn, tl[t].tp);
    }
    return;
  }
  const int V = KB / RSC_VL, VC = rsc_conv_vc(V);
  /* Chunks: CS channels with a group, else what rsc_zero covers (one chunk
   * for C <= 1024). A group's tiles share the next chunk's prefetch. */
  const int CH = gt > 1 && CS > 0 && CS < RSC_ZERO_N ? CS : RSC_ZERO_N;
  const int cs = gt > 1 ? (KB + gt - 1) / gt : 0;
  for (int v0 = 0; v0 < V; v0 += VC) {
    rsc_vf acc[RSC_NP_MAX][RSC_V_MAX];
    float spill[RSC_TG_VECS * RSC_VL]; /* gt > 1 only */
    RSC_UNROLL
    for (int r = 0; r < NP; r++)
      RSC_UNROLL
      for (int v = 0; v < VC; v++)
        acc[r][v] = rsc_vload(bb + (v0 + v) * RSC_VL);
    if (gt > 1)
      for (int t = 0; t < gt; t++)
        rsc_acc_store(acc, spill + t * NP * VC * RSC_VL, NP, VC);
    for (int kh = 0; kh < KH; kh++)
      for (int kw = 0; kw < KW; kw++) {
        const long tap = (long)kh * KW + kw;
        const float *restrict wk = wb + (size_t)tap * (size_t)C * (size_t)KB + (size_t)v0 * RSC_VL;
        for (int c0 = 0; c0 < C; c0 += CH) {
          const int cn = C - c0 < CH ? C - c0 : CH;
          for (int t = 0; t < gt; t++) {
            const float *x[RSC_NP_MAX];
            for (int r = 0; r < NP; r++) {
              const int ih = tl[t].ih0[r] + kh, iw = tl[t].iw0[r] + kw;
              x[r] = tl[t].xb[r] && ih >= 0 && ih < H && iw >= 0 && iw < W
                         ? tl[t].xb[r] + ((size_t)ih * (size_t)W + (size_t)iw) * (size_t)C +
                               (size_t)c0
                         : rsc_zero;
            }
            rsc_nextpf nxs = nx;
            nxs.step = ((v0 / VC * KH + kh) * KW + kw) * C + c0;
            if (gt > 1) {
              nxs.cw = wb;
              nxs.coff = (tap * C + c0 + cn) * KB + (long)t * cn * cs;
              nxs.cs = cs;
              rsc_acc_load(acc, spill + t * NP * VC * RSC_VL, NP, VC);
            }
            rsc_tile_steps(acc, x, wk + (size_t)c0 * (size_t)KB, cn, KB, NP, VC, pf, nxs);
            if (gt > 1)
              rsc_acc_store(acc, spill + t * NP * VC * RSC_VL, NP, VC);
          }
        }
      }
    for (int t = 0; t < gt; t++) {
      if (gt > 1)
        rsc_acc_load(acc, spill + t * NP * VC * RSC_VL, NP, VC);
      rsc_tile_store(acc, &tl[t], NP, VC, v0, kn, act);
    }
  }
}

/*
 * out = act(conv(in, w) + bias), zero padding; part `part` of `parts`.
 *   in   [N][H][W][C]                 pixel (n,h,w) at ((n*H + h)*W + w)*C
 *   out  [N][OH][OW][K]               pixel (n,h,w) at ((n*OH + h)*OW + w)*K
 *   w    [ceil(K/KB)][KH][KW][C][KB]  OIHW element (o,i,kh,kw) at
 *        (((o/KB)*KH + kh)*KW + kw)*C*KB + i*KB + o%KB; K zero-padded to a
 *        multiple of KB (LAYOUT_CONV_BLOCK)
 *   bias [ceil(K/KB)*KB]              zero-padded
 * Output (oh,ow) reads input rows oh*SH - PT + kh and columns ow*SW - PL + kw;
 * taps outside the image read zero (bottom/right padding is implied by OH, OW).
 * The work is ceil(K/KB) blocks x ceil(N*OH*OW/NP) pixel tiles, in groups
 * of KG blocks: group by group, and within a group tile by tile, each tile
 * through the group's blocks. KG = 1 is block-major (a block's weights stay
 * in cache while its tiles run); a larger KG reads the input once per group
 * instead of once per block, for layers whose input does not stay in L2 but
 * whose KG blocks of weights do (compiler/select.c chooses). Part p of P
 * gets the p-th of P contiguous, near-equal ranges of those units. Any
 * split and any KG give the same bytes: no output's sum is split.
 *
 * NX (with KG 1 only): prefetch the next block into L2 while this block's
 * later tiles run. A block's first tile pulls the block from DRAM at the
 * rate the core's fill buffers allow and its other tiles run from L2 with
 * DRAM idle, so at batch 1 a layer's weight fetch adds to its compute. With
 * NX, tiles 1, 2, .. of block kb each prefetch their share of block kb+1,
 * one line every 2^sh steps, sh as large as still covers the block, so the
 * next block arrives spread over this one's compute. compiler/select.c sets
 * it where two blocks fit in half of L2. Prefetches change no result.
 *
 * XP: prefetch the next tile's input while a tile runs, where the input
 * does not stay in L2 (select.c). A tile reads its NP pixels' channels in
 * lockstep, NP streams a pixel row apart, which the hardware prefetchers do
 * not follow: the tile stalls on a miss every 16 channels. Each pixel's
 * input in the next tile is NP*SW pixels on (exact within an output row),
 * and a line of it is prefetched when the tile enters a line of its own.
 * RS-50@160 batch 8: stage 1's 1x1 256->64 convs 0.70-0.80x.
 *
 * TG > 1 (with KG 1): a block's tiles run in groups of up to TG (evened
 * out, so no tile is left alone), which take turns on chunks of TC channels
 * of each tap (rsc_conv_tiles). Without groups, a block's first tile pulls
 * the block from DRAM at the rate one core's outstanding misses allow while
 * its other tiles wait, then those run from cache with DRAM idle: at batch 1
 * in the last stage, 2-8 tiles per block, the fetch is as long as the
 * compute. In a group the first tile of each chunk reads it from DRAM (or
 * L3) and the others from L1, and every tile prefetches its share of the
 * next chunk, so the stream runs under all of the group's FMAs. Measured
 * (bench/tiles.sh, cold weights, Ice Lake Xeon): the stage-4 layers of
 * RS-50@160, RS-101@192 and RS-152@256 at batch 1, 0.71-0.90x.
 *
 * pool (NULL: none): the partial sums of a Squeeze-and-Excitation pool over
 * this conv's output, written while its tiles are in L1, so the SE
 * (rsc_se_add_part) need not read the whole output once more to pool it:
 * the sum of each chunk of PC pixels of each image (rsc_chunk_floor's
 * order), chunk j of image n in pool[(n*ceil(OH*OW/PC) + j)*K + k], k < K.
 * The parts' ranges start and end where a chunk does (rsc_chunk_floor), so
 * one thread sums a chunk, tile after tile: the partials, like the output,
 * are the same bytes for any split, tile and batch. Chunks of 32 pixels
 * (select.c) keep them to a few % of the output.
 */
RSC_INLINE void rsc_conv2d_part(const float *restrict in, const float *restrict w,
                                const float *restrict bias, float *restrict out,
                                float *restrict pool, int PC, int N, int H, int W, int C, int OH,
                                int OW, int K, int KH, int KW, int SH, int SW, int PT, int PL,
                                int KB, int NP, int KG, int NX, int XP, int TG, int TC, int act,
                                int part, int parts) {
  if (NP < 1)
    NP = 1;
  if (NP > RSC_NP_MAX)
    NP = RSC_NP_MAX;
  const long P = (long)N * OH * OW, tiles = (P + NP - 1) / NP;
  const long nkb = (K + KB - 1) / KB, units = nkb * tiles;
  const long kg = KG < 1 ? 1 : KG > nkb ? nkb : KG;
  if (PC < 1)
    PC = 1;
  long u0 = units * part / parts, u1 = units * (part + 1) / parts;
  const long hw = (long)OH * OW, nch = (hw + PC - 1) / PC; /* chunks per image */
  if (pool) { /* down to where a chunk starts */
    u0 = rsc_chunk_floor(u0, units, tiles, nkb, kg, NP, hw, PC);
    u1 = rsc_chunk_floor(u1, units, tiles, nkb, kg, NP, hw, PC);
  }
  const size_t bsz = (size_t)KH * (size_t)KW * (size_t)C * (size_t)KB; /* floats per block */
  /* Next-block prefetch: steps per tile, lines per block, and the interval. */
  const long steps = (long)KH * KW * C * (KB % RSC_VL ? 1 : KB / RSC_VL / rsc_conv_vc(KB / RSC_VL));
  const long lines = (long)(bsz / 16);
  int sh = 0;
  while (sh < 6 && ((tiles - 1) * steps >> (sh + 1)) >= lines)
    sh++;
  const long share = (steps + (1L << sh) - 1) >> sh; /* lines per tile */
  const int nx_on = NX && kg == 1 && tiles > 1 && KB % RSC_VL == 0;
  /* Tiles per group: TG with kg 1 (a group's tiles are consecutive units of
   * one block), within what the spill buffer holds. */
  int tg = TG < 1 || kg > 1 ? 1 : TG > RSC_TG_MAX ? RSC_TG_MAX : TG;
  const int vc = KB % RSC_VL ? 1 : rsc_conv_vc(KB / RSC_VL);
  while (tg > 1 && tg * NP * vc > RSC_TG_VECS)
    tg--;
  /* A block's tiles in groups of equal size (within one): a lone last tile
   * would sweep the whole block without a group's prefetch. */
  const long ngroups = (tiles + tg - 1) / tg;
  tg = (int)((tiles + ngroups - 1) / ngroups);
  for (long u = u0; u < u1;) {
    /* Group g holds blocks [g*kg, g*kg + gn); its units are tile-major. */
    const long g = u / (kg * tiles), gu = u % (kg * tiles);
    const long gn = nkb - g * kg < kg ? nkb - g * kg : kg;
    const long kb = g * kg + gu % gn, ti = gu / gn;
    /* gt tiles ti, ti + 1, .. of block kb: to the end of ti's group of tg,
     * within the block and the range. */
    long gt = tg - ti % tg;
    if (gt > tiles - ti)
      gt = tiles - ti;
    if (gt > u1 - u)
      gt = u1 - u;
    rsc_tile tl[RSC_TG_MAX];
    /* do-while: gt >= 1, and gcc's -Wmaybe-uninitialized (-O2) cannot see it. */
    int t = 0;
    do {
      const long p0 = (ti + t) * NP;
      for (int r = 0; r < NP; r++) {
        const long p = p0 + r;
        const long n = p / ((long)OH * OW), oh = p / OW % OH, ow = p % OW;
        tl[t].xb[r] = p < P ? in + (size_t)n * (size_t)H * (size_t)W * (size_t)C : NULL;
        tl[t].o[r] = p < P ? out + (size_t)p * (size_t)K + (size_t)kb * (size_t)KB : out;
        tl[t].ih0[r] = (int)oh * SH - PT;
        tl[t].iw0[r] = (int)ow * SW - PL;
      }
      tl[t].tp = (rsc_tpool){NULL, K, 0, 0u};
      if (pool) { /* the chunk of pixel p0 (at q in image n) and where the next ones start */
        const long n = p0 / hw, q = p0 - n * hw;
        tl[t].tp.slot = pool + (size_t)(n * nch + q / PC) * (size_t)K + (size_t)kb * (size_t)KB;
        tl[t].tp.add = q % PC != 0;
        for (int r = 1; r < NP; r++)
          if ((q + r) % hw % PC == 0)
            tl[t].tp.runs |= 1u << r;
      }
    } while (++t < gt);
    const int kn = K - (int)kb * KB < KB ? K - (int)kb * KB : KB;
    /* A thread's first tile of each block streams the block in: prefetch.
     * (The first gn units of a range visit every block of the group.) A
     * group prefetches chunk by chunk instead. */
    const int pf = gt == 1 && (u - u0 < gn || ti == 0);
    rsc_nextpf nx = {NULL, 0, sh, XP ? (long)NP * SW * C : 0, NULL, 0, 0};
    if (nx_on && gt == 1 && ti >= 1 && (ti - 1) * share < lines)
      nx.line0 = w + (size_t)(kb + 1) * bsz + (size_t)((ti - 1) * share) * 16;
    rsc_conv_tiles(tl, (int)gt, w + (size_t)kb * bsz, bias + (size_t)kb * (size_t)KB, H, W, C, KH,
                   KW, KB, NP, kn, act, pf, nx, TC);
    u += gt;
  }
}
#endif /* RSC_CONV_H */
