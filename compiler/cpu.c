/*
 * cpu.c - the machine kinds the tile model knows (--cpu) and their cost model
 * constants: FMA datapath and latency, L1/L2 sizes and feed rates, the L3 and
 * DRAM rates a core sees. select.c's estimates read these and nothing else of
 * the machine, so a kind is chosen once per compile (the host's by default,
 * from CPUID) and named in the generated banner; the goldens pin it.
 *
 * Where each figure comes from (bench/NOTES.md, 2026-12-08, has the runs):
 *   zen5   AMD family 26 (EPYC 9005 "Turin"), the machine rsc was tuned on:
 *          l2_bw 25.6 B/cycle measured (bench/tiles.sh, NOTES 2026-11-30);
 *          two FMAs a cycle: 274.4 GFLOP/s on one core (bench/fmapeak.c,
 *          bench/results.md) = 64 FLOP a cycle at 4.29 GHz; DRAM 41.7 GB/s
 *          on one core (bench/dramread.c, same run) = 9.7 B/cycle; 1 MB L2
 *          from CPUID (lscpu). L1 stays at the model's 32 KB, not the 48 KB
 *          CPUID reports: the model's L1 limit (blocks under l1/2 are fed
 *          from L1) was fitted at 32, and 48 moves a tile of the digits
 *          example (its 4x4x128 -> 256 1x1 conv, kb32 -> kb48) with no
 *          measurement that it is faster.
 *   zen4   AMD family 25 models 0x10-0x1f, 0x60-0x7f, 0xa0-0xaf: not measured
 *          by this project; AMD's software optimisation guide for family 19h
 *          (two 256-bit FMA pipes, so a 512-bit FMA per cycle; 32 KB L1,
 *          1 MB L2 at 32 B/cycle).
 *   spr    Intel family 6 models 143 (Sapphire Rapids), 207 (Emerald Rapids)
 *          and 167 (what the 2-vCPU Xeon of issue 21 reports): two 512-bit
 *          FMA ports, measured by issue 21's run of bench/fmapeak.c (232.8
 *          GFLOP/s, one thread: 2 FMAs of 16 lanes a cycle at 3.6 GHz);
 *          48 KB L1, 2 MB L2 at 64 B/cycle (Intel's optimisation manual);
 *          its DRAM rate is not measured: the model's earlier 8 B/cycle.
 *   generic anything else: the figures the tile model had before the kinds
 *          existed, per vector width.
 * The loads per cycle (1.5), the FMA latency (4 on all three) and the L3 rate
 * (16 B/cycle) are the model's fitted figures, the same for every kind. With
 * the Zen 5 figures the tiles are those the model chose before it had kinds
 * (checked on RS-50@160, RS-101@192, RS-152@256, RS-350@320, batch 1 and 8).
 */
#include "rsc.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif
#include <string.h>

/* The CPU's kind from CPUID's vendor, family and model, if it has AVX-512F:
 * every kind but generic assumes 512-bit vectors exist. */
Machine machine_host(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  unsigned a, b, c, d;
  char vendor[13] = {0};
  if (!__get_cpuid(0, &a, &b, &c, &d))
    return MACHINE_GENERIC;
  memcpy(vendor, &b, 4);
  memcpy(vendor + 4, &d, 4);
  memcpy(vendor + 8, &c, 4);
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return MACHINE_GENERIC;
  unsigned family = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
  if (family == 0xf)
    family += (a >> 20) & 0xff;
  if (family == 6 || family >= 0xf)
    model |= ((a >> 16) & 0xf) << 4;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f"))
    return MACHINE_GENERIC;
  return machine_of(vendor, (int)family, (int)model);
#else
  return MACHINE_GENERIC;
#endif
}

Machine machine_of(const char *vendor, int family, int model) {
  if (strcmp(vendor, "AuthenticAMD") == 0) {
    if (family == 26)
      return MACHINE_ZEN5;
    if (family == 25 && ((model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0x7f) ||
                         (model >= 0xa0 && model <= 0xaf)))
      return MACHINE_ZEN4;
  } else if (strcmp(vendor, "GenuineIntel") == 0) {
    if (family == 6 && (model == 143 || model == 207 || model == 167))
      return MACHINE_SPR;
  }
  return MACHINE_GENERIC;
}

/* Vector FMAs per cycle of vl floats on a core with fma_bits of FMA datapath
 * per cycle (ports x width): at most 2, the ports. */
static double fmas_of(int fma_bits, int vl) {
  double f = (double)fma_bits / (vl * 32);
  return f > 2 ? 2 : f;
}

CostModel cost_model(Machine m, Target t) {
  /* avx512-bf16 (and the reserved amx) run on the same AVX-512 cores. */
  bool avx512 = t == TARGET_AVX512 || t == TARGET_AVX512_BF16 || t == TARGET_AMX;
  int vl = avx512 ? 16 : t == TARGET_AVX2 ? 8 : 4;
  int regs = avx512 ? 32 : 16;
  switch (m) {
  case MACHINE_ZEN5:
    /* l2_bw: 25.6, not the nominal 32, measured on a 2-core Zen 5 EPYC
     * (bench/tiles.sh 1 16 16 1024 16 16 256 1 1 1 0, cold weights from L2):
     * kb64 np4 (256 weight bytes per 8 FMA cycles) ran 0.77x the speed of
     * kb64 np6, and kb64 np5 0.96x: both fit 24.6 bytes/cycle. At 32 the
     * model saw np4 FMA-bound and chose it wherever it divides the pixels
     * (RS-152@256's 32x32, 16x16 and 8x8 stages): bench/abtime.sh, RS-152@256
     * batch 1, 1 thread: 0.856x the time at 25.6; RS-50@160, RS-101@192 and
     * RS-350@320 keep their tiles. (24.0 also changed those, for a net 1.00x.) */
    return (CostModel){vl, regs, fmas_of(1024, vl), 1.5, 4.0, 32 << 10, 1 << 20, 25.6, 16.0, 9.7};
  case MACHINE_ZEN4:
    return (CostModel){vl, regs, fmas_of(512, vl), 1.5, 4.0, 32 << 10, 1 << 20, 32.0, 16.0, 8.0};
  case MACHINE_SPR:
    return (CostModel){vl, regs, fmas_of(1024, vl), 1.5, 4.0, 48 << 10, 2 << 20, 64.0, 16.0, 8.0};
  case MACHINE_GENERIC:
    break;
  }
  switch (t) {
  case TARGET_AVX512: /* Zen 4 / Ice Lake class */
  case TARGET_AVX512_BF16:
  case TARGET_AMX:
    return (CostModel){16, 32, 2.0, 1.5, 4.0, 32 << 10, 1 << 20, 25.6, 16.0, 8.0};
  case TARGET_AVX2:
    return (CostModel){8, 16, 2.0, 1.5, 4.0, 32 << 10, 512 << 10, 32.0, 16.0, 8.0};
  case TARGET_GENERIC: /* 128-bit SIMD with 16 registers (SSE, NEON) */
    break;
  }
  return (CostModel){4, 16, 2.0, 1.5, 4.0, 32 << 10, 256 << 10, 16.0, 8.0, 4.0};
}
