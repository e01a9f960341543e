/*
 * pipeline_util.h - the one place the unit tests run rsc's pipeline up to a
 * pass: spec text -> Graph after pass `last`, through the compiler's own
 * compile_to (pipeline.c's PASS_LIST order, graph_check after each pass), so
 * tests never hold a pass order of their own. The weights pass draws seeded
 * random values: every value drawn now (PassCtx.draw_now), so tests can read
 * t->data, or with pipeline_to_deferred as rsc without --weights does (the big
 * tensors drawn only when read, for the tests that run big networks and read
 * no weights). Passes are named as --dump names them; an unknown name aborts.
 */
#ifndef RSC_TEST_PIPELINE_UTIL_H
#define RSC_TEST_PIPELINE_UTIL_H

#include "rsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PIPELINE_SEED = 7 };

static inline Pass pipeline_pass(const char *name) {
  int p = pass_find(name, strlen(name));
  if (p < 0) {
    fprintf(stderr, "pipeline_util.h: unknown pass '%s'\n", name);
    abort();
  }
  return (Pass)p;
}

static inline bool pipeline_compile(Graph *g, const char *last, bool deferred) {
  Diag d;
  diag_init(&d, stderr);
  PassCtx c = {.d = &d, .seed = PIPELINE_SEED, .draw_now = !deferred};
  return compile_to(g, &c, pipeline_pass(last));
}

/* Runs the passes after the ones g has been through up to and including
 * `last` (a test looks at the graph in between). `done` names the pass the
 * test took g to, checked against the graph's own record. */
static inline bool pipeline_resume(Graph *g, const char *done, const char *last) {
  if (g->passes_done != (int)pipeline_pass(done) + 1) {
    fprintf(stderr, "pipeline_util.h: the graph is not just after pass '%s'\n", done);
    abort();
  }
  return pipeline_compile(g, last, false);
}

/* Parses spec text, then runs every pass up to and including `last`.
 * target: the --target the kernels are tuned for (select). Returns false
 * (diagnostics on stderr) if a step fails. */
static inline bool pipeline_run(Graph *g, const char *spec_text, const char *last, Target target,
                                bool deferred) {
  Spec s;
  Diag d;
  diag_init(&d, stderr);
  spec_defaults(&s);
  SrcFile f = {"t.spec", spec_text, strlen(spec_text)};
  if (!spec_parse(&s, &f, &d) || !spec_finish(&s, &d))
    return false;
  graph_init(g, &s);
  g->target = target;
  return pipeline_compile(g, last, deferred);
}

static inline bool pipeline_to(Graph *g, const char *spec_text, const char *last, Target target) {
  return pipeline_run(g, spec_text, last, target, false);
}

static inline bool pipeline_to_deferred(Graph *g, const char *spec_text, const char *last,
                                        Target target) {
  return pipeline_run(g, spec_text, last, target, true);
}

#endif
