/*
 * m4.c - runs GNU m4 on a driver text, safely: argv array (never a shell),
 * `-P` so only m4_-prefixed builtins exist (C text like len(buf) stays C),
 * `-E` so any warning fails the run, and syscmd/esyscmd undefined so no text
 * that reaches m4 can start a process. The driver goes through a temporary
 * file; the expansion goes straight to the caller's file descriptor (the
 * output's temporary), so rsc reads none of it back.
 *
 * m4 is started with posix_spawn, not fork: rsc holds the packed weights by
 * then (RS-420: 900 MB), and fork would copy the page tables of all of it
 * for a child that only execs. The caller runs m4_start, does other work
 * (writes the .weights) while m4 runs, then m4_finish.
 */
#include "rsc.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/* The m4 driver as a temporary file; its name (caller frees), or NULL. */
static char *write_driver(const char *input, size_t len, Diag *d) {
  const char *tmpdir = getenv("TMPDIR");
  char *drv = xstrfmt("%s/rsc-m4-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  int fd = mkstemp(drv);
  if (fd < 0) {
    diag(d, DIAG_ERROR, "cannot create a temporary file for m4: %s", strerror(errno));
    free(drv);
    return NULL;
  }
  temp_track(drv);
  bool ok = write_all(fd, input, len);
  int err = errno;
  close(fd);
  if (!ok) {
    diag(d, DIAG_ERROR, "cannot write m4 driver %s: %s", drv, strerror(err));
    temp_untrack(drv);
    unlink(drv);
    free(drv);
    return NULL;
  }
  return drv;
}

static void m4_clear(M4Run *r) {
  if (r->driver) {
    temp_untrack(r->driver);
    unlink(r->driver);
  }
  free(r->driver);
  free(r->incdir);
  r->driver = r->incdir = NULL;
  r->pid = -1;
}

bool m4_start(M4Run *r, const char *datadir, const char *input, size_t len, int out_fd,
              Diag *d) {
  r->pid = -1;
  r->incdir = NULL;
  r->prog = getenv("RSC_M4");
  if (!r->prog || !*r->prog)
    r->prog = "m4";
  if (!(r->driver = write_driver(input, len, d)))
    return false;
  r->incdir = xstrfmt("%s/templates", datadir);
  char *argv[] = {(char *)r->prog, "-P", "-E", "-U", "m4_syscmd", "-U", "m4_esyscmd",
                  "-I", r->incdir, r->driver, NULL};
  posix_spawn_file_actions_t fa;
  int err = posix_spawn_file_actions_init(&fa);
  if (!err)
    err = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  pid_t pid = -1;
  if (!err)
    err = posix_spawnp(&pid, r->prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err) {
    diag(d, DIAG_ERROR, "cannot run '%s': %s", r->prog, strerror(err));
    m4_clear(r);
    return false;
  }
  r->pid = (long)pid;
  return true;
}

bool m4_finish(M4Run *r, Diag *d) {
  if (r->pid < 0)
    return false;
  int status = 0;
  pid_t got;
  while ((got = waitpid((pid_t)r->pid, &status, 0)) < 0 && errno == EINTR)
    ;
  bool ok = got >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ok)
    diag(d, DIAG_ERROR, "m4 failed (%s, status %d) expanding templates from %s", r->prog,
         got >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1, r->incdir);
  m4_clear(r);
  return ok;
}
