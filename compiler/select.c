/*
 * select.c - kernel selection. Every live compute node gets the name of a
 * kernel specialised to its exact shape; nodes with the same name share one
 * emitted function. Names say everything, XNNPACK-style:
 *   conv3x3s2x2p1x1_n1_160x160x3_80x80x32_kb32_np10_nx_relu
 *   op, window, strides, leading pads, batch, input HxWxC, output HxWxC,
 *   register tile (output channels x pixels), blocking and prefetch parts
 *   (_kgN, _nx, _xp, _tgNcM: see below), epilogue (and _sp: the SE pool).
 *
 * Tile choice for convs: the cost model of docs/kernels.md. A conv's work is
 * ceil(K/kb) output-channel blocks x ceil(P/np) tiles of np output pixels
 * (P = N*OH*OW); one tile keeps np x (kb/VL) vector accumulators in
 * registers and, per input channel of each tap, loads kb/VL weight vectors
 * and broadcasts np inputs. For every (np, kb) that fits the target's
 * register file we estimate cycles as
 *   units * taps * C * max(np*v / FMAS, (np + v) / LOADS, LAT, FEED) + ROWS
 * + units * taps * (2*np + 4)                               tap set-up
 * + units * np * v * 2                                      epilogue
 * + ceil(nkb/kg) * input_bytes / L3_BW    if the input exceeds L2/2
 * with v = kb/VL and units = blocks x tiles. kg (blocks per group,
 * rsc_conv2d_part's KG) is 1 unless the input exceeds L2/2, else as many
 * blocks as fit in L2/2 (block_group). FEED is the arrival of a step's kb
 * weights from L2, or from L3 when what a tile sweeps between two visits of
 * the same weights (the kg blocks, or a group's chunk) exceeds 3/4 of L2
 * (step_cycles). ROWS: a cycle per tile row past ROW_REGS. Padded lanes and
 * pixel slots past P are counted as work, which is what makes the model
 * prefer tiles that divide the shape. The smallest estimate wins; ties go to
 * the larger tile. A direct conv with kg 1, more than one tile and two
 * blocks that fit in half of L2 prefetches the next block while a block's
 * tiles run (rsc_conv2d_part's NX, `_nx` in the name): its weight fetch then
 * overlaps the compute instead of adding to it. Where a block's fetch from
 * DRAM is large against its tiles' compute (small pixel counts: batch 1's
 * last stage), up to 8 tiles take turns on chunks of its weights instead
 * (rsc_conv2d_part's TG, `_tgNcM` in the name; group_tiles). The model
 * leaves the overlap out: it charges every layer its DRAM time anyway
 * (below). A direct conv whose input exceeds L2/2 prefetches each tile's
 * successor's input (rsc_conv2d_part's XP, `_xp`): a tile's pixels are
 * streams the hardware does not follow.
 *
 * 3x3 stride-1 "same" convs whose input channels fill whole vectors can run
 * as Winograd F(2x2,3x3) instead (rsc_wino_part): T = N*ceil(OH/2)*ceil(OW/2)
 * tiles of 2x2 outputs, units = blocks x ceil(T/nt), and per unit
 *   16 * C * max(nt*v / FMAS, (nt + v) / LOADS, LAT)        16 matrix products
 * + 16 * ceil(C/64) * nt * v * 2                             partial sums
 * + nt * C/VL * 24 + nt * v * 24                            input/output transforms
 * plus the same input term, with the 16/9 larger weight block, all times
 * (1 + C/1024): measured on an Ice Lake Xeon, the Winograd kernel falls
 * short of this estimate by more than the direct one does, increasingly
 * with C (about 5 % at C = 64, 25 % at 256). Both estimates then pay for
 * streaming their weights from DRAM once (weights / DRAM_BW): at batch 1
 * the deep layers are bound by it, and there Winograd's 16/9 more weight
 * bytes lose. Winograd is taken only if it is estimated 10 % faster (it has
 * the bigger weights, and the estimate is the rougher of the two) for one
 * image: its sums differ from the direct conv's, and an image's result must
 * not depend on the batch it came in (the tiles may: they change no sum).
 * Only the layer's constant shape and the target enter: no measurement.
 */
#include "rsc.h"

#include "../runtime/rsc_limits.h" /* the tile limits */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* What the cost model knows about a target. */
typedef struct TargetModel {
  int vl;        /* floats per vector register */
  int regs;      /* vector registers */
  double fmas;   /* vector FMAs per cycle */
  double loads;  /* loads (vector or broadcast) per cycle */
  double lat;    /* FMA latency in cycles: the fewest cycles per channel step */
  double l1;     /* bytes of L1 data cache per core */
  double l2;     /* bytes of L2 per core */
  double l2_bw;  /* bytes per cycle from L2 */
  double l3_bw;  /* bytes per cycle from L3 */
  double dram_bw; /* bytes per cycle from DRAM, one core */
} TargetModel;

static TargetModel target_model(Target t) {
  switch (t) {
  case TARGET_AVX512:      /* Zen 4 / Ice Lake class */
  case TARGET_AVX512_BF16: /* the same cores; bf16 convs are modelled in conv_tile */
  case TARGET_AMX:         /* not built (main.c); its cores are AVX-512 ones */
    /* l2_bw: 25.6, not the nominal 32, measured on a 2-core Zen 5 EPYC
     * (bench/tiles.sh 1 16 16 1024 16 16 256 1 1 1 0, cold weights from L2):
     * kb64 np4 (256 weight bytes per 8 FMA cycles) ran 0.77x the speed of
     * kb64 np6, and kb64 np5 0.96x: both fit 24.6 bytes/cycle. At 32 the
     * model saw np4 FMA-bound and chose it wherever it divides the pixels
     * (RS-152@256's 32x32, 16x16 and 8x8 stages): bench/abtime.sh, RS-152@256
     * batch 1, 1 thread: 0.856x the time at 25.6; RS-50@160, RS-101@192 and
     * RS-350@320 keep their tiles. (24.0 also changed those, for a net 1.00x.) */
    return (TargetModel){16, 32, 2.0, 1.5, 4.0, 32 << 10, 1 << 20, 25.6, 16.0, 8.0};
  case TARGET_AVX2:
    return (TargetModel){8, 16, 2.0, 1.5, 4.0, 32 << 10, 512 << 10, 32.0, 16.0, 8.0};
  case TARGET_GENERIC: /* 128-bit SIMD with 16 registers (SSE, NEON) */
    break;
  }
  return (TargetModel){4, 16, 2.0, 1.5, 4.0, 32 << 10, 256 << 10, 16.0, 8.0, 4.0};
}

/* Largest v per tile and np the runtime supports; Winograd's tiles per unit
 * and its channel chunk; the most tiles per group and accumulator vectors a
 * group spills: the runtime's limits (runtime/rsc_limits.h, via rsc.h). The
 * channels per chunk of a group (TG_CHUNK) are this file's choice, passed to
 * the kernel. */
enum { V_MAX = RSC_V_MAX, NP_MAX = RSC_NP_MAX, WINO_NT_MAX = RSC_WINO_NT, WINO_CC = RSC_WINO_CC };
enum { TG_MAX = RSC_TG_MAX, TG_VECS = RSC_TG_VECS, TG_CHUNK = 64 };
/* Tile rows whose input pointers stay in general registers (x86-64 has 16;
 * the tile loop needs some for itself). */
enum { ROW_REGS = 10 };

/* Cycles of one register-tile step (one input channel of one tap): the
 * FMAs, the loads, the latency, or the time its kb weight floats take to
 * arrive from where the unit's weight block (wblock bytes, swept once per
 * unit) stays between tiles: L1, L2, or, past 3/4 of L2, L3. Every tile of
 * a block sweeps the whole block, so a block that does not stay in L2 is
 * re-streamed from L3 by each tile, overlapped with its FMAs. (The limit was
 * half of L2 until 2026-11-30; measured, bench/tiles.sh on an Ice Lake Xeon
 * with 1.25 MB of L2: the 3x3 stride-2 convs on 256 channels run 10-20 %
 * faster with their 590 KB kb64 blocks than with the kb32 tiles the half
 * limit chose, while Winograd's 1 MB kb64 blocks on 256 channels run 1.23x
 * slower than its kb32 ones, which 3/4 still avoids.) */
static double step_cycles(const TargetModel *tm, int np, int v, double wblock) {
  double step = (double)np * v / tm->fmas;
  if ((np + v) / tm->loads > step)
    step = (np + v) / tm->loads;
  if (tm->lat > step)
    step = tm->lat;
  /* Rows past ROW_REGS: their input pointers no longer fit the general
   * registers and are reloaded every step (seen in gcc's code for np 12).
   * Measured on an Ice Lake Xeon, cold weights (bench/tiles.sh): 64x6 runs
   * the 24x24x256 stride-2 3x3 10 % faster than 32x12, and 64x5 the 5x5x512
   * ones 12-16 % faster than 32x13; but 32x10 runs the 20x20x512 stride-2
   * one 13 % faster than 32x5. One cycle per such row per step fits those. */
  if (np > ROW_REGS)
    step += np - ROW_REGS;
  double bytes = v * tm->vl * 4.0;
  double feed = wblock > tm->l2 * 3 / 4 ? bytes / tm->l3_bw
                : wblock > tm->l1 / 2     ? bytes / tm->l2_bw
                                          : 0;
  if (feed > step)
    step = feed;
  return step;
}

/* Blocks per group (rsc_conv2d_part's KG) for a kb-wide tile: when the input
 * does not stay in half of L2, as many blocks as stay there together, so the
 * input is read once per group instead of once per block; else 1. */
static int block_group(const Node *n, Shape in, const TargetModel *tm, int kb) {
  double inbytes = (double)in.n * in.h * in.w * in.c * 4.0;
  double wblock = (double)n->kh * n->kw * in.c * kb * 4.0;
  int nkb = (n->out.c + kb - 1) / kb, kg = (int)(tm->l2 / 2 / wblock);
  if (inbytes <= tm->l2 / 2 || kg < 1)
    return 1;
  return kg < nkb ? kg : nkb;
}

/*
 * Tiles per group (rsc_conv2d_part's TG) for an np x v tile with kg blocks
 * per group, 1 for none. A block's first tile fetches the block's weights
 * from DRAM (at batch 1 or 8 every layer's weights are cold: the network's
 * exceed the L3) and its other tiles find them in cache, so the fetch adds
 * to the compute. A group of tiles taking turns on chunks of the block's
 * weights overlaps the two instead, at the cost of storing and reloading its
 * accumulators per chunk. Worth it where the fetch is a sizeable part of the
 * block's compute, a ratio of about kb / (P * v) (kb weight floats per input
 * channel against P * v FMAs): at small pixel counts P, batch 1's last
 * stages. Measured (bench/tiles.sh, Ice Lake Xeon, cold weights): the 5x5
 * and 6x6 and 8x8 layers of stage 4 0.71-0.88x with groups, the 10x10 and
 * 12x12 ones of stage 3 (ratio 0.11-0.16) up to 1.24x slower.
 */
/* The least fetch / compute ratio that gets a group. */
static const double GROUP_MIN = 0.2;

static int group_tiles(const Node *n, Shape in, const TargetModel *tm, int np, int v, int kg) {
  if (kg > 1)
    return 1;
  double P = (double)n->out.n * n->out.h * n->out.w, tiles = ceil(P / np);
  double taps = (double)n->kh * n->kw, wblock = taps * in.c * v * tm->vl * 4.0;
  int tg = tiles < TG_MAX ? (int)tiles : TG_MAX;
  while (tg > 1 && tg * np * v > TG_VECS)
    tg--;
  double groups = ceil(tiles / tg);
  tg = (int)ceil(tiles / groups); /* as rsc_conv2d_part evens them out */
  double fetch = wblock / tm->dram_bw;
  double compute = tiles * taps * in.c * step_cycles(tm, np, v, 0);
  return tg > 1 && fetch >= GROUP_MIN * compute ? tg : 1;
}

static double conv_cost(const Node *n, Shape in, const TargetModel *tm, int np, int v, int kg) {
  int kb = v * tm->vl;
  double P = (double)n->out.n * n->out.h * n->out.w, taps = (double)n->kh * n->kw;
  double nkb = (n->out.c + kb - 1) / kb, tiles = ceil(P / np), units = nkb * tiles;
  double wblock = taps * in.c * kb * 4.0;
  /* Between two tiles of a block, its group's blocks all pass through cache;
   * a group of tiles sweeps only a chunk of TG_CHUNK channels between turns. */
  double swept = group_tiles(n, in, tm, np, v, kg) > 1 ? TG_CHUNK * kb * 4.0 : wblock * kg;
  double acc = (double)np * v, step = step_cycles(tm, np, v, swept);
  double cyc = units * taps * in.c * step + units * taps * (2.0 * np + 4) + units * acc * 2;
  double inbytes = (double)in.n * in.h * in.w * in.c * 4.0;
  if (inbytes > tm->l2 / 2)
    cyc += ceil(nkb / kg) * inbytes / tm->l3_bw;
  return cyc;
}

static double wino_cost(const Node *n, Shape in, const TargetModel *tm, int nt, int v) {
  int kb = v * tm->vl;
  double T = (double)n->out.n * ((n->out.h + 1) / 2) * ((n->out.w + 1) / 2);
  double nkb = (n->out.c + kb - 1) / kb, groups = ceil(T / nt), units = nkb * groups;
  double C = in.c, chunks = ceil(C / WINO_CC), wblock = 16 * C * kb * 4.0;
  double cyc = units * (16 * C * step_cycles(tm, nt, v, wblock) + 16 * chunks * nt * v * 2 +
                        nt * C / tm->vl * 24 + (double)nt * v * 24);
  cyc *= 1 + C / 1024; /* calibration, see the file comment */
  double inbytes = (double)in.n * in.h * in.w * in.c * 4.0;
  if (inbytes > tm->l2 / 2)
    cyc += nkb * inbytes / tm->l3_bw;
  return cyc;
}

/* Winograd F(2x2,3x3) applies: 3x3, stride 1, output the input's size
 * (padding 1 on every side), input channels in whole vectors. */
static bool wino_applies(const Node *n, Shape in, const TargetModel *tm) {
  return n->kh == 3 && n->kw == 3 && n->sh == 1 && n->sw == 1 && n->pad_t == 1 &&
         n->pad_l == 1 && n->out.h == in.h && n->out.w == in.w && in.c % tm->vl == 0;
}

/* Weight bytes in the packed layout (output channels padded to kb). */
static double weight_bytes(const Node *n, Shape in, int kb, double per_filter) {
  return ceil((double)n->out.c / kb) * kb * in.c * per_filter * 4.0;
}

/* The best direct tile (np, kb, kg) for n's shape and its estimate. */
static double best_direct(const Node *n, Shape in, const TargetModel *tm, int *np, int *kb,
                          int *kg) {
  double best = 0;
  for (int v = 1; v <= V_MAX; v++)
    for (int p = 1; p <= NP_MAX; p++) {
      if (p * v + v + 1 > tm->regs)
        continue;
      int g = block_group(n, in, tm, v * tm->vl);
      double c = conv_cost(n, in, tm, p, v, g);
      if (best == 0 || c < best || (c == best && p * v > *np * *kb / tm->vl)) {
        best = c;
        *np = p;
        *kb = v * tm->vl;
        *kg = g;
      }
    }
  return best;
}

/* The best Winograd tile (nt, kb) for n's shape and its estimate, with the
 * DRAM time of its weights. */
static double best_wino(const Node *n, Shape in, const TargetModel *tm, int *nt, int *kb) {
  double best = 0;
  for (int v = 1; v <= V_MAX; v++)
    for (int t = 1; t <= WINO_NT_MAX; t++) {
      if (t * v + v + 1 > tm->regs)
        continue;
      double c = wino_cost(n, in, tm, t, v) + weight_bytes(n, in, v * tm->vl, 16) / tm->dram_bw;
      if (best == 0 || c < best || (c == best && t * v > *nt * *kb / tm->vl)) {
        best = c;
        *nt = t;
        *kb = v * tm->vl;
      }
    }
  return best;
}

/* Winograd or direct, from the estimates for one image: the two sum in
 * different orders, so the choice must not depend on the batch, or an
 * image's result would change with its neighbours (at batch 3 the model
 * preferred Winograd for a 4x4x64 conv it ran direct at batch 1). */
static bool wino_wins(const Node *n, Shape in, const TargetModel *tm) {
  Node one = *n;
  one.out.n = 1;
  in.n = 1;
  int np = 0, kb = 0, kg = 0, nt = 0, wkb = 0;
  double direct = best_direct(&one, in, tm, &np, &kb, &kg);
  direct += weight_bytes(&one, in, kb, n->kh * n->kw) / tm->dram_bw;
  return best_wino(&one, in, tm, &nt, &wkb) * 1.1 < direct;
}

/*
 * A conv in bf16 (rsc_conv2d_bf16_part): every direct conv but the first,
 * whose input is the image (3 channels: little work, and the input's
 * rounding would be the whole network's first error). Under bf16 no conv
 * runs as Winograd: its transforms in bf16 lose more than the direct
 * conv, and in float32 it is slower than the bf16 direct conv (2.25x
 * fewer multiply-adds at half vdpbf16ps' rate, and its weights are 16/9
 * the size). The tile model sees a bf16 conv as a float32 one on
 * ceil(C/2) channels: one vdpbf16ps step per pair of channels, streaming
 * the same kb words of weights per step as a float32 step streams kb
 * floats. The kernel has no groups of tiles and no next-block prefetch.
 */
static bool conv_in_bf16(const Graph *g, const Node *n) {
  const Node *src = &g->nodes[n->in[0]];
  return g->spec.precision == PRECISION_BF16 && src->op != OP_INPUT && src->op != OP_ENTRY;
}

static void conv_tile_bf16(Node *n, Shape in, Target t) {
  TargetModel tm = target_model(t);
  Shape pairs = in;
  pairs.c = (in.c + 1) / 2;
  n->np = n->kb = 0;
  best_direct(n, pairs, &tm, &n->np, &n->kb, &n->kg);
  n->wino = false;
  n->bf16 = true;
  n->nx = n->xp = false;
  n->tg = 1;
  n->tc = 0;
}

static void conv_tile(Node *n, Shape in, Target t, bool allow_wino) {
  TargetModel tm = target_model(t);
  n->bf16 = false;
  n->np = n->kb = 0;
  best_direct(n, in, &tm, &n->np, &n->kb, &n->kg);
  n->wino = false;
  double P = (double)n->out.n * n->out.h * n->out.w;
  n->nx = n->kg == 1 && P > n->np && 2 * (double)n->kh * n->kw * in.c * n->kb * 4.0 <= tm.l2 / 2;
  n->xp = (double)in.n * in.h * in.w * in.c * 4.0 > tm.l2 / 2;
  n->tg = group_tiles(n, in, &tm, n->np, n->kb / tm.vl, n->kg);
  n->tc = n->tg > 1 ? (in.c < TG_CHUNK ? in.c : TG_CHUNK) : 0;
  if (n->tg > 1)
    n->nx = false; /* the groups stream the weights themselves */
  if (!allow_wino || !wino_applies(n, in, &tm) || !wino_wins(n, in, &tm))
    return;
  n->np = n->kb = 0;
  best_wino(n, in, &tm, &n->np, &n->kb);
  n->wino = true;
  n->kg = 1;
  n->nx = false;
  n->xp = false;
  n->tg = 1;
  n->tc = 0;
}

static char *kernel_name(const Graph *g, const Node *n) {
  Shape in = n->nin ? g->nodes[n->in[0]].out : n->out, o = n->out;
  switch (n->op) {
  case OP_CONV:
    if (n->wino)
      return xstrfmt("wino2x2_3x3_n%d_%dx%dx%d_%dx%dx%d_kb%d_nt%d_%s", o.n, in.h, in.w, in.c, o.h,
                     o.w, o.c, n->kb, n->np, act_name(n->act));
    { /* block-major (kg 1), ungrouped (tg 1) kernels keep their names without those parts */
      char kg[16] = "", tg[32] = "";
      if (n->kg > 1)
        snprintf(kg, sizeof kg, "_kg%d", n->kg);
      if (n->tg > 1)
        snprintf(tg, sizeof tg, "_tg%dc%d", n->tg, n->tc);
      return xstrfmt("conv%dx%ds%dx%dp%dx%d_n%d_%dx%dx%d_%dx%dx%d_kb%d_np%d%s%s%s%s_%s%s%s", n->kh,
                     n->kw, n->sh, n->sw, n->pad_t, n->pad_l, o.n, in.h, in.w, in.c, o.h, o.w, o.c,
                     n->kb, n->np, kg, n->nx ? "_nx" : "", n->xp ? "_xp" : "", tg,
                     act_name(n->act), n->se_pool ? "_sp" : "", n->bf16 ? "_bf16" : "");
    }
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    return xstrfmt("%s%dx%ds%dx%dp%dx%d_n%d_%dx%dx%d_%dx%d", op_name(n->op), n->kh, n->kw, n->sh,
                   n->sw, n->pad_t, n->pad_l, o.n, in.h, in.w, in.c, o.h, o.w);
  case OP_GLOBAL_AVGPOOL:
  case OP_GLOBAL_MAXPOOL:
    return xstrfmt("%s_n%d_%dx%dx%d", op_name(n->op), o.n, in.h, in.w, in.c);
  case OP_DENSE:
    return xstrfmt("dense_n%d_%d_%d_%s", o.n, in.c, o.c, act_name(n->act));
  case OP_ADD:
    return xstrfmt("add_n%d_%dx%dx%d_%s", o.n, o.h, o.w, o.c, act_name(n->act));
  case OP_SE_ADD:
    return xstrfmt("se_add_n%d_%dx%dx%d_m%d_%s%s", o.n, o.h, o.w, o.c, n->se_mid,
                   act_name(n->act), n->pooled ? "_sp" : "");
  case OP_SOFTMAX:
    return xstrfmt("softmax_n%d_%d", o.n, o.c);
  case OP_ENTRY:
    return xstrfmt("entry_%s_%s_n%d_%dx%dx%d_%s", spec_word(KEY_INPUT_TYPE, (int)g->spec.input_type),
                   spec_word(KEY_INPUT_LAYOUT, (int)g->spec.input_layout), o.n, o.h, o.w, o.c,
                   spec_word(KEY_PREPROCESS, (int)g->spec.preprocess));
  case OP_INPUT:
    return NULL;
  case OP_BN:
  case OP_ACT:
  case OP_SCALE:
  case OP_COUNT:
    break;
  }
  return NULL;
}

/*
 * The SE pool in its producer's epilogue: an SE_ADD whose x is a direct conv
 * read by nothing else, run just before it, takes that conv's partial sums
 * (rsc_conv2d_part's pool) instead of reading all of x once more to pool
 * it: at batch 8 that read was a quarter of the SE's time in stages 1-2,
 * where x (13 MB at RS-50@160) streams from L3 or DRAM. The partials sit in
 * the SE's scratch (se_pool_offset), which only SE_ADDs use, so nothing may
 * run between the two. They are one sum per chunk of SE_POOL_CHUNK pixels
 * of each image, summed in the order the SE's own pool would use, so
 * fusing changes no result.
 */

static void fuse_se_pool(Graph *g) {
  Uses u;
  uses_build(&u, g);
  int prev = -1; /* the last live node before i */
  for (int i = 0; i < g->nnodes; i++) {
    Node *se = &g->nodes[i];
    se->pooled = false;
    if (se->dead)
      continue;
    /* x, linked to se by fuse, must run right before it. */
    Node *x = se->op == OP_SE_ADD ? &g->nodes[se->in[0]] : NULL;
    if (x && x->se == i && se->in[0] == prev && x->op == OP_CONV && !x->wino &&
        uses_count(&u, prev) == 1 && g->output != prev) {
      x->se_pool = true;
      se->pooled = true;
    }
    prev = i;
  }
  uses_free(&u);
}

bool select_kernels(Graph *g, Diag *d) {
  bool ok = true;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    n->se_pool = false;
    if (!n->dead && n->op == OP_CONV && conv_in_bf16(g, n))
      conv_tile_bf16(n, g->nodes[n->in[0]].out, g->target);
    else if (!n->dead && n->op == OP_CONV)
      conv_tile(n, g->nodes[n->in[0]].out, g->target,
                !g->no_wino && g->spec.precision == PRECISION_FP32);
  }
  fuse_se_pool(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->op == OP_INPUT)
      continue;
    free(n->kernel);
    n->kernel = kernel_name(g, n);
    if (!n->kernel) {
      /* Only reachable if a pass left an unfused op behind. */
      diag(d, DIAG_ERROR, "no kernel for '%s' (%s): the fusion passes did not apply", n->name,
           op_name(n->op));
      ok = false;
    }
  }
  return ok;
}
