/*
 * test_emit.c - emission (compiler/emit.c with templates/ through m4), on
 * tests/dump/small.spec's tiny model (u8 input with ImageNet preprocessing,
 * SE blocks, softmax head, batch 2) run to pack (tests/unit/pipeline_util.h)
 * and emitted as prefix "tiny" into a temporary directory:
 *   - each distinct kernel is defined once, as a function named after the
 *     node's selected kernel;
 *   - every live node's kernel is called once per use, in node order, on its
 *     inputs' and its own arena buffers (A_<name>), the first reading the
 *     caller's input and the last writing the caller's output;
 *   - every used tensor's W_<name> offset is the one pack chose, and every
 *     arena node's A_<name> the one plan chose;
 *   - the header states the model: batch, input size and type, output size,
 *     arena and weight bytes; the .weights file is header + payload.
 * The generated code's numerics are tests/e2e.sh's; these pin what emit
 * writes for a graph, so a change there shows up as the fact it broke.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline_util.h"

#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

/* "layer1.0.conv1" -> "layer1_0_conv1", as emit.c spells identifiers. */
static char *ident(const char *name) {
  char *s = xstrdup(name);
  for (char *p = s; *p; p++)
    if (*p == '.')
      *p = '_';
  return s;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static const char *buffer_of(const Graph *g, int id, char *buf, size_t size) {
  const Node *n = &g->nodes[id];
  if (id == g->input)
    return "input";
  if (id == g->output)
    return "output";
  /* in place: the SE_ADD writes into the buffer of its input, but keeps its own A_ name */
  char *s = ident(n->name);
  snprintf(buf, size, "a + A_%s", s);
  free(s);
  return buf;
}

static void test_tiny_model(void **state) {
  (void)state;
  size_t len;
  char *spec = read_file("tests/dump/small.spec", &len);
  if (!spec)
    fail_msg("cannot read tests/dump/small.spec (run from the repository root)");
  Graph g;
  assert_true(pipeline_to(&g, spec, "pack", TARGET_AVX2));
  free(spec);
  char *out_c = xstrfmt("%s/tiny.c", dir), *out_h = xstrfmt("%s/tiny.h", dir),
       *out_w = xstrfmt("%s/tiny.weights", dir);
  EmitOptions eo = {.out_c = out_c, .prefix = "tiny", .datadir = ".", .cmdline = "test"};
  Diag d;
  diag_init(&d, stderr);
  assert_true(emit_model(&g, &eo, &d));
  char *c = read_file(out_c, &len), *h = read_file(out_h, &len);
  assert_non_null(c);
  assert_non_null(h);
  /* Calls in node order, each on its buffers, after the last definition. */
  const char *at = strstr(c, "static void k_");
  assert_non_null(at);
  for (const char *p = at; p; p = strstr(p + 1, "static void k_"))
    at = p;
  int calls = 0;
  for (int i = 0; i < g.nnodes; i++) {
    const Node *n = &g.nodes[i];
    if (n->dead || n->op == OP_INPUT)
      continue;
    const char *kernel = n->sched->kernel;
    char *def = xstrfmt("static void k_%s(", kernel), *call = xstrfmt("  k_%s(", kernel);
    if (count(c, def) != 1)
      fail_msg("%s: kernel %s defined %d times", n->name, kernel, count(c, def));
    const char *p = strstr(at + 1, call);
    if (!p)
      fail_msg("%s: no call of %s after the previous node's", n->name, kernel);
    const char *eol = strchr(p, '\n');
    char line[2048];
    snprintf(line, sizeof line, "%.*s", (int)(eol - p), p);
    char buf[256];
    const char *b;
    for (int k = 0; k < n->nin; k++)
      if (!strstr(line, b = buffer_of(&g, n->in[k], buf, sizeof buf)))
        fail_msg("%s: the call does not read %s: %s", n->name, b, line);
    if (!strstr(line, b = buffer_of(&g, i, buf, sizeof buf)))
      fail_msg("%s: the call does not write %s: %s", n->name, b, line);
    at = p;
    calls++;
    free(def);
    free(call);
  }
  assert_true(calls > 20);
  /* Offsets as pack and plan chose them. */
  for (int k = 0; k < g.ntensors; k++) {
    const Tensor *t = &g.tensors[k];
    if (!t->used)
      continue;
    char *s = ident(t->name), *e = xstrfmt("  W_%s = %zu,", s, t->offset);
    if (!strstr(c, e))
      fail_msg("no '%s'", e);
    free(s);
    free(e);
  }
  for (int i = 0; i < g.nnodes; i++) {
    const Node *n = &g.nodes[i];
    if (n->dead || !n->in_arena)
      continue;
    char *s = ident(n->name), *e = xstrfmt("  A_%s = %zu,", s, n->offset);
    if (!strstr(c, e))
      fail_msg("no '%s'", e);
    free(s);
    free(e);
  }
  /* The header. */
  char *facts[] = {
      xstrfmt("#define TINY_BATCH 2\n"),
      xstrfmt("#define TINY_IN_H 17\n"),
      xstrfmt("#define TINY_IN_W 19\n"),
      xstrfmt("#define TINY_IN_C 3\n"),
      xstrfmt("#define TINY_IN_TYPE uint8_t\n"),
      xstrfmt("#define TINY_IN_IMAGENET 1\n"),
      xstrfmt("#define TINY_OUT_C 5\n"),
      xstrfmt("#define TINY_ARENA_BYTES %zu\n", g.arena_floats * 4),
      xstrfmt("#define TINY_WEIGHT_BYTES %zu\n", g.weight_floats * 4),
  };
  for (size_t k = 0; k < sizeof facts / sizeof *facts; k++) {
    if (!strstr(h, facts[k]))
      fail_msg("tiny.h has no %s", facts[k]);
    free(facts[k]);
  }
  struct stat st;
  assert_int_equal(stat(out_w, &st), 0);
  assert_int_equal((size_t)st.st_size, RSC_WFILE_HEADER + g.weight_floats * 4);
  unlink(out_c), unlink(out_h), unlink(out_w);
  free(c), free(h), free(out_c), free(out_h), free(out_w);
  graph_free(&g);
}

int main(void) {
  strcpy(dir, "/tmp/rsc_test_emit_XXXXXX");
  if (!mkdtemp(dir))
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiny_model),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  rmdir(dir);
  return rc;
}
