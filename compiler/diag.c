/*
 * diag.c - GCC-style diagnostics: "file:line:col: error: message", then the
 * offending source line and a caret under the column. Stages only count and
 * print; deciding to stop is left to the caller.
 */
#include "rsc.h"

static const char *level_name(DiagLevel lvl) {
  switch (lvl) {
  case DIAG_ERROR:
    return "error";
  case DIAG_WARNING:
    return "warning";
  case DIAG_NOTE:
    return "note";
  }
  return "error";
}

static void count(Diag *d, DiagLevel lvl) {
  if (lvl == DIAG_ERROR)
    d->errors++;
  else if (lvl == DIAG_WARNING)
    d->warnings++;
}

void diag_init(Diag *d, FILE *out) {
  d->out = out;
  d->errors = 0;
  d->warnings = 0;
}

/* Prints line `line` (1-based) of f, tabs kept so the caret lines up. */
static void quote_line(FILE *out, const SrcFile *f, int line, int col, int len) {
  const char *p = f->text, *end = f->text + f->len;
  for (int l = 1; l < line && p < end; p++)
    if (*p == '\n')
      l++;
  const char *eol = p;
  while (eol < end && *eol != '\n')
    eol++;
  fprintf(out, " %.*s\n ", (int)(eol - p), p);
  for (int i = 1; i < col && p + i - 1 < eol; i++)
    fputc(p[i - 1] == '\t' ? '\t' : ' ', out);
  fputc('^', out);
  for (int i = 1; i < len; i++)
    fputc('~', out);
  fputc('\n', out);
}

void diag_at(Diag *d, DiagLevel lvl, const SrcFile *f, int line, int col, int len,
             const char *fmt, ...) {
  count(d, lvl);
  fprintf(d->out, "%s:%d:%d: %s: ", f->name, line, col, level_name(lvl));
  va_list ap;
  va_start(ap, fmt);
  vfprintf(d->out, fmt, ap);
  va_end(ap);
  fputc('\n', d->out);
  quote_line(d->out, f, line, col, len);
}

void diag(Diag *d, DiagLevel lvl, const char *fmt, ...) {
  count(d, lvl);
  fprintf(d->out, "rsc: %s: ", level_name(lvl));
  va_list ap;
  va_start(ap, fmt);
  vfprintf(d->out, fmt, ap);
  va_end(ap);
  fputc('\n', d->out);
}
