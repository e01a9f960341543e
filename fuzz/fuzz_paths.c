/* fuzz_paths.c - libFuzzer target: the output-path checks and all-or-nothing
 * output of a run (compiler/output.c: outputs_check_paths, outputs_write,
 * outputs_commit, outputs_abort), on paths the input picks in a directory
 * prepared once per process (a fixture of regular files, a hard link, symbolic
 * links to files, to links, to a directory, dangling, looping and absolute, a
 * FIFO, a device node, directories).
 *
 * An input picks which of a run's paths are given and each one's spelling:
 * byte 0 says which roles are set and whether --verify is on (the roles and
 * flags of main.c's check_paths, copied below); then two bytes per set role, a
 * name and a prefix ("", "./", "d/../", "l_d/../", "d/e/../../", the absolute
 * directory, ...). -o is a stem from its own table plus ".c", and its .h and
 * .weights are derived as main.c derives them. Then, as a run does:
 *   - outputs_check_paths; it must leave the directory as it was;
 *   - if it accepted: --export-weights is written into its own Outputs, then
 *     -o's three files and --manifest into another (outputs_write), each with
 *     its own bytes; if any write fails both are aborted, else committed:
 *     -o's set (emit.c commits it), then the export (main.c, at the end).
 * Invariants (the target aborts when one fails):
 *   - a refused set, and a run whose writes fail, leave every entry of the
 *     directory exactly as it was (type, inode, bytes, link target) and add no
 *     name (no temporary left behind);
 *   - once the paths were accepted and written, no commit fails (a rename
 *     failing there leaves the outputs renamed before it in place);
 *   - an accepted set that commits names distinct files: each output path
 *     reads back its own bytes, an output that was a symbolic link still is
 *     (same target), every input path reads back the bytes it had before, and
 *     nothing but the outputs changed.
 * The directory is then restored (only when a run committed): the whole
 * fixture is recreated, a few dozen system calls.
 *
 * The process's working directory is the fixture's during an input (relative
 * paths are part of what is checked), and the rsc tree's between inputs, where
 * libFuzzer writes its corpus; `make fuzz` gives libFuzzer an absolute
 * -artifact_prefix. */
#define _XOPEN_SOURCE 700 /* realpath, mknod */

#include "rsc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------ the fixture */

typedef enum Kind { K_REG, K_HARD, K_LINK, K_FIFO, K_DEV, K_DIR } Kind;

typedef struct Entry {
  const char *path; /* relative to the fixture's directory */
  Kind kind;
  const char *arg; /* K_HARD: the file linked; K_LINK: the target ("@" = absolute dir) */
} Entry;

/* In creation order (a directory before what it holds). */
static const Entry fixture[] = {
    {"r1", K_REG, NULL},
    {"r2", K_REG, NULL},
    {"hl", K_HARD, "r1"},
    {"l_r1", K_LINK, "r1"},
    {"l_l_r1", K_LINK, "l_r1"},
    {"l_abs_r2", K_LINK, "@/r2"},
    {"dang", K_LINK, "missing"},
    {"loop", K_LINK, "loop"},
    {"fifo", K_FIFO, NULL},
    {"l_fifo", K_LINK, "fifo"},
    {"dev", K_DEV, NULL},
    {"l_dev", K_LINK, "dev"},
    {"d", K_DIR, NULL},
    {"d/r3", K_REG, NULL},
    {"d/up", K_LINK, "../r1"},
    {"d/e", K_DIR, NULL},
    {"l_d", K_LINK, "d"},
    {"m.c", K_REG, NULL},
    {"p.h", K_DIR, NULL},
    {"q.weights", K_LINK, "r2"},
    {"s.c", K_LINK, "s.h"}, /* dangling until something writes s.h */
    {"t.weights", K_FIFO, NULL},
    {"u.h", K_HARD, "r2"},
};
enum { NFIX = sizeof fixture / sizeof *fixture, CONTENT = 64 };
/* The directories whose names are listed: nothing may appear in them. */
static const char *const dirs[] = {".", "d", "d/e"};

static char root[64]; /* the fixture's absolute directory */
static int home = -1; /* the rsc tree's working directory */
static bool have_dev; /* mknod worked */
static FILE *null_out;

typedef struct State {
  bool exists;
  mode_t type;
  ino_t ino;
  size_t len;
  char bytes[CONTENT]; /* a file's bytes, a link's target */
} State;
static State pristine[NFIX];
static int pristine_names[3];

static void remove_fixture(void);

static void fail(const char *fmt, const char *a, const char *b) {
  if (home >= 0 && fchdir(home) != 0)
    perror("fuzz_paths: fchdir");
  fprintf(stderr, "fuzz_paths: ");
  fprintf(stderr, fmt, a, b ? b : "");
  fprintf(stderr, " (fixture %s, now removed)\n", root);
  remove_fixture();
  abort();
}

static void write_bytes(const char *path, const char *bytes, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, bytes, len) != (ssize_t)len || close(fd) != 0)
    fail("cannot write %s%s", path, NULL);
}

static void create_entry(const Entry *e) {
  char buf[CONTENT];
  bool ok = true;
  switch (e->kind) {
  case K_REG:
    snprintf(buf, sizeof buf, "%s\n", e->path);
    write_bytes(e->path, buf, strlen(buf));
    break;
  case K_HARD:
    ok = link(e->arg, e->path) == 0;
    break;
  case K_LINK:
    if (e->arg[0] == '@')
      snprintf(buf, sizeof buf, "%s%s", root, e->arg + 1);
    else
      snprintf(buf, sizeof buf, "%s", e->arg);
    ok = symlink(buf, e->path) == 0;
    break;
  case K_FIFO:
    ok = mkfifo(e->path, 0644) == 0;
    break;
  case K_DEV: /* like /dev/null, but ours: if a bug wrote over it, no harm */
    have_dev = mknod(e->path, S_IFCHR | 0644, makedev(1, 3)) == 0;
    if (!have_dev) /* no CAP_MKNOD: a second FIFO stands in */
      ok = mkfifo(e->path, 0644) == 0;
    break;
  case K_DIR:
    ok = mkdir(e->path, 0755) == 0;
    break;
  }
  if (!ok)
    fail("cannot create %s: %s", e->path, strerror(errno));
}

static void state_of(const char *path, State *s) {
  memset(s, 0, sizeof *s);
  struct stat st;
  if (lstat(path, &st) != 0)
    return;
  s->exists = true;
  s->type = st.st_mode & S_IFMT;
  s->ino = st.st_ino;
  if (S_ISREG(st.st_mode)) {
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, s->bytes, sizeof s->bytes) : -1;
    if (fd >= 0)
      close(fd);
    s->len = n > 0 ? (size_t)n : 0;
  } else if (S_ISLNK(st.st_mode)) {
    ssize_t n = readlink(path, s->bytes, sizeof s->bytes);
    s->len = n > 0 ? (size_t)n : 0;
  }
}

static bool same_state(const State *a, const State *b) {
  return a->exists == b->exists && a->type == b->type && a->ino == b->ino && a->len == b->len &&
         memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* The bytes reading path gives (through links), if it is a regular file;
 * never blocks on a FIFO. */
static void read_bytes(const char *path, State *s) {
  memset(s, 0, sizeof *s);
  int fd = open(path, O_RDONLY | O_NONBLOCK);
  struct stat st;
  if (fd < 0)
    return;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    ssize_t n = read(fd, s->bytes, sizeof s->bytes);
    s->exists = true;
    s->type = S_IFREG;
    s->len = n > 0 ? (size_t)n : 0;
  }
  close(fd);
}

/* Whether dir holds a name with ".tmp." in it (an output's temporary). */
static bool has_temp(const char *dir) {
  DIR *dp = opendir(dir);
  bool found = false;
  struct dirent *e;
  while (dp && (e = readdir(dp)) != NULL)
    found |= strstr(e->d_name, ".tmp.") != NULL;
  if (dp)
    closedir(dp);
  return found;
}

/* Names in a directory, "." and ".." aside; -1 if it cannot be listed. */
static int count_names(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dp)) != NULL)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(dp);
  return n;
}

/* Removes everything in the fixture's directory (depth 2 at most: d/e). */
static void clear_dir(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp)
    fail("cannot list %s: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(dp)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char *path = xstrfmt("%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      clear_dir(path);
      if (rmdir(path) != 0)
        fail("cannot remove %s: %s", path, strerror(errno));
    } else if (unlink(path) != 0) {
      fail("cannot remove %s: %s", path, strerror(errno));
    }
    free(path);
  }
  closedir(dp);
}

/* Makes the fixture in the current directory (emptied first) and takes its
 * state: files made again have new inodes. */
static void rebuild(void) {
  clear_dir(".");
  for (int i = 0; i < NFIX; i++)
    create_entry(&fixture[i]);
  for (int i = 0; i < NFIX; i++)
    state_of(fixture[i].path, &pristine[i]);
  for (int i = 0; i < 3; i++)
    pristine_names[i] = count_names(dirs[i]);
}

/* The fixture as it was made: every entry and no other name. */
static void check_pristine(const char *when) {
  for (int i = 0; i < NFIX; i++) {
    State s;
    state_of(fixture[i].path, &s);
    if (!same_state(&s, &pristine[i]))
      fail("%s changed %s", when, fixture[i].path);
  }
  for (int i = 0; i < 3; i++)
    if (count_names(dirs[i]) != pristine_names[i])
      fail("%s left a new name in %s", when, dirs[i]);
}

static void remove_fixture(void) {
  if (home >= 0 && fchdir(home) == 0 && root[0] && chdir(root) == 0) {
    clear_dir(".");
    if (fchdir(home) == 0)
      rmdir(root);
  }
}

static void setup(void) {
  null_out = fopen("/dev/null", "w");
  home = open(".", O_RDONLY | O_DIRECTORY);
  struct stat st; /* tmpfs if there is one: on ext4 an execution took 2.4 times the CPU */
  bool shm = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0;
  snprintf(root, sizeof root, "%s/rsc-fuzz-paths.XXXXXX", shm ? "/dev/shm" : "/tmp");
  char *real = NULL;
  if (!null_out || home < 0 || !mkdtemp(root) || !(real = realpath(root, NULL)) ||
      strlen(real) >= sizeof root || chdir(root) != 0) {
    fprintf(stderr, "fuzz_paths: cannot make the fixture in %s\n", root);
    exit(1);
  }
  snprintf(root, sizeof root, "%s", real); /* as realpath names the outputs */
  free(real);
  rebuild();
  if (fchdir(home) != 0)
    exit(1);
  atexit(remove_fixture);
}

/* ------------------------------------------------------------- the paths */

/* The paths a run can name, main.c's check_paths: what, output, regular
 * (the same table; --weights is regular when --verify reads it again). */
enum { R_SPEC, R_WEIGHTS, R_VERIFY_W, R_OUT_C, R_OUT_H, R_OUT_W, R_MANIFEST, R_EXPORT, NROLES };
static const char *const role_what[NROLES] = {
    "the spec", "--weights", "--verify-weights", "-o", "-o's header", "-o's weights",
    "--manifest", "--export-weights"};
static const bool role_output[NROLES] = {false, false, false, true, true, true, true, true};

static const char *const names[] = {
    "r1", "r2", "hl", "l_r1", "l_l_r1", "l_abs_r2", "dang", "loop", "fifo", "l_fifo", "dev",
    "l_dev", "d", "d/r3", "d/up", "d/e", "l_d", "l_d/r3", "m.c", "p.h", "q.weights", "s.c",
    "s.h", "t.weights", "u.h", "new1", "new2", "d/new1", "l_d/new1", "d/e/new1", "missing/new1",
    "r1/", "d/", "new1/", "", ".", "..", "d/up/x", "l_d/..", "loop/x", "fifo/x"};
/* -o: a stem, then ".c"; the .h and .weights beside it. */
static const char *const stems[] = {"m", "n", "p", "q", "s", "t", "u", "r1", "d/r3", "d/m",
                                    "l_d/m", "missing/m", "", "new1", "d/e/m", "l_r1"};
static const char *const prefixes[] = {"", "./", "d/../", "l_d/../", "d/e/../../", "@/",
                                       ".//", "d/up/../"};
enum {
  NNAMES = sizeof names / sizeof *names,
  NSTEMS = sizeof stems / sizeof *stems,
  NPREFIXES = sizeof prefixes / sizeof *prefixes
};

static unsigned byte(const uint8_t **p, size_t *n) {
  if (!*n)
    return 0;
  (*n)--;
  return *(*p)++;
}

static void spell(char *buf, size_t cap, unsigned prefix, const char *name, const char *ext) {
  const char *pre = prefixes[prefix % NPREFIXES];
  if (pre[0] == '@')
    snprintf(buf, cap, "%s%s%s%s", root, pre + 1, name, ext);
  else
    snprintf(buf, cap, "%s%s%s", pre, name, ext);
}

/* Writes each of outputs[from..to) into o: false if one fails. */
static bool write_set(Outputs *o, char paths[][256], const bool *set, int from, int to,
                      char (*bytes)[CONTENT], Diag *d) {
  for (int i = from; i < to; i++)
    if (set[i] && !outputs_write(o, paths[i], bytes[i], strlen(bytes[i]), d))
      return false;
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!null_out)
    setup();
  const uint8_t *p = data;
  size_t n = size;
  unsigned mask = byte(&p, &n), flags = byte(&p, &n);
  bool verify = flags & 1;
  char paths[NROLES][256];
  bool set[NROLES] = {0};
  RunPath run[NROLES];
  /* mask bits: spec, weights, verify-weights, -o, manifest, export */
  static const int bit_role[6] = {R_SPEC, R_WEIGHTS, R_VERIFY_W, R_OUT_C, R_MANIFEST, R_EXPORT};
  for (int b = 0; b < 6; b++) {
    if (!(mask >> b & 1))
      continue;
    int r = bit_role[b];
    unsigned name = byte(&p, &n), prefix = byte(&p, &n);
    if (r == R_OUT_C) { /* main.c: -o must end in .c; the .h and .weights beside it */
      const char *stem = stems[name % NSTEMS];
      spell(paths[R_OUT_C], 256, prefix, stem, ".c");
      spell(paths[R_OUT_H], 256, prefix, stem, ".h");
      spell(paths[R_OUT_W], 256, prefix, stem, ".weights");
      set[R_OUT_C] = set[R_OUT_H] = set[R_OUT_W] = true;
    } else {
      spell(paths[r], 256, prefix, names[name % NNAMES], "");
      set[r] = true;
    }
  }
  for (int r = 0; r < NROLES; r++)
    run[r] = (RunPath){role_what[r], set[r] ? paths[r] : NULL, role_output[r],
                       r == R_VERIFY_W || (r == R_WEIGHTS && verify)};

  if (chdir(root) != 0)
    fail("cannot enter %s%s", root, NULL);
  Diag d;
  diag_init(&d, null_out);
  bool accepted = outputs_check_paths(run, NROLES, &d);
  check_pristine("outputs_check_paths");
  if (!accepted) {
    if (fchdir(home) != 0)
      abort();
    return 0;
  }

  /* Before the run writes: each path's own state (a link stays a link), the
   * bytes an input reads, the file each output replaces. */
  State link_before[NROLES], read_before[NROLES];
  char *target[NROLES] = {0};
  for (int r = 0; r < NROLES; r++) {
    state_of(set[r] ? paths[r] : "", &link_before[r]);
    read_bytes(set[r] ? paths[r] : "", &read_before[r]);
    if (set[r] && role_output[r])
      target[r] = realpath(paths[r], NULL);
  }
  char bytes[NROLES][CONTENT];
  for (int r = 0; r < NROLES; r++)
    snprintf(bytes[r], CONTENT, "output %d of %zu-byte input\n", r, size);

  /* As a run: the export first (pipeline.c), then emit's files and manifest. */
  Outputs exp = {0}, outs = {0};
  bool ok = write_set(&exp, paths, set, R_EXPORT, R_EXPORT + 1, bytes, &d) &&
            write_set(&outs, paths, set, R_OUT_C, R_MANIFEST + 1, bytes, &d);
  if (!ok) {
    outputs_abort(&outs);
    outputs_abort(&exp);
    check_pristine("a failed write");
    for (int r = 0; r < NROLES; r++)
      free(target[r]);
    if (fchdir(home) != 0)
      abort();
    return 0;
  }
  bool committed = outputs_commit(&outs, &d);
  committed = committed ? outputs_commit(&exp, &d) : (outputs_abort(&exp), false);
  if (!committed) {
    /* Every path was checked: a commit that fails after the checks passed
     * leaves some outputs written and others not. */
    fail("a commit failed after the paths were accepted (%s%s)", paths[R_OUT_C], NULL);
  }
  for (int r = 0; r < NROLES; r++) {
    if (!set[r])
      continue;
    State s;
    if (role_output[r]) {
      state_of(paths[r], &s);
      if (link_before[r].type == S_IFLNK && !same_state(&s, &link_before[r]))
        fail("output %s was a symbolic link and is not the same one now%s", paths[r], NULL);
      read_bytes(paths[r], &s);
      if (s.len != strlen(bytes[r]) || memcmp(s.bytes, bytes[r], s.len) != 0)
        fail("output %s does not hold its own bytes (another output of the run names the "
             "same file?)%s", paths[r], NULL);
    } else {
      read_bytes(paths[r], &s);
      if (!same_state(&s, &read_before[r]))
        fail("input %s changed: an output of the run names the same file%s", paths[r], NULL);
    }
  }
  /* Nothing else changed: each entry is as it was unless an output replaced it
   * (the file itself, not another name of it: a hard link keeps the old bytes). */
  for (int i = 0; i < NFIX; i++) {
    char *real = xstrfmt("%s/%s", root, fixture[i].path);
    bool replaced = false;
    for (int r = 0; r < NROLES; r++)
      replaced |= fixture[i].kind != K_LINK && target[r] && strcmp(target[r], real) == 0;
    free(real);
    State s;
    state_of(fixture[i].path, &s);
    if (!replaced && !same_state(&s, &pristine[i]))
      fail("a run that wrote other files changed %s%s", fixture[i].path, NULL);
  }
  for (int i = 0; i < 3; i++)
    if (has_temp(dirs[i]))
      fail("a committed run left a temporary in %s%s", dirs[i], NULL);
  for (int r = 0; r < NROLES; r++)
    free(target[r]);
  rebuild();
  if (fchdir(home) != 0)
    abort();
  return 0;
}
