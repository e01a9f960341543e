/*
 * probe_args.h - the command line shared by the benchmark's machine probes
 * (fmapeak.c, dramread.c): `PROG [THREADS...]`, each a count in 1..64, at
 * most 16 of them; none given means 1 and 2.
 */
#ifndef PROBE_ARGS_H
#define PROBE_ARGS_H

#include <stdio.h>
#include <stdlib.h>

/* Fills counts[16] and returns how many, or prints the usage and returns 0. */
static int probe_thread_counts(int argc, char **argv, int counts[16]) {
  if (argc < 2) {
    counts[0] = 1;
    counts[1] = 2;
    return 2;
  }
  int n = 0;
  for (int i = 1; i < argc && n < 16; i++) {
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*end || v < 1 || v > 64) {
      fprintf(stderr, "usage: %s [THREADS...] (1..64)\n", argv[0]);
      return 0;
    }
    counts[n++] = (int)v;
  }
  return n;
}

#endif
