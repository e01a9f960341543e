/*
 * m4.c - runs GNU m4 on a driver text, safely: argv array (never a shell),
 * `-P` so only m4_-prefixed builtins exist (C text like len(buf) stays C),
 * `-E` so any warning fails the run, and syscmd/esyscmd undefined so no text
 * that reaches m4 can start a process. The driver goes through a temporary
 * file; the expansion comes back through a pipe.
 */
#include "rsc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

bool m4_expand(const char *datadir, const char *input, size_t len, StrBuf *out, Diag *d) {
  const char *tmpdir = getenv("TMPDIR");
  char *drv = xstrfmt("%s/rsc-m4-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  int fd = mkstemp(drv);
  if (fd < 0) {
    diag(d, DIAG_ERROR, "cannot create a temporary file for m4: %s", strerror(errno));
    free(drv);
    return false;
  }
  bool ok = write_all(fd, input, len);
  close(fd);
  if (!ok) {
    diag(d, DIAG_ERROR, "cannot write m4 driver %s: %s", drv, strerror(errno));
    unlink(drv);
    free(drv);
    return false;
  }
  char *incdir = xstrfmt("%s/templates", datadir);
  const char *m4 = getenv("RSC_M4");
  if (!m4 || !*m4)
    m4 = "m4";
  char *argv[] = {(char *)m4, "-P", "-E", "-U", "m4_syscmd", "-U", "m4_esyscmd",
                  "-I", incdir, drv, NULL};
  int pfd[2];
  if (pipe(pfd) != 0) {
    diag(d, DIAG_ERROR, "pipe: %s", strerror(errno));
    unlink(drv);
    free(drv);
    free(incdir);
    return false;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    close(pfd[1]);
    execvp(m4, argv);
    fprintf(stderr, "rsc: error: cannot run '%s': %s\n", m4, strerror(errno));
    _exit(127);
  }
  close(pfd[1]);
  ok = pid > 0;
  char buf[65536];
  ssize_t n;
  while (ok && (n = read(pfd[0], buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    sb_putn(out, buf, (size_t)n);
  }
  close(pfd[0]);
  int status = 0;
  if (pid > 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    diag(d, DIAG_ERROR, "m4 failed (%s, status %d) expanding templates from %s", m4,
         WIFEXITED(status) ? WEXITSTATUS(status) : -1, incdir);
    ok = false;
  }
  unlink(drv);
  free(drv);
  free(incdir);
  return ok;
}
