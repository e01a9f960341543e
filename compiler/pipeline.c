/*
 * pipeline.c - the pass table run as one pipeline: compile_to() runs the
 * passes of PASS_LIST in order, from where the graph is (g->passes_done) up
 * to a named pass, checking the graph after each one. rsc (main.c), --verify's
 * reference graph, tests/refeval.c and the unit tests all run it, so a test
 * never sees a pass order rsc does not run.
 *
 * Each pass takes the run's PassCtx (its Diag, the weights options) rather
 * than globals; what is observed between passes (--dump, --time-passes, the
 * summary of the graph as built) is asked for in the PassCtx too.
 */
#include "rsc.h"

#include <string.h>

/* ---- The passes, each as a function of the graph and the run's context. */

static bool pass_build(Graph *g, PassCtx *c) { return build_graph(g, c->d); }
static bool pass_shape(Graph *g, PassCtx *c) { return infer_shapes(g, c->d); }

/* A weights file, else random values from the seed: drawn now when c asks
 * (the reference evaluator, --export-weights), else deferred to the writer of
 * the .weights. --export-weights writes the values as imported, before fold
 * rewrites them; the file is committed with the run's other outputs. */
static bool pass_weights(Graph *g, PassCtx *c) {
  if (c->weights) {
    if (!weights_load_file(g, c->weights, c->d))
      return false;
  } else if (c->draw_now || c->export_weights) {
    weights_random(g, c->seed);
  } else {
    weights_random_deferred(g, c->seed);
  }
  if (!c->export_weights)
    return true;
  StrBuf sb = {0};
  weights_export_safetensors(g, &sb);
  bool ok = outputs_write(c->export_out, c->export_weights, sb.buf, sb.len, c->d);
  sb_free(&sb);
  return ok;
}

static bool pass_fold(Graph *g, PassCtx *c) { return fold_bn(g, c->d); }
static bool pass_entry(Graph *g, PassCtx *c) { return lower_entry(g, c->d); }
static bool pass_fuse(Graph *g, PassCtx *c) { return fuse_ops(g, c->d); }
static bool pass_outputs(Graph *g, PassCtx *c) { return select_outputs(g, c->d); }
static bool pass_select(Graph *g, PassCtx *c) { return select_kernels(g, c->d); }
static bool pass_plan(Graph *g, PassCtx *c) { return plan_memory(g, c->d); }
static bool pass_pack(Graph *g, PassCtx *c) { return pack_weights(g, c->d); }

static const struct {
  const char *name;
  bool (*fn)(Graph *g, PassCtx *c);
  const char *what;
} passes[] = {
#define X(id, name, fn, what) {name, fn, what},
    PASS_LIST(X)
#undef X
};

const char *pass_name(Pass p) {
  RSC_ASSERT((int)p >= 0 && (int)p < PASS_COUNT);
  return passes[p].name;
}

const char *pass_what(Pass p) {
  RSC_ASSERT((int)p >= 0 && (int)p < PASS_COUNT);
  return passes[p].what;
}

int pass_find(const char *name, size_t len) {
  for (int p = 0; p < PASS_COUNT; p++)
    if (strlen(passes[p].name) == len && memcmp(passes[p].name, name, len) == 0)
      return p;
  return -1;
}

void pass_time_line(FILE *out, const char *name, double seconds) {
  fprintf(out, "rsc: time: %-8s %8.3f s\n", name, seconds);
}

bool compile_to(Graph *g, PassCtx *c, Pass last) {
  RSC_ASSERT((int)last >= 0 && (int)last < PASS_COUNT && g->passes_done <= (int)last + 1);
  for (int p = g->passes_done; p <= (int)last; p++) {
    double t0 = now_seconds();
    bool ok = passes[p].fn(g, c);
    if (c->times)
      pass_time_line(c->times, passes[p].name, now_seconds() - t0);
    if (!ok)
      return false;
    g->passes_done = p + 1;
    graph_check(g);
    if (c->summary && p == PASS_SHAPE)
      summary_collect(c->summary, g); /* the network before any rewrite */
    if (c->dump & PASS_BIT(p)) {
      fprintf(c->dump_out, "# after %s\n", passes[p].name);
      graph_dump(g, c->dump_out);
    }
  }
  return true;
}
