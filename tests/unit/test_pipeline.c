/*
 * test_pipeline.c - the pass table (PASS_LIST) and compile_to: pass names
 * are found by name and nowhere else (README's --dump row lists the table),
 * compile_to run a pass at a time gives the same graph as in one go, and it
 * stops after the pass asked for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rsc.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

static char srcdir[PATH_MAX]; /* the source tree: B/tests/.. /.. */

#define SMALL "blocks 1 1 1 1\nwidths 8 8 8 8\nstem_widths 4 4 8\nwidth 32\ninput_type u8\n" \
              "preprocess imagenet\n"

static void init_graph(Graph *g, Diag *d) {
  Spec s;
  spec_defaults(&s);
  SrcFile f = {"t.spec", SMALL, strlen(SMALL)};
  assert_true(spec_parse(&s, &f, d) && spec_finish(&s, d));
  graph_init(g, &s);
  g->target = TARGET_AVX512;
}

/* The text --dump=last prints for g compiled up to last, a pass at a time or at once. */
static char *dump_after(Pass last, bool stepwise) {
  Diag d;
  diag_init(&d, stderr);
  Graph g;
  init_graph(&g, &d);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  PassCtx c = {.d = &d, .seed = 7, .dump = PASS_BIT(last), .dump_out = out};
  if (stepwise)
    for (int p = 0; p <= (int)last; p++) {
      assert_true(compile_to(&g, &c, (Pass)p));
      assert_int_equal(g.passes_done, p + 1);
    }
  else
    assert_true(compile_to(&g, &c, last));
  assert_int_equal(g.passes_done, (int)last + 1);
  fclose(out);
  graph_free(&g);
  return text;
}

static void test_stepwise_equals_at_once(void **state) {
  (void)state;
  for (int p = 0; p < PASS_COUNT; p++) {
    char *a = dump_after((Pass)p, false), *b = dump_after((Pass)p, true);
    char *head = xstrfmt("# after %s\n", pass_name((Pass)p));
    assert_true(strncmp(a, head, strlen(head)) == 0);
    assert_string_equal(a, b);
    free(head);
    free(a);
    free(b);
  }
}

/* compile_to stops after the pass asked for: after fuse no kernel is chosen,
 * after select every live node but the input has one. */
static void test_stops_at_pass(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  Graph g;
  init_graph(&g, &d);
  PassCtx c = {.d = &d, .seed = 7};
  assert_true(compile_to(&g, &c, PASS_FUSE));
  for (int i = 0; i < g.nnodes; i++)
    assert_null(g.nodes[i].sched);
  assert_true(compile_to(&g, &c, PASS_SELECT));
  for (int i = 0; i < g.nnodes; i++)
    if (!g.nodes[i].dead && g.nodes[i].op != OP_INPUT)
      assert_non_null(g.nodes[i].sched);
  for (int i = 0; i < g.nnodes; i++)
    if (g.nodes[i].sched)
      assert_non_null(g.nodes[i].sched->kernel);
  assert_int_equal(g.arena_floats, 0); /* plan has not run */
  graph_free(&g);
}

/* After fuse every SE_ADD's x links to it and every input of a residual sum
 * to the sum; graph_check aborts when a link is broken. */
static void test_links(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  Graph g;
  init_graph(&g, &d);
  PassCtx c = {.d = &d, .seed = 7};
  assert_true(compile_to(&g, &c, PASS_ENTRY));
  for (int i = 0; i < g.nnodes; i++)
    assert_true(g.nodes[i].se < 0 && g.nodes[i].residual < 0);
  assert_true(compile_to(&g, &c, PASS_FUSE));
  int ses = 0, conv = -1;
  for (int i = 0; i < g.nnodes; i++) {
    const Node *n = &g.nodes[i];
    if (n->dead || n->op != OP_SE_ADD)
      continue;
    ses++;
    assert_int_equal(g.nodes[n->in[0]].se, i);
    assert_int_equal(g.nodes[n->in[0]].residual, i);
    assert_int_equal(g.nodes[n->in[1]].residual, i);
    if (g.nodes[n->in[0]].op == OP_CONV)
      conv = n->in[0];
  }
  assert_int_equal(ses, 4); /* one block per stage */
  assert_true(conv >= 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* a conv that claims no SE: graph_check must abort */
    freopen("/dev/null", "w", stderr);
    g.nodes[conv].se = -1;
    graph_check(&g);
    _exit(0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  graph_free(&g);
}

/* Whether graph_check aborts on g once brk has changed node id (in a child
 * process: g itself is not changed). */
typedef void (*Breaker)(Graph *g, int id);
static bool check_aborts(Graph *g, Breaker brk, int id) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    brk(g, id);
    graph_check(g);
    _exit(0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}
static void keep(Graph *g, int id) { (void)g, (void)id; }
static void unpool_conv(Graph *g, int id) {
  g->nodes[g->nodes[id].in[0]].sched->conv.se_pool = false;
}
static void unpool_se(Graph *g, int id) { g->nodes[id].sched->pooled = false; }
static void drop_fc2_bias(Graph *g, int id) { g->nodes[id].attr.se.fc2_b = -1; }
static void wrong_mid(Graph *g, int id) { g->nodes[id].attr.se.mid++; }
static void no_tile(Graph *g, int id) { g->nodes[g->nodes[id].in[0]].sched->conv.kb = 0; }
static void window_on_global(Graph *g, int id) { g->nodes[id].kh = g->nodes[id].kw = 3; }
static void bad_pool_kind(Graph *g, int id) { g->nodes[id].attr.pool.kind = (PoolKind)7; }
static void sched_on_input(Graph *g, int id) {
  (void)id;
  g->nodes[g->input].sched = g->nodes[g->output].sched;
}

/* The IR's per-op attributes and select's records are checked, and so are
 * the links between records: a conv that writes an SE's pool (se_pool) and
 * the SE_ADD that reads it (pooled) name each other through the fuse link. */
static void test_attrs_and_sched_checked(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  Graph g;
  init_graph(&g, &d);
  PassCtx c = {.d = &d, .seed = 7};
  assert_true(compile_to(&g, &c, PASS_SELECT));
  int se = -1;
  for (int i = 0; i < g.nnodes; i++)
    if (!g.nodes[i].dead && g.nodes[i].op == OP_SE_ADD && g.nodes[i].sched->pooled)
      se = i;
  assert_true(se >= 0);
  assert_false(check_aborts(&g, keep, se));
  assert_true(check_aborts(&g, unpool_conv, se));
  assert_true(check_aborts(&g, unpool_se, se));
  assert_true(check_aborts(&g, drop_fc2_bias, se));
  assert_true(check_aborts(&g, wrong_mid, se));
  assert_true(check_aborts(&g, no_tile, se));
  assert_true(check_aborts(&g, sched_on_input, se));
  /* One pool op: its kind and extent are attributes, the words say both. */
  int head = -1;
  for (int i = 0; i < g.nnodes; i++)
    if (!g.nodes[i].dead && strcmp(g.nodes[i].name, "global_pool") == 0)
      head = i;
  assert_true(head >= 0);
  assert_int_equal(g.nodes[head].op, OP_POOL);
  assert_true(g.nodes[head].attr.pool.global && g.nodes[head].attr.pool.kind == POOL_AVG);
  assert_string_equal(node_op_name(&g.nodes[head]), "global_avgpool");
  assert_false(check_aborts(&g, keep, head));
  assert_true(check_aborts(&g, window_on_global, head));
  assert_true(check_aborts(&g, bad_pool_kind, head));
  graph_free(&g);
}

static void test_names(void **state) {
  (void)state;
  for (int p = 0; p < PASS_COUNT; p++) {
    const char *n = pass_name((Pass)p);
    assert_int_equal(pass_find(n, strlen(n)), p);
    assert_true(strlen(pass_what((Pass)p)) > 0);
  }
  assert_int_equal(pass_find("fus", 3), -1);
  assert_int_equal(pass_find("fusex", 5), -1);
  assert_int_equal(pass_find("fuse,", 5), -1);
}

/* README.md's --dump row names the passes of the table, in its order. */
static void test_readme_lists_the_table(void **state) {
  (void)state;
  char *path = xstrfmt("%s/README.md", srcdir);
  size_t len;
  char *text = read_file(path, &len);
  assert_non_null(text);
  const char *row = strstr(text, "| `--dump=PASS[,PASS]` |");
  assert_non_null(row);
  const char *tick = strstr(row, "after `");
  assert_non_null(tick);
  StrBuf want = {0};
  for (int p = 0; p < PASS_COUNT; p++)
    sb_printf(&want, "%s%s", p ? " " : "after `", pass_name((Pass)p));
  sb_puts(&want, "`");
  assert_true(strncmp(tick, want.buf, want.len) == 0);
  sb_free(&want);
  free(text);
  free(path);
}

int main(int argc, char **argv) {
  (void)argc;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    fprintf(stderr, "%s: cannot find itself\n", argv[0]);
    return 1;
  }
  exe[n] = '\0';
  for (int up = 0; up < 3; up++)
    *strrchr(exe, '/') = '\0';
  snprintf(srcdir, sizeof srcdir, "%s", exe);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_stepwise_equals_at_once),
      cmocka_unit_test(test_stops_at_pass),
      cmocka_unit_test(test_links),
      cmocka_unit_test(test_attrs_and_sched_checked),
      cmocka_unit_test(test_readme_lists_the_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
