/*
 * test_output.c - all-or-nothing output: nothing appears under a final name
 * before outputs_commit(), and no temporary survives commit, abort or a
 * failed write. Each test works in its own fresh directory under /tmp.
 */
#define _XOPEN_SOURCE 700 /* setrlimit */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rsc.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct Fixture {
  char dir[64];
  Diag d;
  FILE *out;
  char *msgs;
  size_t msgs_len;
  Outputs o;
} Fixture;

static int setup(void **state) {
  Fixture *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/rsc_test_output_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->out = open_memstream(&f->msgs, &f->msgs_len);
  diag_init(&f->d, f->out);
  *state = f;
  return 0;
}

/* Names of the directory's entries, sorted, one per line. */
static char *listing(const char *dir) {
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dp)) && n < 64)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      names[n++] = xstrdup(e->d_name);
  closedir(dp);
  for (int i = 1; i < n; i++) /* insertion sort: a handful of names */
    for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
      char *t = names[j];
      names[j] = names[j - 1];
      names[j - 1] = t;
    }
  StrBuf sb = {0};
  sb_puts(&sb, "");
  for (int i = 0; i < n; i++) {
    sb_printf(&sb, "%s\n", names[i]);
    free(names[i]);
  }
  return sb.buf;
}

static int teardown(void **state) {
  Fixture *f = *state;
  outputs_abort(&f->o);
  char *names = listing(f->dir);
  for (char *p = names, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
    *nl = '\0';
    char *path = xstrfmt("%s/%s", f->dir, p);
    if (unlink(path) != 0)
      rmdir(path); /* test_commit_failure's directory, emptied by the test */
    free(path);
  }
  free(names);
  rmdir(f->dir);
  fclose(f->out);
  free(f->msgs);
  free(f);
  return 0;
}

/* The child of a fork frees its copy of the fixture without touching the
 * directory, which belongs to the parent. */
static void teardown_child(Fixture *f) {
  fclose(f->out);
  free(f->msgs);
  free(f);
}

static char *path_in(Fixture *f, const char *name) { return xstrfmt("%s/%s", f->dir, name); }

static void expect_listing(Fixture *f, const char *want) {
  char *got = listing(f->dir);
  assert_string_equal(got, want);
  free(got);
}

static char *slurp(const char *path, size_t *len) {
  char *s = read_file(path, len);
  assert_non_null(s);
  return s;
}

static const char *messages(Fixture *f) {
  fflush(f->out);
  return f->msgs ? f->msgs : "";
}

static void test_commit_writes_all(void **state) {
  Fixture *f = *state;
  char *c = path_in(f, "m.c"), *w = path_in(f, "m.weights"), *e = path_in(f, "empty");
  assert_true(outputs_write(&f->o, c, "int x;\n", 7, &f->d));
  assert_true(outputs_write(&f->o, w, "\0\1\2\3", 4, &f->d));
  assert_true(outputs_write(&f->o, e, "", 0, &f->d));
  assert_int_equal(f->o.n, 3);
  /* Before the commit only temporaries exist, beside their final names. */
  char *names = listing(f->dir);
  assert_null(strstr(names, "m.c\n"));
  assert_non_null(strstr(names, "m.c.tmp."));
  assert_non_null(strstr(names, "m.weights.tmp."));
  free(names);

  assert_true(outputs_commit(&f->o, &f->d));
  assert_int_equal(f->o.n, 0);
  expect_listing(f, "empty\nm.c\nm.weights\n");
  size_t len;
  char *s = slurp(c, &len);
  assert_int_equal(len, 7);
  assert_memory_equal(s, "int x;\n", 7);
  free(s);
  s = slurp(w, &len);
  assert_int_equal(len, 4);
  assert_memory_equal(s, "\0\1\2\3", 4);
  free(s);
  assert_int_equal(f->d.errors, 0);
  free(c);
  free(w);
  free(e);
}

/* Committing replaces an existing file. */
static void test_commit_replaces(void **state) {
  Fixture *f = *state;
  char *c = path_in(f, "m.c");
  FILE *fp = fopen(c, "w");
  fputs("old contents", fp);
  fclose(fp);
  assert_true(outputs_write(&f->o, c, "new", 3, &f->d));
  size_t len;
  char *s = slurp(c, &len); /* untouched until the commit */
  assert_string_equal(s, "old contents");
  free(s);
  assert_true(outputs_commit(&f->o, &f->d));
  s = slurp(c, &len);
  assert_string_equal(s, "new");
  free(s);
  expect_listing(f, "m.c\n");
  free(c);
}

static mode_t mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 0777;
}

/* Final files get 0666 minus the umask, not mkstemp's 0600. */
static void test_mode_honours_umask(void **state) {
  Fixture *f = *state;
  char *a = path_in(f, "a"), *b = path_in(f, "b");
  mode_t old = umask(022);
  assert_true(outputs_write(&f->o, a, "x", 1, &f->d));
  umask(027);
  assert_true(outputs_write(&f->o, b, "x", 1, &f->d));
  umask(old);
  assert_true(outputs_commit(&f->o, &f->d));
  assert_int_equal(mode_of(a), 0644);
  assert_int_equal(mode_of(b), 0640);
  free(a);
  free(b);
}

static void test_abort_leaves_nothing(void **state) {
  Fixture *f = *state;
  char *c = path_in(f, "m.c"), *w = path_in(f, "m.weights");
  assert_true(outputs_write(&f->o, c, "int x;\n", 7, &f->d));
  assert_true(outputs_write(&f->o, w, "abcd", 4, &f->d));
  outputs_abort(&f->o);
  assert_int_equal(f->o.n, 0);
  expect_listing(f, "");
  outputs_abort(&f->o); /* twice is harmless */
  free(c);
  free(w);
}

static void test_missing_directory(void **state) {
  Fixture *f = *state;
  char *c = path_in(f, "no/such/dir/m.c");
  assert_false(outputs_write(&f->o, c, "int x;\n", 7, &f->d));
  assert_int_equal(f->o.n, 0);
  assert_int_equal(f->d.errors, 1);
  char *want = xstrfmt("rsc: error: cannot create '%s': No such file or directory\n", c);
  assert_string_equal(messages(f), want);
  expect_listing(f, "");
  free(want);
  free(c);
}

/* A write that fails half way (here: over RLIMIT_FSIZE with SIGXFSZ ignored,
 * which is EFBIG) is reported with the path and removes its temporary. Run in
 * a child so the limit does not outlive the test. */
static void test_write_error_cleans_up(void **state) {
  Fixture *f = *state;
  char *big = path_in(f, "big.weights"), *small = path_in(f, "small.c");
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit rl = {4096, 4096};
    signal(SIGXFSZ, SIG_IGN);
    static char data[100000];
    Outputs o = {0};
    Diag d;
    diag_init(&d, f->out);
    int code = 0;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
      code = 10;
    else if (!outputs_write(&o, small, "ok", 2, &d))
      code = 11;
    else if (outputs_write(&o, big, data, sizeof data, &d))
      code = 12;
    fflush(f->out);
    if (!code && (!strstr(f->msgs, "cannot write '") ||
                  !strstr(f->msgs, "big.weights': File too large")))
      code = 13;
    outputs_abort(&o); /* what main does after a failed stage */
    free(big); /* the child's copies: keeps leak checkers quiet */
    free(small);
    teardown_child(f);
    _exit(code);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  expect_listing(f, "");
  free(big);
  free(small);
}

/* A file written in pieces: appended, then patched where it was written. */
static void test_stream(void **state) {
  Fixture *f = *state;
  char *w = path_in(f, "m.weights");
  OutFile of;
  assert_true(outputs_open(&of, w, &f->d));
  assert_true(outputs_put(&of, "header--", 8));
  assert_true(outputs_put(&of, "payload", 7));
  assert_true(outputs_put_at(&of, 6, "ok", 2));
  assert_true(outputs_close(&f->o, &of, &f->d));
  char *names = listing(f->dir); /* only the temporary so far */
  assert_null(strstr(names, "m.weights\n"));
  assert_non_null(strstr(names, "m.weights.tmp."));
  free(names);
  assert_true(outputs_commit(&f->o, &f->d));
  size_t len;
  char *got = slurp(w, &len);
  assert_int_equal(len, 15);
  assert_memory_equal(got, "headerokpayload", 15);
  free(got);
  free(w);
}

/* A reserved file written in full is what was written: the reservation
 * adds no bytes of its own. */
static void test_stream_reserved(void **state) {
  Fixture *f = *state;
  char *w = path_in(f, "r.weights");
  OutFile of;
  assert_true(outputs_open(&of, w, &f->d));
  assert_true(outputs_reserve(&of, 12));
  assert_true(outputs_put(&of, "header--", 8));
  assert_true(outputs_put(&of, "data", 4));
  assert_true(outputs_put_at(&of, 0, "H", 1));
  assert_true(outputs_close(&f->o, &of, &f->d));
  assert_true(outputs_commit(&f->o, &f->d));
  size_t len;
  char *got = slurp(w, &len);
  assert_int_equal(len, 12);
  assert_memory_equal(got, "Header--data", 12);
  free(got);
  free(w);
}

/* How a streamed file fails over RLIMIT_FSIZE: by a reservation, or by puts. */
typedef enum Overflow { OVER_RESERVE, OVER_PUT } Overflow;

/* In a child with RLIMIT_FSIZE at 4 KB, writes "big.weights" so that it
 * fails as `how` says, and checks that the failure is kept (later puts do
 * nothing) and reported by outputs_close, which removes the temporary. */
static void expect_overflow(Fixture *f, Overflow how) {
  char *w = path_in(f, "big.weights");
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit rl = {4096, 4096};
    signal(SIGXFSZ, SIG_IGN);
    static char data[10000];
    Outputs o = {0};
    Diag d;
    diag_init(&d, f->out);
    OutFile of;
    int code = 0;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
      code = 10;
    else if (!outputs_open(&of, w, &d))
      code = 11;
    else if (how == OVER_RESERVE ? outputs_reserve(&of, sizeof data)
                                 : outputs_put(&of, data, sizeof data))
      code = 12;
    else if (outputs_put(&of, "x", 1) || outputs_put_at(&of, 0, "y", 1))
      code = 13;
    else if (outputs_close(&o, &of, &d) || o.n != 0)
      code = 14;
    fflush(f->out);
    if (!code && !strstr(f->msgs, "big.weights': File too large"))
      code = 15;
    free(w);
    teardown_child(f);
    _exit(code);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  expect_listing(f, "");
  free(w);
}

/* A reservation over the limit fails like a write would, before any byte is
 * written. */
static void test_reserve_error(void **state) { expect_overflow(*state, OVER_RESERVE); }

/* A failed put. */
static void test_stream_error(void **state) { expect_overflow(*state, OVER_PUT); }

/* A failed rename (the final name became a directory after the temporary
 * was written; one there before is refused by outputs_open) removes the
 * temporaries not yet renamed. */
static void test_commit_failure(void **state) {
  Fixture *f = *state;
  char *a = path_in(f, "a.c"), *d = path_in(f, "d");
  assert_true(outputs_write(&f->o, d, "x", 1, &f->d));
  assert_true(outputs_write(&f->o, a, "y", 1, &f->d));
  assert_int_equal(mkdir(d, 0755), 0);
  char *sub = xstrfmt("%s/x", d); /* makes d a non-empty directory: rename fails */
  FILE *fp = fopen(sub, "w");
  fclose(fp);
  assert_false(outputs_commit(&f->o, &f->d));
  assert_int_equal(f->o.n, 0);
  assert_non_null(strstr(messages(f), "cannot rename '"));
  expect_listing(f, "d\n");
  unlink(sub);
  free(sub);
  free(a);
  free(d);
}

/* Outputs are regular files or new names: a FIFO is refused, not replaced,
 * and a symbolic link is written through (the link stays). */
static void test_fifo_refused_link_followed(void **state) {
  Fixture *f = *state;
  char *fifo = path_in(f, "m.c"), *link = path_in(f, "l.c"), *real = path_in(f, "real.c");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  assert_false(outputs_write(&f->o, fifo, "x", 1, &f->d));
  char *want = xstrfmt("rsc: error: cannot write '%s': it is a FIFO; outputs can only be "
                       "regular files\n", fifo);
  assert_string_equal(messages(f), want);
  FILE *fp = fopen(real, "w"); /* a link to nothing is refused */
  fclose(fp);
  assert_int_equal(symlink("real.c", link), 0);
  assert_true(outputs_write(&f->o, link, "int x;\n", 7, &f->d));
  assert_true(outputs_commit(&f->o, &f->d));
  struct stat st;
  assert_int_equal(lstat(link, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  size_t len;
  char *got = slurp(real, &len);
  assert_string_equal(got, "int x;\n");
  expect_listing(f, "l.c\nm.c\nreal.c\n");
  free(got);
  free(want);
  free(fifo);
  free(link);
  free(real);
}

/* Two paths naming one file: by inode when it exists, by directory and
 * name when it does not; distinct files pass. */
static void test_check_paths(void **state) {
  Fixture *f = *state;
  char *a = path_in(f, "a"), *a2 = path_in(f, "./a"), *b = path_in(f, "b"), *n = path_in(f, "n");
  char *n2 = path_in(f, "../"), *n3 = NULL;
  const char *base = strrchr(f->dir, '/') + 1;
  n3 = xstrfmt("%s%s/n", n2, base); /* DIR/../BASE/n: the same new name as n */
  FILE *fp = fopen(a, "w");
  fclose(fp);
  assert_int_equal(link(a, b), 0);
  RunPath ok[] = {{"x", a, false, false}, {"y", n, true, false}, {"z", NULL, true, false}};
  assert_true(outputs_check_paths(ok, 3, &f->d));
  RunPath same[] = {{"--weights", a, false, false}, {"--manifest", b, true, false}};
  assert_false(outputs_check_paths(same, 2, &f->d));
  RunPath dots[] = {{"-o", a2, true, false}, {"--manifest", a, true, false}};
  assert_false(outputs_check_paths(dots, 2, &f->d));
  RunPath fresh[] = {{"-o", n, true, false}, {"--manifest", n3, true, false}};
  assert_false(outputs_check_paths(fresh, 2, &f->d));
  char *want = xstrfmt("rsc: error: --weights '%s' and --manifest '%s' are the same file\n"
                       "rsc: error: -o '%s' and --manifest '%s' are the same file\n"
                       "rsc: error: -o '%s' and --manifest '%s' are the same file\n",
                       a, b, a2, a, n, n3);
  assert_string_equal(messages(f), want);
  expect_listing(f, "a\nb\n");
  free(want);
  free(a), free(a2), free(b), free(n), free(n2), free(n3);
}

/* read_input stops a file that never ends at its cap and refuses what is not
 * a file, unopened. */
static void test_read_input_bounded(void **state) {
  Fixture *f = *state;
  char why[128];
  size_t len = 0;
  assert_null(read_input("/dev/zero", 1000, &len, why));
  assert_string_equal(why, "is a character device");
  assert_null(read_input(f->dir, 1000, &len, why));
  assert_string_equal(why, "is a directory");
  char *fifo = path_in(f, "fifo");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* a writer that never stops */
    signal(SIGPIPE, SIG_DFL);
    FILE *w = fopen(fifo, "w");
    for (;;)
      fputs("depth 50\n", w);
  }
  assert_null(read_input(fifo, 100000, &len, why));
  assert_string_equal(why, "more than the limit of 100000 bytes");
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);
  char *small = path_in(f, "small");
  FILE *fp = fopen(small, "w");
  fputs("12345", fp);
  fclose(fp);
  char *got = read_input(small, 5, &len, why);
  assert_non_null(got);
  assert_int_equal(len, 5);
  assert_null(read_input(small, 4, &len, why));
  assert_string_equal(why, "5 bytes, more than the limit of 4");
  free(got);
  free(small);
  free(fifo);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_commit_writes_all, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fifo_refused_link_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check_paths, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_input_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_commit_replaces, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mode_honours_umask, setup, teardown),
      cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_directory, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_error_cleans_up, setup, teardown),
      cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_reserved, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reserve_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
