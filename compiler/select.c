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
 * Only the layer's constant shape, the target and the machine kind's
 * constants (cpu.c's CostModel) enter: no measurement. rsc --tune measures
 * the schedules conv_candidates lists instead, and a tuning file's schedule
 * (rsc --tuning, tune.c) replaces the model's for the shapes it names.
 */
#include "rsc.h"

#include "../runtime/rsc_limits.h" /* the tile limits */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
static double step_cycles(const CostModel *tm, int np, int v, double wblock) {
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
static int block_group(const Node *n, Shape in, const CostModel *tm, int kb) {
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

static int group_tiles(const Node *n, Shape in, const CostModel *tm, int np, int v, int kg) {
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

static double conv_cost(const Node *n, Shape in, const CostModel *tm, int np, int v, int kg) {
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

static double wino_cost(const Node *n, Shape in, const CostModel *tm, int nt, int v) {
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
static bool wino_applies(const Node *n, Shape in, const CostModel *tm) {
  return n->kh == 3 && n->kw == 3 && n->sh == 1 && n->sw == 1 && n->pad_t == 1 &&
         n->pad_l == 1 && n->out.h == in.h && n->out.w == in.w && in.c % tm->vl == 0;
}

/* Weight bytes in the packed layout (output channels padded to kb). */
static double weight_bytes(const Node *n, Shape in, int kb, double per_filter) {
  return ceil((double)n->out.c / kb) * kb * in.c * per_filter * 4.0;
}

/* The best direct tile (np, kb, kg) for n's shape and its estimate. */
static double best_direct(const Node *n, Shape in, const CostModel *tm, int *np, int *kb,
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
static double best_wino(const Node *n, Shape in, const CostModel *tm, int *nt, int *kb) {
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
static bool wino_wins(const Node *n, Shape in, const CostModel *tm) {
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

static void conv_tile_bf16(Node *n, Shape in, const CostModel *cm) {
  Shape pairs = in;
  pairs.c = (in.c + 1) / 2;
  ConvSched *cs = &n->sched->conv;
  *cs = (ConvSched){.bf16 = true, .tg = 1};
  best_direct(n, pairs, cm, &cs->np, &cs->kb, &cs->kg);
}

/* The model's direct schedule for an np x v tile: its block group, and the
 * prefetches and tile groups the rules of the file comment give it. */
static ConvSched direct_schedule(const Node *n, Shape in, const CostModel *tm, int np, int v) {
  ConvSched s = {.kb = v * tm->vl, .np = np};
  s.kg = block_group(n, in, tm, s.kb);
  double P = (double)n->out.n * n->out.h * n->out.w;
  s.nx = s.kg == 1 && P > np && 2 * (double)n->kh * n->kw * in.c * s.kb * 4.0 <= tm->l2 / 2;
  s.xp = (double)in.n * in.h * in.w * in.c * 4.0 > tm->l2 / 2;
  s.tg = group_tiles(n, in, tm, np, v, s.kg);
  s.tc = s.tg > 1 ? (in.c < TG_CHUNK ? in.c : TG_CHUNK) : 0;
  if (s.tg > 1)
    s.nx = false; /* the groups stream the weights themselves */
  return s;
}

static ConvSched model_schedule(const Node *n, Shape in, const CostModel *tm, bool allow_wino) {
  int np = 0, kb = 0, kg = 0;
  best_direct(n, in, tm, &np, &kb, &kg);
  ConvSched s = direct_schedule(n, in, tm, np, kb / tm->vl);
  if (!allow_wino || !wino_applies(n, in, tm) || !wino_wins(n, in, tm))
    return s;
  s = (ConvSched){.wino = true, .kg = 1, .tg = 1};
  best_wino(n, in, tm, &s.np, &s.kb);
  return s;
}

/* The record select attaches; fuse_se_pool sets se_pool afterwards. */
static void apply_schedule(Node *n, const ConvSched *s) {
  n->sched->conv = *s;
  n->sched->conv.se_pool = false;
}

char *conv_shape_key(const Node *n, Shape in) {
  return xstrfmt("conv%dx%ds%dx%dp%dx%d_n%d_%dx%dx%d_%dx%dx%d", n->kh, n->kw, n->sh, n->sw,
                 n->pad_t, n->pad_l, n->out.n, in.h, in.w, in.c, n->out.h, n->out.w, n->out.c);
}

void schedule_format(const ConvSched *s, StrBuf *out) {
  if (s->wino)
    sb_printf(out, "wino kb%d nt%d", s->kb, s->np);
  else
    sb_printf(out, "direct kb%d np%d kg%d nx%d xp%d tg%d tc%d", s->kb, s->np, s->kg, s->nx, s->xp,
              s->tg, s->tc);
}

bool schedule_valid(const Node *n, Shape in, const CostModel *cm, bool allow_wino,
                    const ConvSched *s, char why[160]) {
  int v = s->kb / cm->vl, nkb = (n->out.c + s->kb - 1) / (s->kb > 0 ? s->kb : 1);
  double P = (double)n->out.n * n->out.h * n->out.w;
  if (s->kb <= 0 || s->kb % cm->vl || v > V_MAX)
    snprintf(why, 160, "kb%d is not a multiple of %d floats up to %d", s->kb, cm->vl,
             V_MAX * cm->vl);
  else if (s->np < 1 || s->np > (s->wino ? WINO_NT_MAX : NP_MAX))
    snprintf(why, 160, "%s%d is not in 1..%d", s->wino ? "nt" : "np", s->np,
             s->wino ? WINO_NT_MAX : NP_MAX);
  else if (s->np * v + v + 1 > cm->regs)
    snprintf(why, 160, "a %dx%d tile needs %d vector registers, the target has %d", s->kb, s->np,
             s->np * v + v + 1, cm->regs);
  else if (s->wino && !allow_wino)
    snprintf(why, 160, "Winograd, but --no-winograd is given");
  else if (s->wino && !wino_applies(n, in, cm))
    snprintf(why, 160, "Winograd, but this conv is not 3x3 stride 1 'same' on whole vectors");
  else if (s->kg < 1 || s->kg > nkb)
    snprintf(why, 160, "kg%d is not in 1..%d (the blocks)", s->kg, nkb);
  else if (s->tg < 1 || s->tg > TG_MAX || s->tg * s->np * v > TG_VECS)
    snprintf(why, 160, "tg%d is not in 1..%d or its %d accumulator vectors exceed %d", s->tg,
             TG_MAX, s->tg * s->np * v, TG_VECS);
  else if (s->tg > 1 && (s->kg > 1 || s->tc < 1 || s->tc > in.c || s->nx))
    snprintf(why, 160, "tg%d needs kg1, nx0 and tc in 1..%d", s->tg, in.c);
  else if (s->tg == 1 && s->tc != 0)
    snprintf(why, 160, "tc%d without tile groups (tg1) must be tc0", s->tc);
  else if (s->nx && (s->kg > 1 || P <= s->np))
    snprintf(why, 160, "nx1 needs kg1 and more than one tile");
  else
    return true;
  return false;
}

static bool same_schedule(const ConvSched *a, const ConvSched *b) {
  return a->wino == b->wino && a->kb == b->kb && a->np == b->np && a->kg == b->kg &&
         a->nx == b->nx && a->xp == b->xp && a->tg == b->tg && a->tc == b->tc;
}

/* Appends s to out[0..*n) unless it is there, the list is full or s is not valid. */
static void add_candidate(const Node *n, Shape in, const CostModel *cm, bool allow_wino,
                          ConvSched *out, int *count, ConvSched s) {
  char why[160];
  if (*count >= SCHEDULES_MAX || !schedule_valid(n, in, cm, allow_wino, &s, why))
    return;
  for (int i = 0; i < *count; i++)
    if (same_schedule(&out[i], &s))
      return;
  out[(*count)++] = s;
}

int conv_candidates(const Node *n, Shape in, const CostModel *cm, bool allow_wino, ConvSched *out) {
  int count = 0;
  ConvSched m = model_schedule(n, in, cm, allow_wino);
  add_candidate(n, in, cm, allow_wino, out, &count, m);
  /* The three next direct tiles by the estimate. */
  double cost[V_MAX + 1][NP_MAX + 1];
  for (int v = 1; v <= V_MAX; v++)
    for (int p = 1; p <= NP_MAX; p++)
      cost[v][p] = p * v + v + 1 > cm->regs
                       ? 0
                       : conv_cost(n, in, cm, p, v, block_group(n, in, cm, v * cm->vl));
  for (int k = 0; k < 3; k++) {
    int bv = 0, bp = 0;
    for (int v = 1; v <= V_MAX; v++)
      for (int p = 1; p <= NP_MAX; p++)
        if (cost[v][p] > 0 && (bv == 0 || cost[v][p] < cost[bv][bp]))
          bv = v, bp = p;
    if (bv == 0)
      break;
    cost[bv][bp] = 0;
    add_candidate(n, in, cm, allow_wino, out, &count, direct_schedule(n, in, cm, bp, bv));
  }
  /* The model's direct tile with each prefetch switched, ... */
  ConvSched d = m;
  if (m.wino) {
    int np = 0, kb = 0, kg = 0;
    best_direct(n, in, cm, &np, &kb, &kg);
    d = direct_schedule(n, in, cm, np, kb / cm->vl);
    add_candidate(n, in, cm, allow_wino, out, &count, d);
  }
  ConvSched t = d;
  t.nx = !t.nx;
  add_candidate(n, in, cm, allow_wino, out, &count, t);
  t = d;
  t.xp = !t.xp;
  add_candidate(n, in, cm, allow_wino, out, &count, t);
  /* ... without its block group, and with tile groups switched. */
  if (d.kg > 1) {
    t = d;
    t.kg = 1;
    add_candidate(n, in, cm, allow_wino, out, &count, t);
  }
  t = d;
  if (d.tg > 1) {
    t.tg = 1;
    t.tc = 0;
  } else if (d.kg == 1) {
    int v = d.kb / cm->vl;
    double tiles = ceil((double)n->out.n * n->out.h * n->out.w / d.np);
    t.tg = tiles < TG_MAX ? (int)tiles : TG_MAX;
    while (t.tg > 1 && t.tg * d.np * v > TG_VECS)
      t.tg--;
    t.tc = in.c < TG_CHUNK ? in.c : TG_CHUNK;
    t.nx = false;
  }
  if (t.tg != d.tg)
    add_candidate(n, in, cm, allow_wino, out, &count, t);
  /* Winograd's best tile where the model runs the conv direct. */
  if (!m.wino && allow_wino && wino_applies(n, in, cm)) {
    ConvSched w = {.wino = true, .kg = 1, .tg = 1};
    best_wino(n, in, cm, &w.np, &w.kb);
    add_candidate(n, in, cm, allow_wino, out, &count, w);
  }
  return count;
}

/* The tuning file's schedule for n, if it names n's shape and the schedule
 * is valid (else an error at its line); the model's otherwise. */
static bool conv_tile(Node *n, Shape in, const CostModel *cm, bool allow_wino, Tuning *t,
                      Diag *d) {
  ConvSched s = model_schedule(n, in, cm, allow_wino);
  if (t) {
    char *key = conv_shape_key(n, in);
    int e = namemap_get(&t->index, key);
    free(key);
    if (e >= 0) {
      TuneUse *u = &t->uses[e];
      char why[160];
      u->used = true;
      if (!schedule_valid(n, in, cm, allow_wino, &u->s, why)) {
        diag_at(d, DIAG_ERROR, &t->file, u->line, u->col, 1, "schedule for '%s': %s", u->key,
                why);
        return false;
      }
      s = u->s;
    }
  }
  apply_schedule(n, &s);
  return true;
}

static char *kernel_name(const Graph *g, const Node *n) {
  Shape in = n->nin ? g->nodes[n->in[0]].out : n->out, o = n->out;
  const ConvSched *cs = &n->sched->conv;
  switch (n->op) {
  case OP_CONV:
    if (cs->wino)
      return xstrfmt("wino2x2_3x3_n%d_%dx%dx%d_%dx%dx%d_kb%d_nt%d_%s", o.n, in.h, in.w, in.c, o.h,
                     o.w, o.c, cs->kb, cs->np, act_name(n->act));
    { /* block-major (kg 1), ungrouped (tg 1) kernels keep their names without those parts */
      char kg[16] = "", tg[32] = "";
      if (cs->kg > 1)
        snprintf(kg, sizeof kg, "_kg%d", cs->kg);
      if (cs->tg > 1)
        snprintf(tg, sizeof tg, "_tg%dc%d", cs->tg, cs->tc);
      return xstrfmt("conv%dx%ds%dx%dp%dx%d_n%d_%dx%dx%d_%dx%dx%d_kb%d_np%d%s%s%s%s_%s%s%s", n->kh,
                     n->kw, n->sh, n->sw, n->pad_t, n->pad_l, o.n, in.h, in.w, in.c, o.h, o.w, o.c,
                     cs->kb, cs->np, kg, cs->nx ? "_nx" : "", cs->xp ? "_xp" : "", tg,
                     act_name(n->act), cs->se_pool ? "_sp" : "", cs->bf16 ? "_bf16" : "");
    }
  case OP_POOL:
    if (n->attr.pool.global)
      return xstrfmt("%s_n%d_%dx%dx%d", node_op_name(n), o.n, in.h, in.w, in.c);
    return xstrfmt("%s%dx%ds%dx%dp%dx%d_n%d_%dx%dx%d_%dx%d", node_op_name(n), n->kh, n->kw, n->sh,
                   n->sw, n->pad_t, n->pad_l, o.n, in.h, in.w, in.c, o.h, o.w);
  case OP_DENSE:
    return xstrfmt("dense_n%d_%d_%d_%s", o.n, in.c, o.c, act_name(n->act));
  case OP_ADD:
    return xstrfmt("add_n%d_%dx%dx%d_%s", o.n, o.h, o.w, o.c, act_name(n->act));
  case OP_SE_ADD:
    return xstrfmt("se_add_n%d_%dx%dx%d_m%d_%s%s", o.n, o.h, o.w, o.c, n->attr.se.mid,
                   act_name(n->act), n->sched->pooled ? "_sp" : "");
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
    if (se->dead)
      continue;
    /* x, linked to se by fuse, must run right before it. */
    Node *x = se->op == OP_SE_ADD ? &g->nodes[se->in[0]] : NULL;
    if (x && x->se == i && se->in[0] == prev && x->op == OP_CONV && !x->sched->conv.wino &&
        uses_count(&u, prev) == 1 && g->output != prev) {
      x->sched->conv.se_pool = true;
      se->sched->pooled = true;
    }
    prev = i;
  }
  uses_free(&u);
}

bool select_kernels(Graph *g, Diag *d) {
  bool ok = true;
  CostModel cm = cost_model(g->machine, g->target);
  Tuning *t = g->tuning;
  for (int i = 0; t && i < t->nuses; i++)
    t->uses[i].used = false;
  for (int i = 0; i < g->nnodes; i++) { /* a fresh record: select may run again */
    Node *n = &g->nodes[i];
    sched_free(n);
    if (n->dead || n->op == OP_INPUT)
      continue;
    n->sched = xcalloc(1, sizeof *n->sched);
    if (n->op == OP_CONV && conv_in_bf16(g, n))
      conv_tile_bf16(n, g->nodes[n->in[0]].out, &cm);
    else if (n->op == OP_CONV)
      ok = conv_tile(n, g->nodes[n->in[0]].out, &cm,
                     !g->no_wino && g->spec.precision == PRECISION_FP32, t, d) &&
           ok;
  }
  /* A file tuned for a related model may name shapes this one lacks. */
  for (int i = 0; t && i < t->nuses; i++)
    if (!t->uses[i].used)
      diag_at(d, DIAG_WARNING, &t->file, t->uses[i].line, t->uses[i].col,
              (int)strlen(t->uses[i].key), "no conv of this model has shape '%s': line ignored",
              t->uses[i].key);
  if (!ok)
    return false;
  fuse_se_pool(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (!n->sched)
      continue;
    n->sched->kernel = kernel_name(g, n);
    if (!n->sched->kernel) {
      /* Only reachable if a pass left an unfused op behind. */
      diag(d, DIAG_ERROR, "no kernel for '%s' (%s): the fusion passes did not apply", n->name,
           node_op_name(n));
      ok = false;
    }
  }
  return ok;
}
