/*
 * diag.c - GCC-style diagnostics: "file:line:col: error: message", then the
 * offending source line and a caret under the column. Stages only count and
 * print; deciding to stop is left to the caller.
 */
#include "rsc.h"

#include <stdlib.h>

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

/* At most this many bytes of a source line are quoted: a longer line is cut
 * around the caret, with "..." at each cut end. */
enum { QUOTE_WIDTH = 200, QUOTE_BEFORE = 80 };

static bool utf8_continuation(char c) { return ((unsigned char)c & 0xc0) == 0x80; }

/* Prints line `line` (1-based) of f, tabs kept so the caret lines up, and a
 * caret with len-1 tildes under column col (a byte offset, 1-based). */
static void quote_line(FILE *out, const SrcFile *f, int line, int col, int len) {
  const char *p = f->text, *end = f->text + f->len;
  for (int l = 1; l < line && p < end; p++)
    if (*p == '\n')
      l++;
  const char *eol = p;
  while (eol < end && *eol != '\n')
    eol++;
  const char *caret = p + col - 1 < eol ? p + col - 1 : eol;
  const char *from = p, *to = eol; /* the part quoted */
  if (eol - p > QUOTE_WIDTH) {
    from = caret - p > QUOTE_BEFORE ? caret - QUOTE_BEFORE : p;
    to = eol - from > QUOTE_WIDTH ? from + QUOTE_WIDTH : eol;
    if (to == eol && to - p > QUOTE_WIDTH)
      from = to - QUOTE_WIDTH; /* the caret near the end: show the line's end in full */
    while (from > p && from < eol && utf8_continuation(*from))
      from++;
    while (to < eol && to > from && utf8_continuation(*to))
      to--;
  }
  const char *cut_l = from > p ? "..." : "", *cut_r = to < eol ? "..." : "";
  fprintf(out, " %s%.*s%s\n %s", cut_l, (int)(to - from), from, cut_r, from > p ? "   " : "");
  for (const char *c = from; c < caret; c++)
    fputc(*c == '\t' ? '\t' : ' ', out);
  fputc('^', out);
  for (int i = 1; i < len && caret + i < to; i++)
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

void diag_loc(Diag *d, DiagLevel lvl, const SpecLoc *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvstrfmt(fmt, ap);
  va_end(ap);
  if (l->file)
    diag_at(d, lvl, l->file, l->line, l->col, l->len, "%s", msg);
  else
    diag(d, lvl, "%s", msg);
  free(msg);
}
