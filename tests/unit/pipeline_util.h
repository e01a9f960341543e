/*
 * pipeline_util.h - the one place the unit tests run rsc's pipeline up to a
 * pass: spec text -> Graph after pass `last`, in the order compiler/main.c's
 * compile() runs them (build shape weights fold entry fuse outputs select plan
 * pack). The weights pass draws seeded random values: every value drawn now
 * (weights_random), so tests can read t->data, or with pipeline_to_deferred
 * as rsc without --weights does (weights_random_deferred: the big tensors
 * drawn only when read, for the tests that run big networks and read no
 * weights). test_time_passes checks this order against the lines of rsc
 * --time-passes, so the copy cannot drift from main.c's. When the compiler gains
 * compile_to(graph, ctx, pass), this file is the only one to switch to it.
 */
#ifndef RSC_TEST_PIPELINE_UTIL_H
#define RSC_TEST_PIPELINE_UTIL_H

#include "rsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef bool (*PipelinePassFn)(Graph *g, Diag *d);

static bool pipeline_deferred; /* set only by pipeline_run below */

static bool pipeline_weights(Graph *g, Diag *d) {
  (void)d;
  if (pipeline_deferred)
    weights_random_deferred(g, 7);
  else
    weights_random(g, 7);
  return true;
}

/* The passes of main.c's compile(), in its order. */
static const struct {
  const char *name;
  PipelinePassFn fn;
} pipeline_table[] = {
    {"build", build_graph},   {"shape", infer_shapes},    {"weights", pipeline_weights},
    {"fold", fold_bn},        {"entry", lower_entry},     {"fuse", fuse_ops},
    {"outputs", select_outputs}, {"select", select_kernels}, {"plan", plan_memory},
    {"pack", pack_weights},
};

/* Parses spec text, then runs every pass up to and including `last` with
 * graph_check after each, as rsc does. target: the --target the kernels are
 * tuned for (select). Returns false (diagnostics on stderr) if a step fails;
 * fails loudly on an unknown pass name. */
static inline size_t pipeline_index(const char *pass) {
  size_t np = sizeof pipeline_table / sizeof *pipeline_table;
  for (size_t i = 0; i < np; i++)
    if (strcmp(pipeline_table[i].name, pass) == 0)
      return i;
  fprintf(stderr, "pipeline_util.h: unknown pass '%s'\n", pass);
  abort();
}

/* Runs the passes after `done` up to and including `last` on g, which the
 * pipeline has taken up to `done` (a test looks at the graph in between). */
static inline bool pipeline_resume(Graph *g, const char *done, const char *last) {
  Diag d;
  diag_init(&d, stderr);
  for (size_t i = pipeline_index(done) + 1; i <= pipeline_index(last); i++) {
    if (!pipeline_table[i].fn(g, &d))
      return false;
    graph_check(g);
  }
  return true;
}

static inline bool pipeline_run(Graph *g, const char *spec_text, const char *last, Target target,
                                bool deferred) {
  pipeline_deferred = deferred;
  size_t stop = pipeline_index(last);
  Spec s;
  Diag d;
  diag_init(&d, stderr);
  spec_defaults(&s);
  SrcFile f = {"t.spec", spec_text, strlen(spec_text)};
  if (!spec_parse(&s, &f, &d) || !spec_finish(&s, &d))
    return false;
  graph_init(g, &s);
  g->target = target;
  for (size_t i = 0; i <= stop; i++) {
    if (!pipeline_table[i].fn(g, &d))
      return false;
    graph_check(g);
  }
  return true;
}

static inline bool pipeline_to(Graph *g, const char *spec_text, const char *last, Target target) {
  return pipeline_run(g, spec_text, last, target, false);
}

static inline bool pipeline_to_deferred(Graph *g, const char *spec_text, const char *last,
                                        Target target) {
  return pipeline_run(g, spec_text, last, target, true);
}

#endif
