/*
 * test_time_passes.c - rsc --time-passes: one "rsc: time: NAME  SECONDS s" line
 * on stderr per pass, in pipeline order, then emit and total; nothing on
 * stdout, and the same outputs as without the flag. A failing pass still gets
 * its line, then total. Runs the rsc binary beside the test's directory
 * (B/tests/test_time_passes -> B/rsc); fails if it is not built.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rsc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *rsc_path; /* from argv[0] */
static char dir[64];

/* A small network: the whole pipeline in milliseconds. */
static const char net[] =
    "--blocks 1,1,1,1 --widths 8,8,8,8 --stem-widths 8,8,8 --classes 10";

/* Runs rsc with net and args in dir; returns its exit status and what it
 * wrote to stderr and stdout. */
static int run(const char *args, char **err, char **out) {
  char *cmd = xstrfmt("cd '%s' && '%s' %s %s 2>err.txt >out.txt", dir, rsc_path, net, args);
  int rc = system(cmd);
  free(cmd);
  char *e = xstrfmt("%s/err.txt", dir), *o = xstrfmt("%s/out.txt", dir);
  size_t len;
  *err = read_file(e, &len);
  *out = read_file(o, &len);
  assert_non_null(*err);
  assert_non_null(*out);
  unlink(e);
  unlink(o);
  free(e);
  free(o);
  return rc;
}

/* Removes base.c, base.h and base.weights from dir. */
static void remove_outputs(const char *base) {
  static const char *const ext[] = {"c", "h", "weights"};
  for (int i = 0; i < 3; i++) {
    char *f = xstrfmt("%s/%s.%s", dir, base, ext[i]);
    unlink(f);
    free(f);
  }
}

/* Checks that text is exactly the time lines of names (NULL-terminated), in
 * that order, each with a non-negative number of seconds; returns their sum
 * without the last one (total) in *sum and the last one in *total. */
static void expect_times(const char *text, const char *const *names, double *sum, double *total) {
  const char *p = text;
  *sum = 0;
  for (int i = 0; names[i]; i++) {
    char name[16];
    double secs;
    int used = 0;
    if (sscanf(p, "rsc: time: %15s %lf s\n%n", name, &secs, &used) != 2 || used == 0)
      fail_msg("line %d of stderr is not a time line: '%.60s'", i + 1, p);
    assert_string_equal(name, names[i]);
    assert_true(secs >= 0);
    if (names[i + 1])
      *sum += secs;
    else
      *total = secs;
    p += used;
  }
  assert_string_equal(p, ""); /* nothing else */
}

static void test_lines(void **state) {
  (void)state;
  char *err, *out;
  assert_int_equal(run("--width 32 --time-passes -o m.c", &err, &out), 0);
  /* Every pass of the pipeline's table, in order, then emit and total. */
  const char *names[PASS_COUNT + 3];
  for (int p = 0; p < PASS_COUNT; p++)
    names[p] = pass_name((Pass)p);
  names[PASS_COUNT] = "emit";
  names[PASS_COUNT + 1] = "total";
  names[PASS_COUNT + 2] = NULL;
  double sum, total;
  expect_times(err, names, &sum, &total);
  assert_true(sum <= total + 0.01); /* printed to the millisecond */
  assert_string_equal(out, "");
  free(err);
  free(out);
  remove_outputs("m");
}

/* The flag changes nothing but stderr: same .weights (the .c and .h name
 * their prefix, a or b, so they differ anyway), and stderr empty without it. */
static void test_same_outputs(void **state) {
  (void)state;
  char *err, *out;
  assert_int_equal(run("--width 32 --time-passes -o a.c", &err, &out), 0);
  free(err);
  free(out);
  assert_int_equal(run("--width 32 -o b.c", &err, &out), 0);
  assert_string_equal(err, "");
  free(err);
  free(out);
  char *a = xstrfmt("%s/a.weights", dir), *b = xstrfmt("%s/b.weights", dir);
  size_t na, nb;
  char *da = read_file(a, &na), *db = read_file(b, &nb);
  assert_non_null(da);
  assert_non_null(db);
  assert_int_equal(na, nb);
  assert_memory_equal(da, db, na);
  free(da);
  free(db);
  free(a);
  free(b);
  remove_outputs("a");
  remove_outputs("b");
}

/* A pass that fails still gets its line, then total; nothing is written. */
static void test_failing_pass(void **state) {
  (void)state;
  char *err, *out;
  /* 16x16 is too small for four downsamplings: the shape pass fails. */
  assert_int_not_equal(run("--width 16 --time-passes -o m.c", &err, &out), 0);
  /* The error comes from inside the shape pass, at the --width flag, quoted
   * with a caret: cut its three lines out, keep the times. */
  const char *msg = strstr(err, ": error: input 16x16 is too small");
  assert_non_null(msg);
  while (msg > err && msg[-1] != '\n')
    msg--;
  assert_true(strncmp(msg, "<command line>:", 15) == 0);
  const char *eol = msg;
  for (int i = 0; i < 3; i++) {
    eol = strchr(eol, '\n');
    assert_non_null(eol);
    eol += i < 2;
  }
  char *cmd_err = xstrfmt("%.*s%s", (int)(msg - err), err, eol + 1);
  const char *const names[] = {pass_name(PASS_BUILD), pass_name(PASS_SHAPE), "total", NULL};
  double sum, total;
  expect_times(cmd_err, names, &sum, &total);
  char *m = xstrfmt("%s/m.c", dir);
  assert_int_not_equal(access(m, F_OK), 0);
  free(m);
  free(cmd_err);
  free(err);
  free(out);
}

int main(int argc, char **argv) {
  (void)argc;
  const char *slash = strrchr(argv[0], '/');
  char *tests_dir = slash ? xstrfmt("%.*s", (int)(slash - argv[0]), argv[0]) : xstrdup(".");
  char cwd[4096];
  if (tests_dir[0] != '/' && getcwd(cwd, sizeof cwd))
    rsc_path = xstrfmt("%s/%s/../rsc", cwd, tests_dir);
  else
    rsc_path = xstrfmt("%s/../rsc", tests_dir);
  free(tests_dir);
  if (access(rsc_path, X_OK) != 0) {
    /* A test that cannot run fails: `make test` builds rsc first. */
    printf("test_time_passes: FAIL: %s not built\n", rsc_path);
    free(rsc_path);
    return 1;
  }
  strcpy(dir, "/tmp/rsc_test_time_XXXXXX");
  if (!mkdtemp(dir))
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lines),
      cmocka_unit_test(test_same_outputs),
      cmocka_unit_test(test_failing_pass),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  rmdir(dir);
  free(rsc_path);
  return rc;
}
