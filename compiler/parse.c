/*
 * parse.c - the spec language (docs/spec.md): "key value..." lines, '#'
 * comments, values separated by blanks or commas. spec_parse() reads one
 * SrcFile into a Spec, spec_finish() resolves defaults that depend on other
 * keys and checks the keys against each other, spec_canonical() prints the
 * resolved spec back as a spec that parses to the same network.
 *
 * Invariants: a key is "set" iff loc[key].file != NULL, and loc[] points at the
 * key word of the line that set it. Within one SrcFile a key may appear once;
 * a later SrcFile (the command line) overrides silently. depth and blocks are
 * two spellings of one setting, so one overrides the other across files too.
 * Every error is reported (located when possible) and parsing goes on with the
 * next line, so one run shows all the mistakes of a file.
 */
#include "rsc.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const key_names[] = {
#define X(id, name) name,
    SPEC_KEYS(X)
#undef X
};

const char *spec_key_name(SpecKey k) {
  RSC_ASSERT((int)k >= 0 && k < SPEC_KEY_COUNT);
  return key_names[k];
}

/* The depth presets of the paper (docs/resnet-rs.md, "Block layouts"). */
static const struct {
  int depth;
  int blocks[RSC_STAGES];
} presets[] = {
    {50, {3, 4, 6, 3}},    {101, {3, 4, 23, 3}},  {152, {3, 8, 36, 3}},  {200, {3, 24, 36, 3}},
    {270, {4, 29, 53, 4}}, {350, {4, 36, 72, 4}}, {420, {4, 44, 87, 4}},
};
enum { NPRESETS = sizeof presets / sizeof presets[0] };

/* The words of each enumerated key. The first word of a value is the one
 * spec_canonical() writes (so "silu" reads as swish and prints as "swish").
 * An activation's word is act_name()'s, from the ACT_LIST table (ACT_WORD);
 * only synonyms are spelled here. Each list ends with WORDS_END. */
typedef struct Word {
  const char *word; /* NULL: act_name(value) */
  int value;
} Word;
#define ACT_WORD(a) {NULL, (int)(a)}
#define WORDS_END {NULL, -1}

static const char *word_text(const Word *w) {
  return w->word ? w->word : act_name((ActKind)w->value);
}

static const Word se_rounding_words[] = {
    {"keras", SE_ROUND_KERAS}, {"timm", SE_ROUND_TIMM}, WORDS_END};
static const Word stem_words[] = {{"deep", STEM_DEEP}, {"classic", STEM_CLASSIC}, WORDS_END};
static const Word stem_down_words[] = {
    {"conv", STEM_DOWN_CONV}, {"maxpool", STEM_DOWN_MAXPOOL}, WORDS_END};
static const Word shortcut_words[] = {
    {"avgpool", SHORTCUT_AVGPOOL}, {"strided", SHORTCUT_STRIDED}, WORDS_END};
static const Word stride_on_words[] = {{"3x3", STRIDE_ON_3X3}, {"1x1", STRIDE_ON_1X1}, WORDS_END};
static const Word act_words[] = {
    ACT_WORD(ACT_RELU), ACT_WORD(ACT_SWISH), {"silu", ACT_SWISH}, WORDS_END};
static const Word head_words[] = {
    {"dense", HEAD_DENSE}, {"avg", HEAD_AVG}, {"max", HEAD_MAX}, {"none", HEAD_NONE}, WORDS_END};
static const Word cls_act_words[] = {ACT_WORD(ACT_NONE), ACT_WORD(ACT_SOFTMAX), WORDS_END};
static const Word input_type_words[] = {{"f32", INPUT_F32}, {"u8", INPUT_U8}, WORDS_END};
static const Word input_layout_words[] = {
    {"nhwc", INPUT_NHWC}, {"nchw", INPUT_NCHW}, WORDS_END};
static const Word preprocess_words[] = {
    {"none", PREPROCESS_NONE}, {"imagenet", PREPROCESS_IMAGENET}, WORDS_END};

/* precision's words: PRECISION_LIST's, in its order (value = index). */
#define PRECISION_WORD(id, name) {name, PRECISION_##id},
static const Word precision_words[] = {PRECISION_LIST(PRECISION_WORD) WORDS_END};
#undef PRECISION_WORD

static const char *const endpoint_names[RSC_ENDPOINTS] = {"c2", "c3", "c4", "c5", "head"};

const char *endpoint_name(Endpoint e) {
  RSC_ASSERT((int)e >= 0 && e < RSC_ENDPOINTS);
  return endpoint_names[e];
}

static const char *word_of(const Word *w, int value) {
  for (; w->value >= 0; w++)
    if (w->value == value)
      return word_text(w);
  RSC_ASSERT(!"enum value without a word");
}

const char *spec_word(SpecKey k, int value) {
  switch (k) {
  case KEY_SE_ROUNDING:
    return word_of(se_rounding_words, value);
  case KEY_STEM:
    return word_of(stem_words, value);
  case KEY_STEM_DOWNSAMPLE:
    return word_of(stem_down_words, value);
  case KEY_SHORTCUT:
    return word_of(shortcut_words, value);
  case KEY_STRIDE_ON:
    return word_of(stride_on_words, value);
  case KEY_ACTIVATION:
    return word_of(act_words, value);
  case KEY_HEAD:
    return word_of(head_words, value);
  case KEY_CLASSIFIER_ACTIVATION:
    return word_of(cls_act_words, value);
  case KEY_INPUT_TYPE:
    return word_of(input_type_words, value);
  case KEY_INPUT_LAYOUT:
    return word_of(input_layout_words, value);
  case KEY_PREPROCESS:
    return word_of(preprocess_words, value);
  case KEY_PRECISION:
    return word_of(precision_words, value);
  case KEY_DEPTH:
  case KEY_BLOCKS:
  case KEY_HEIGHT:
  case KEY_WIDTH:
  case KEY_CHANNELS:
  case KEY_BATCH:
  case KEY_WIDTHS:
  case KEY_WIDTH_MULTIPLIER:
  case KEY_STEM_WIDTHS:
  case KEY_SE_RATIO:
  case KEY_BN_EPS:
  case KEY_CLASSES:
  case KEY_OUTPUTS:
  case SPEC_KEY_COUNT:
    break;
  }
  RSC_ASSERT(!"not a key of words");
}

void spec_defaults(Spec *s) {
  memset(s, 0, sizeof *s);
  s->height = s->width = 224;
  s->channels = 3;
  s->batch = 1;
  static const int widths[RSC_STAGES] = {64, 128, 256, 512};
  memcpy(s->widths, widths, sizeof widths);
  s->width_multiplier = 1;
  s->nstem_widths = 3;
  s->stem_widths[0] = 32;
  s->stem_widths[1] = 32;
  s->stem_widths[2] = 64;
  s->se_ratio = 0.25;
  s->se_rounding = SE_ROUND_KERAS;
  s->stem = STEM_DEEP;
  s->stem_down = STEM_DOWN_CONV;
  s->shortcut = SHORTCUT_AVGPOOL;
  s->stride_on = STRIDE_ON_3X3;
  s->bn_eps = 1e-5;
  s->act = ACT_RELU;
  s->classes = 1000;
  s->head = HEAD_DENSE;
  s->classifier_act = ACT_NONE;
  s->input_type = INPUT_F32;
  s->input_layout = INPUT_NHWC;
  s->preprocess = PREPROCESS_NONE;
  s->outputs = ENDPOINTS_DEFAULT;
  s->precision = PRECISION_FP32;
}

/* ---------------------------------------------------------------- lexing */

/* One more value than any key takes, so "too many" can point at the extra ones
 * ('outputs' takes up to RSC_ENDPOINTS). */
enum { MAX_VALUES = RSC_ENDPOINTS + 1 };

typedef struct Tok {
  const char *p;
  int len, col; /* col is 1-based, in bytes */
} Tok;

/* A token quoted in a message: at most TOK_SHOWN bytes of it (cut on a UTF-8
 * character boundary), then "..." if it is longer, so a 10 MB word does not
 * make a 10 MB message. Use as "'" TOK_FMT "'" with TOK_ARG(t). */
enum { TOK_SHOWN = 64 };
#define TOK_FMT "%.*s%s"
#define TOK_ARG(t) tok_shown(t), (t).p, (t).len > TOK_SHOWN ? "..." : ""

static int tok_shown(Tok t) {
  if (t.len <= TOK_SHOWN)
    return t.len;
  int n = TOK_SHOWN;
  while (n > 0 && ((unsigned char)t.p[n] & 0xc0) == 0x80)
    n--;
  return n;
}

/* line = blank* [key [blank+ value {sep value}]] blank* ['#' comment] EOL */
typedef struct Line {
  int no;
  Tok key;
  Tok v[MAX_VALUES]; /* the first MAX_VALUES values */
  int nv;            /* how many values the line has, possibly more than stored */
  Tok last;          /* the last value */
} Line;

typedef struct Parser {
  Spec *s;
  const SrcFile *f;
  Diag *d;
} Parser;

/* diag_at() with a va_list: the message is formatted first, then quoted. */
static void verror_at(Parser *p, DiagLevel lvl, const SrcFile *f, int line, int col, int len,
                      const char *fmt, va_list ap) {
  char *msg = xvstrfmt(fmt, ap);
  diag_at(p->d, lvl, f, line, col, len < 1 ? 1 : len, "%s", msg);
  free(msg);
}

static void error_at(Parser *p, int line, Tok t, const char *fmt, ...) RSC_PRINTF(4, 5);
static void error_at(Parser *p, int line, Tok t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror_at(p, DIAG_ERROR, p->f, line, t.col, t.len, fmt, ap);
  va_end(ap);
}

/* A diagnostic at the key word recorded in a SpecLoc. */
static void at_loc(Parser *p, DiagLevel lvl, const SpecLoc *l, const char *fmt, ...)
    RSC_PRINTF(4, 5);
static void at_loc(Parser *p, DiagLevel lvl, const SpecLoc *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror_at(p, lvl, l->file, l->line, l->col, l->len, fmt, ap);
  va_end(ap);
}

/* The tokens a to b (inclusive) as one caret span. */
static Tok span(Tok a, Tok b) { return (Tok){a.p, (int)(b.p + b.len - a.p), a.col}; }

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
static bool ends_token(char c) { return is_blank(c) || c == '#' || c == ',' || c == '\n'; }

/* Length of the UTF-8 sequence at p (at most n bytes), or 0 if it is malformed
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8_len(const unsigned char *p, size_t n) {
  int len;
  unsigned min;
  unsigned cp;
  if (p[0] < 0x80)
    return 1;
  if ((p[0] & 0xe0) == 0xc0)
    len = 2, min = 0x80, cp = p[0] & 0x1fu;
  else if ((p[0] & 0xf0) == 0xe0)
    len = 3, min = 0x800, cp = p[0] & 0x0fu;
  else if ((p[0] & 0xf8) == 0xf0)
    len = 4, min = 0x10000, cp = p[0] & 0x07u;
  else
    return 0;
  if ((size_t)len > n)
    return 0;
  for (int i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

/* Checks the bytes of the line [p, eol): text only (UTF-8, no control
 * characters but tab and CR). Reports the first bad byte. */
static bool check_chars(Parser *p, int no, const char *line, const char *eol) {
  for (const char *c = line; c < eol;) {
    unsigned char u = (unsigned char)*c;
    int n = utf8_len((const unsigned char *)c, (size_t)(eol - c));
    if (n == 0 || (u < 0x20 && u != '\t' && u != '\r') || u == 0x7f) {
      error_at(p, no, (Tok){c, 1, (int)(c - line) + 1},
               n == 0 ? "invalid UTF-8 byte 0x%02x" : "invalid character 0x%02x", u);
      return false;
    }
    c += n;
  }
  return true;
}

/* Splits the line [start, eol) into key and values (columns counted from line). Returns false
 * (after reporting) on a misplaced comma; a line without a key has key.len == 0. */
static bool lex_line(Parser *p, int no, const char *line, const char *start, const char *eol,
                     Line *l) {
  *l = (Line){.no = no};
  const char *c = start;
  bool comma = false; /* a ',' seen since the last value */
  Tok comma_tok = {0};
  while (c < eol && *c != '#') {
    if (is_blank(*c)) {
      c++;
      continue;
    }
    Tok t = {c, 0, (int)(c - line) + 1};
    if (*c == ',') {
      t.len = 1;
      if (!l->key.len || l->nv == 0 || comma) {
        error_at(p, no, t, "unexpected ','; a ',' goes between two values");
        return false;
      }
      comma = true;
      comma_tok = t;
      c++;
      continue;
    }
    while (c < eol && !ends_token(*c))
      c++;
    t.len = (int)(c - t.p);
    if (!l->key.len) {
      l->key = t;
      continue;
    }
    if (l->nv < MAX_VALUES)
      l->v[l->nv] = t;
    l->nv++;
    l->last = t;
    comma = false;
  }
  if (comma) {
    error_at(p, no, comma_tok, "unexpected ',' after the last value");
    return false;
  }
  return true;
}

/* ---------------------------------------------------------------- values */

/* Checks that the line has a or b values (a <= b). */
static bool check_count(Parser *p, SpecKey k, const Line *l, int a, int b) {
  if (l->nv == a || l->nv == b)
    return true;
  const char *key = spec_key_name(k);
  if (l->nv == 0) {
    error_at(p, l->no, l->key, "missing value for '%s'", key);
    return false;
  }
  char takes[48];
  if (a == b)
    snprintf(takes, sizeof takes, "%d value%s", a, a == 1 ? "" : "s");
  else
    snprintf(takes, sizeof takes, "%d or %d values", a, b);
  /* Too many: point at the extra values; too few or in between: at all of them. */
  Tok at = l->nv > b ? span(l->v[b], l->last) : span(l->v[0], l->last);
  error_at(p, l->no, at, "'%s' takes %s, got %d", key, takes, l->nv);
  return false;
}

/* Decimal integer, optionally signed; saturates far outside any range. */
static bool parse_int(Tok t, long long *out) {
  const char *c = t.p, *end = t.p + t.len;
  bool neg = false;
  if (c < end && (*c == '+' || *c == '-'))
    neg = *c++ == '-';
  if (c == end)
    return false;
  long long v = 0;
  for (; c < end; c++) {
    if (*c < '0' || *c > '9')
      return false;
    if (v < 1000000000000LL)
      v = v * 10 + (*c - '0');
  }
  *out = neg ? -v : v;
  return true;
}

/* What parse_double() found. */
typedef enum NumRead {
  NUM_OK,        /* a double */
  NUM_BAD,       /* not a number */
  NUM_UNDERFLOW, /* a number too close to 0 for a double (strtod's ERANGE) */
  NUM_OVERFLOW   /* a number too large for a double (strtod's ERANGE) */
} NumRead;

/* A decimal float: strtod's syntax without nan, inf and hex forms. A literal
 * strtod cannot hold (1e-400, 1e400) is reported, not silently made 0 or inf. */
static NumRead parse_double(Tok t, double *out) {
  bool digit = false;
  for (int i = 0; i < t.len; i++) {
    char c = t.p[i];
    if (c >= '0' && c <= '9')
      digit = true;
    else if (!strchr("+-.eE", c))
      return NUM_BAD;
  }
  if (!digit || t.len > 64)
    return NUM_BAD;
  char buf[65];
  memcpy(buf, t.p, (size_t)t.len);
  buf[t.len] = '\0';
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (end != buf + t.len)
    return NUM_BAD;
  if (errno == ERANGE)
    return fabs(v) >= 1 ? NUM_OVERFLOW : NUM_UNDERFLOW;
  *out = v == 0 ? 0.0 : v; /* no -0 */
  return NUM_OK;
}

/* n integers in lo..hi into out[]; count already checked. */
static bool get_ints(Parser *p, SpecKey k, const Line *l, int n, long lo, long hi, int *out) {
  bool ok = true;
  for (int i = 0; i < n; i++) {
    long long v;
    Tok t = l->v[i];
    if (!parse_int(t, &v)) {
      error_at(p, l->no, t, "'%s' needs an integer, not '" TOK_FMT "'", spec_key_name(k),
               TOK_ARG(t));
      ok = false;
    } else if (v < lo || v > hi) {
      error_at(p, l->no, t, "'%s' must be in %ld..%ld, not " TOK_FMT, spec_key_name(k), lo, hi,
               TOK_ARG(t));
      ok = false;
    } else {
      out[i] = (int)v;
    }
  }
  return ok;
}

static bool one_int(Parser *p, SpecKey k, const Line *l, long lo, long hi, int *out) {
  return check_count(p, k, l, 1, 1) && get_ints(p, k, l, 1, lo, hi, out);
}

/* One number in the interval lo..hi; open_lo makes it (lo, hi]. */
static bool one_double(Parser *p, SpecKey k, const Line *l, double lo, bool open_lo, double hi,
                       double *out) {
  if (!check_count(p, k, l, 1, 1))
    return false;
  Tok t = l->v[0];
  double v = 0;
  NumRead r = parse_double(t, &v);
  if (r == NUM_BAD) {
    error_at(p, l->no, t, "'%s' needs a number, not '" TOK_FMT "'", spec_key_name(k), TOK_ARG(t));
    return false;
  }
  char a[32], b[32];
  format_double(a, lo);
  format_double(b, hi);
  if (r != NUM_OK) {
    error_at(p, l->no, t, "'%s' value " TOK_FMT " is out of range (too %s for a double); "
             "it must be in %s%s, %s]", spec_key_name(k), TOK_ARG(t),
             r == NUM_OVERFLOW ? "large" : "small", open_lo ? "(" : "[", a, b);
    return false;
  }
  if (v < lo || (open_lo && v == lo) || v > hi) {
    error_at(p, l->no, t, "'%s' must be in %s%s, %s], not " TOK_FMT, spec_key_name(k),
             open_lo ? "(" : "[", a, b, TOK_ARG(t));
    return false;
  }
  *out = v;
  return true;
}

/* One word of table w; the message lists the words. */
static bool one_word(Parser *p, SpecKey k, const Line *l, const Word *w, int *out) {
  if (!check_count(p, k, l, 1, 1))
    return false;
  Tok t = l->v[0];
  for (const Word *i = w; i->value >= 0; i++)
    if (strlen(word_text(i)) == (size_t)t.len && memcmp(word_text(i), t.p, (size_t)t.len) == 0) {
      *out = i->value;
      return true;
    }
  StrBuf words = {0};
  for (const Word *i = w; i->value >= 0; i++)
    sb_printf(&words, "%s'%s'", i == w ? "" : i[1].value >= 0 ? ", " : " or ", word_text(i));
  error_at(p, l->no, t, "'%s' must be %s, not '" TOK_FMT "'", spec_key_name(k), words.buf,
           TOK_ARG(t));
  sb_free(&words);
  return false;
}

/* 'outputs': 1..RSC_ENDPOINTS distinct endpoint names, in any order, into a bit
 * set. Every bad value is reported. */
static bool get_outputs(Parser *p, const Line *l, unsigned *out) {
  const char *key = spec_key_name(KEY_OUTPUTS);
  if (l->nv == 0) {
    error_at(p, l->no, l->key, "missing value for '%s'", key);
    return false;
  }
  if (l->nv > RSC_ENDPOINTS) {
    error_at(p, l->no, span(l->v[RSC_ENDPOINTS], l->last),
             "'%s' takes at most %d values (c2 c3 c4 c5 head), got %d", key, RSC_ENDPOINTS,
             l->nv);
    return false;
  }
  unsigned set = 0;
  bool ok = true;
  for (int i = 0; i < l->nv; i++) {
    Tok t = l->v[i];
    int e = 0;
    while (e < RSC_ENDPOINTS && !(strlen(endpoint_names[e]) == (size_t)t.len &&
                                  memcmp(endpoint_names[e], t.p, (size_t)t.len) == 0))
      e++;
    if (e == RSC_ENDPOINTS) {
      error_at(p, l->no, t, "'%s' values must be 'c2', 'c3', 'c4', 'c5' or 'head', not '" TOK_FMT "'",
               key, TOK_ARG(t));
      ok = false;
    } else if (set & ENDPOINT_BIT(e)) {
      error_at(p, l->no, t, "'%s' lists '%s' twice", key, endpoint_names[e]);
      ok = false;
    }
    if (e < RSC_ENDPOINTS)
      set |= ENDPOINT_BIT(e);
  }
  if (ok)
    *out = set;
  return ok;
}

/* Parses the values of key k on line l into s. False (reported) if they are bad. */
static bool set_key(Parser *p, SpecKey k, const Line *l) {
  Spec *s = p->s;
  int v[RSC_STAGES], w;
  switch (k) {
  case KEY_DEPTH: {
    /* Any integer that is not a preset, however large, gets the list of presets. */
    long long d;
    if (!check_count(p, k, l, 1, 1))
      return false;
    if (!parse_int(l->v[0], &d)) {
      error_at(p, l->no, l->v[0], "'depth' needs an integer, not '" TOK_FMT "'",
               TOK_ARG(l->v[0]));
      return false;
    }
    for (int i = 0; i < NPRESETS; i++)
      if (presets[i].depth == d) {
        s->depth = (int)d;
        return true;
      }
    error_at(p, l->no, l->v[0],
             "'depth' must be one of 50, 101, 152, 200, 270, 350 or 420, not " TOK_FMT
             " (other layouts: 'blocks A B C D')",
             TOK_ARG(l->v[0]));
    return false;
  }
  case KEY_BLOCKS:
    if (!check_count(p, k, l, RSC_STAGES, RSC_STAGES) ||
        !get_ints(p, k, l, RSC_STAGES, 1, 1000, s->blocks))
      return false;
    s->depth = 0;
    return true;
  case KEY_HEIGHT:
    return one_int(p, k, l, 1, 65536, &s->height);
  case KEY_WIDTH:
    return one_int(p, k, l, 1, 65536, &s->width);
  case KEY_CHANNELS:
    return one_int(p, k, l, 1, 4096, &s->channels);
  case KEY_BATCH:
    return one_int(p, k, l, 1, 4096, &s->batch);
  case KEY_WIDTHS:
    return check_count(p, k, l, RSC_STAGES, RSC_STAGES) &&
           get_ints(p, k, l, RSC_STAGES, 1, 65536, s->widths);
  case KEY_WIDTH_MULTIPLIER:
    return one_double(p, k, l, 0, true, 64, &s->width_multiplier);
  case KEY_STEM_WIDTHS:
    /* 1 or RSC_STEM_CONVS; whether it fits the stem kind is spec_finish's call. */
    if (!check_count(p, k, l, 1, RSC_STEM_CONVS) || !get_ints(p, k, l, l->nv, 1, 65536, v))
      return false;
    s->nstem_widths = l->nv;
    memcpy(s->stem_widths, v, sizeof(int) * (size_t)l->nv);
    return true;
  case KEY_SE_RATIO:
    return one_double(p, k, l, 0, false, 1, &s->se_ratio);
  case KEY_SE_ROUNDING:
    if (!one_word(p, k, l, se_rounding_words, &w))
      return false;
    s->se_rounding = (SeRounding)w;
    return true;
  case KEY_STEM:
    if (!one_word(p, k, l, stem_words, &w))
      return false;
    s->stem = (StemKind)w;
    return true;
  case KEY_STEM_DOWNSAMPLE:
    if (!one_word(p, k, l, stem_down_words, &w))
      return false;
    s->stem_down = (StemDown)w;
    return true;
  case KEY_SHORTCUT:
    if (!one_word(p, k, l, shortcut_words, &w))
      return false;
    s->shortcut = (ShortcutKind)w;
    return true;
  case KEY_STRIDE_ON:
    if (!one_word(p, k, l, stride_on_words, &w))
      return false;
    s->stride_on = (StrideOn)w;
    return true;
  case KEY_BN_EPS:
    return one_double(p, k, l, 0, true, 1, &s->bn_eps);
  case KEY_ACTIVATION:
    if (!one_word(p, k, l, act_words, &w))
      return false;
    s->act = (ActKind)w;
    return true;
  case KEY_CLASSES:
    return one_int(p, k, l, 1, 1000000, &s->classes);
  case KEY_HEAD:
    if (!one_word(p, k, l, head_words, &w))
      return false;
    s->head = (HeadKind)w;
    return true;
  case KEY_CLASSIFIER_ACTIVATION:
    if (!one_word(p, k, l, cls_act_words, &w))
      return false;
    s->classifier_act = (ActKind)w;
    return true;
  case KEY_INPUT_TYPE:
    if (!one_word(p, k, l, input_type_words, &w))
      return false;
    s->input_type = (InputType)w;
    return true;
  case KEY_INPUT_LAYOUT:
    if (!one_word(p, k, l, input_layout_words, &w))
      return false;
    s->input_layout = (InputLayout)w;
    return true;
  case KEY_PREPROCESS:
    if (!one_word(p, k, l, preprocess_words, &w))
      return false;
    s->preprocess = (Preprocess)w;
    return true;
  case KEY_OUTPUTS:
    return get_outputs(p, l, &s->outputs);
  case KEY_PRECISION:
    if (!one_word(p, k, l, precision_words, &w))
      return false;
    s->precision = (Precision)w;
    return true;
  case SPEC_KEY_COUNT:
    break;
  }
  RSC_ASSERT(!"bad key");
}

/* ---------------------------------------------------------------- keys */

/* Levenshtein distance, or a large number for long words (no suggestion). */
int edit_distance(const char *a, int na, const char *b) {
  int nb = (int)strlen(b);
  enum { MAXW = 64 };
  if (na > MAXW || nb > MAXW)
    return INT_MAX;
  int row[MAXW + 1];
  for (int j = 0; j <= nb; j++)
    row[j] = j;
  for (int i = 1; i <= na; i++) {
    int diag_ = row[0];
    row[0] = i;
    for (int j = 1; j <= nb; j++) {
      int up = row[j];
      int best = diag_ + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag_ = up;
    }
  }
  return row[nb];
}

static int find_key(Tok t) {
  for (int k = 0; k < SPEC_KEY_COUNT; k++)
    if (strlen(key_names[k]) == (size_t)t.len && memcmp(key_names[k], t.p, (size_t)t.len) == 0)
      return k;
  return -1;
}

static void unknown_key(Parser *p, const Line *l) {
  int best = -1, best_d = 3; /* suggest only within edit distance 2 */
  for (int k = 0; k < SPEC_KEY_COUNT; k++) {
    int dist = edit_distance(l->key.p, l->key.len, key_names[k]);
    if (dist < best_d)
      best = k, best_d = dist;
  }
  if (best >= 0)
    error_at(p, l->no, l->key, "unknown key '" TOK_FMT "'; did you mean '%s'?", TOK_ARG(l->key),
             key_names[best]);
  else
    error_at(p, l->no, l->key, "unknown key '" TOK_FMT "'", TOK_ARG(l->key));
}

static void set_loc(Parser *p, SpecKey k, const Line *l) {
  p->s->loc[k] = (SpecLoc){p->f, l->no, l->key.col, l->key.len};
}

/* Forgets key k if an earlier source set it: it goes back to its default. */
static void unset_earlier(Parser *p, SpecKey k) {
  Spec *s = p->s;
  if (!s->loc[k].file || s->loc[k].file == p->f)
    return;
  Spec def;
  spec_defaults(&def);
  switch (k) {
  case KEY_DEPTH:
    s->depth = def.depth;
    break;
  case KEY_BLOCKS:
    memcpy(s->blocks, def.blocks, sizeof s->blocks);
    break;
  case KEY_STEM_WIDTHS:
    break; /* spec_finish() picks the default for the stem kind */
  case KEY_CLASSES:
    s->classes = def.classes;
    break;
  case KEY_CLASSIFIER_ACTIVATION:
    s->classifier_act = def.classifier_act;
    break;
  case KEY_HEIGHT:
  case KEY_WIDTH:
  case KEY_CHANNELS:
  case KEY_BATCH:
  case KEY_WIDTHS:
  case KEY_WIDTH_MULTIPLIER:
  case KEY_SE_RATIO:
  case KEY_SE_ROUNDING:
  case KEY_STEM:
  case KEY_STEM_DOWNSAMPLE:
  case KEY_SHORTCUT:
  case KEY_STRIDE_ON:
  case KEY_BN_EPS:
  case KEY_ACTIVATION:
  case KEY_HEAD:
  case KEY_INPUT_TYPE:
  case KEY_INPUT_LAYOUT:
  case KEY_PREPROCESS:
  case KEY_OUTPUTS:
  case KEY_PRECISION:
  case SPEC_KEY_COUNT:
    RSC_ASSERT(!"key without dependents");
  }
  s->loc[k] = (SpecLoc){0};
}

/* A key from a later source also overrides the earlier sources' keys that
 * would contradict it, so "--head none" works on a spec file that sets
 * classes. Within one source such contradictions stay errors (spec_finish). */
static void override_dependents(Parser *p, SpecKey k) {
  const Spec *s = p->s;
  switch (k) {
  case KEY_DEPTH:
    unset_earlier(p, KEY_BLOCKS);
    break;
  case KEY_BLOCKS:
    unset_earlier(p, KEY_DEPTH);
    break;
  case KEY_STEM:
    if (s->nstem_widths != (s->stem == STEM_DEEP ? RSC_STEM_CONVS : 1))
      unset_earlier(p, KEY_STEM_WIDTHS);
    break;
  case KEY_HEAD:
    if (s->head != HEAD_DENSE) {
      unset_earlier(p, KEY_CLASSES);
      unset_earlier(p, KEY_CLASSIFIER_ACTIVATION);
    }
    break;
  case KEY_HEIGHT:
  case KEY_WIDTH:
  case KEY_CHANNELS:
  case KEY_BATCH:
  case KEY_WIDTHS:
  case KEY_WIDTH_MULTIPLIER:
  case KEY_STEM_WIDTHS:
  case KEY_SE_RATIO:
  case KEY_SE_ROUNDING:
  case KEY_STEM_DOWNSAMPLE:
  case KEY_SHORTCUT:
  case KEY_STRIDE_ON:
  case KEY_BN_EPS:
  case KEY_ACTIVATION:
  case KEY_CLASSES:
  case KEY_CLASSIFIER_ACTIVATION:
  case KEY_INPUT_TYPE:
  case KEY_INPUT_LAYOUT:
  case KEY_PREPROCESS:
  case KEY_OUTPUTS:
  case KEY_PRECISION:
  case SPEC_KEY_COUNT:
    break;
  }
}

static void parse_line(Parser *p, const Line *l) {
  int k = find_key(l->key);
  if (k < 0) {
    unknown_key(p, l);
    return;
  }
  SpecLoc *loc = p->s->loc;
  if (loc[k].file == p->f) {
    error_at(p, l->no, l->key, "duplicate key '%s'", key_names[k]);
    at_loc(p, DIAG_NOTE, &loc[k], "first set here");
    return;
  }
  /* depth and blocks both say how many blocks: one of them per source. */
  int other = k == KEY_DEPTH ? KEY_BLOCKS : k == KEY_BLOCKS ? KEY_DEPTH : -1;
  if (other >= 0 && loc[other].file == p->f) {
    error_at(p, l->no, l->key, "inconsistent settings: both 'depth' and 'blocks' given; keep one");
    at_loc(p, DIAG_NOTE, &loc[other], "'%s' set here", key_names[other]);
    return;
  }
  if (!set_key(p, (SpecKey)k, l))
    return;
  set_loc(p, (SpecKey)k, l);
  override_dependents(p, (SpecKey)k);
}

bool spec_parse(Spec *s, const SrcFile *f, Diag *d) {
  Parser p = {s, f, d};
  int errors = d->errors;
  if (f->len > SPEC_MAX_BYTES) { /* keeps lines and columns well inside an int */
    diag(d, DIAG_ERROR, "'%s' is too large for a spec (%zu bytes, at most %d)", f->name, f->len,
         SPEC_MAX_BYTES);
    return false;
  }
  const char *c = f->text, *end = f->text + f->len;
  if (f->len >= 3 && memcmp(c, "\xef\xbb\xbf", 3) == 0)
    c += 3; /* a UTF-8 byte order mark; columns still count its bytes */
  const char *line = f->text;
  for (int no = 1; c < end; no++) {
    const char *eol = memchr(c, '\n', (size_t)(end - c));
    if (!eol)
      eol = end;
    Line l;
    if (check_chars(&p, no, line, eol) && lex_line(&p, no, line, c, eol, &l) && l.key.len)
      parse_line(&p, &l);
    c = line = eol + 1;
  }
  return d->errors == errors;
}

/* ---------------------------------------------------------------- finish */

bool spec_finish(Spec *s, Diag *d) {
  Parser p = {s, NULL, d};
  int errors = d->errors;
  SpecLoc *loc = s->loc;

  if (loc[KEY_DEPTH].file) {
    for (int i = 0; i < NPRESETS; i++)
      if (presets[i].depth == s->depth)
        memcpy(s->blocks, presets[i].blocks, sizeof s->blocks);
  } else if (loc[KEY_BLOCKS].file) {
    s->depth = 0;
  } else {
    diag(d, DIAG_ERROR,
         "no depth given: set 'depth' (50, 101, 152, 200, 270, 350 or 420) or 'blocks A B C D'");
  }

  /* A square input unless both sides are given. */
  if (loc[KEY_HEIGHT].file && !loc[KEY_WIDTH].file)
    s->width = s->height;
  else if (loc[KEY_WIDTH].file && !loc[KEY_HEIGHT].file)
    s->height = s->width;

  int nstem = s->stem == STEM_DEEP ? RSC_STEM_CONVS : 1;
  if (!loc[KEY_STEM_WIDTHS].file) {
    static const int deep[RSC_STEM_CONVS] = {32, 32, 64};
    s->nstem_widths = nstem;
    if (s->stem == STEM_DEEP)
      memcpy(s->stem_widths, deep, sizeof deep);
    else
      s->stem_widths[0] = 64, s->stem_widths[1] = s->stem_widths[2] = 0;
  } else if (s->nstem_widths != nstem) {
    at_loc(&p, DIAG_ERROR, &loc[KEY_STEM_WIDTHS],
           "inconsistent settings: 'stem_widths' has %d value%s but 'stem %s'%s takes %d",
           s->nstem_widths, s->nstem_widths == 1 ? "" : "s", word_of(stem_words, (int)s->stem),
           loc[KEY_STEM].file ? "" : " (the default)", nstem);
    if (loc[KEY_STEM].file)
      at_loc(&p, DIAG_NOTE, &loc[KEY_STEM], "'stem' set here");
  }

  if (s->head != HEAD_DENSE && s->classifier_act == ACT_SOFTMAX) {
    at_loc(&p, DIAG_ERROR, &loc[KEY_CLASSIFIER_ACTIVATION],
           "inconsistent settings: 'classifier_activation softmax' needs 'head dense', not "
           "'head %s'",
           word_of(head_words, (int)s->head));
    at_loc(&p, DIAG_NOTE, &loc[KEY_HEAD], "'head' set here");
  }
  if (s->head != HEAD_DENSE && loc[KEY_CLASSES].file) {
    at_loc(&p, DIAG_ERROR, &loc[KEY_CLASSES],
           "inconsistent settings: 'classes' needs 'head dense'; 'head %s' has no classifier",
           word_of(head_words, (int)s->head));
    at_loc(&p, DIAG_NOTE, &loc[KEY_HEAD], "'head' set here");
  }

  /* The ImageNet mean and std are per RGB channel. */
  if (s->preprocess == PREPROCESS_IMAGENET && s->channels != 3) {
    at_loc(&p, DIAG_ERROR, &loc[KEY_PREPROCESS],
           "inconsistent settings: 'preprocess imagenet' needs 3 (RGB) channels, not %d",
           s->channels);
    if (loc[KEY_CHANNELS].file)
      at_loc(&p, DIAG_NOTE, &loc[KEY_CHANNELS], "'channels' set here");
  }

  /* The multiplier rounds half up and never reaches zero (timm's make_divisible
   * is not used: ResNet-RS widths are plain). */
  for (int i = 0; i < RSC_STAGES; i++) {
    double w = floor(s->widths[i] * s->width_multiplier + 0.5);
    s->planes[i] = w < 1 ? 1 : (int)w;
  }
  for (int i = 0; i < RSC_STEM_CONVS; i++) {
    double w = floor(s->stem_widths[i] * s->width_multiplier + 0.5);
    s->stem_out[i] = i >= s->nstem_widths ? 0 : w < 1 ? 1 : (int)w;
  }
  return d->errors == errors;
}

/* ---------------------------------------------------------------- canonical */

/* depth is never written: blocks is its resolved form, so `depth 152` and
 * `blocks 3 8 36 3` print (and fingerprint) the same. classes is left out
 * unless the head is dense, where it is meaningful (and allowed). */
void spec_canonical(const Spec *s, StrBuf *out) {
  char num[32];
  for (int k = 0; k < SPEC_KEY_COUNT; k++) {
    const char *key = key_names[k];
    switch ((SpecKey)k) {
    case KEY_DEPTH:
      break;
    case KEY_BLOCKS:
      sb_printf(out, "%s %d %d %d %d\n", key, s->blocks[0], s->blocks[1], s->blocks[2],
                s->blocks[3]);
      break;
    case KEY_HEIGHT:
      sb_printf(out, "%s %d\n", key, s->height);
      break;
    case KEY_WIDTH:
      sb_printf(out, "%s %d\n", key, s->width);
      break;
    case KEY_CHANNELS:
      sb_printf(out, "%s %d\n", key, s->channels);
      break;
    case KEY_BATCH:
      sb_printf(out, "%s %d\n", key, s->batch);
      break;
    case KEY_WIDTHS:
      sb_printf(out, "%s %d %d %d %d\n", key, s->widths[0], s->widths[1], s->widths[2],
                s->widths[3]);
      break;
    case KEY_WIDTH_MULTIPLIER:
      format_double(num, s->width_multiplier);
      sb_printf(out, "%s %s\n", key, num);
      break;
    case KEY_STEM_WIDTHS:
      sb_puts(out, key);
      for (int i = 0; i < s->nstem_widths; i++)
        sb_printf(out, " %d", s->stem_widths[i]);
      sb_puts(out, "\n");
      break;
    case KEY_SE_RATIO:
      format_double(num, s->se_ratio);
      sb_printf(out, "%s %s\n", key, num);
      break;
    case KEY_SE_ROUNDING: /* only when not the default: older fingerprints stay */
      if (s->se_rounding != SE_ROUND_KERAS)
        sb_printf(out, "%s %s\n", key, word_of(se_rounding_words, (int)s->se_rounding));
      break;
    case KEY_STEM:
      sb_printf(out, "%s %s\n", key, word_of(stem_words, (int)s->stem));
      break;
    case KEY_STEM_DOWNSAMPLE:
      sb_printf(out, "%s %s\n", key, word_of(stem_down_words, (int)s->stem_down));
      break;
    case KEY_SHORTCUT:
      sb_printf(out, "%s %s\n", key, word_of(shortcut_words, (int)s->shortcut));
      break;
    case KEY_STRIDE_ON:
      sb_printf(out, "%s %s\n", key, word_of(stride_on_words, (int)s->stride_on));
      break;
    case KEY_BN_EPS:
      format_double(num, s->bn_eps);
      sb_printf(out, "%s %s\n", key, num);
      break;
    case KEY_ACTIVATION:
      sb_printf(out, "%s %s\n", key, word_of(act_words, (int)s->act));
      break;
    case KEY_CLASSES:
      if (s->head == HEAD_DENSE)
        sb_printf(out, "%s %d\n", key, s->classes);
      break;
    case KEY_HEAD:
      sb_printf(out, "%s %s\n", key, word_of(head_words, (int)s->head));
      break;
    case KEY_CLASSIFIER_ACTIVATION:
      sb_printf(out, "%s %s\n", key, word_of(cls_act_words, (int)s->classifier_act));
      break;
    case KEY_INPUT_TYPE:
      sb_printf(out, "%s %s\n", key, word_of(input_type_words, (int)s->input_type));
      break;
    case KEY_INPUT_LAYOUT:
      sb_printf(out, "%s %s\n", key, word_of(input_layout_words, (int)s->input_layout));
      break;
    case KEY_PREPROCESS:
      sb_printf(out, "%s %s\n", key, word_of(preprocess_words, (int)s->preprocess));
      break;
    case KEY_PRECISION: /* only when not fp32: fp32 fingerprints stay */
      if (s->precision != PRECISION_FP32)
        sb_printf(out, "%s %s\n", key, word_of(precision_words, (int)s->precision));
      break;
    case KEY_OUTPUTS:
      if (s->outputs != ENDPOINTS_DEFAULT) {
        sb_puts(out, key);
        for (int e = 0; e < RSC_ENDPOINTS; e++)
          if (s->outputs & ENDPOINT_BIT(e))
            sb_printf(out, " %s", endpoint_names[e]);
        sb_puts(out, "\n");
      }
      break;
    case SPEC_KEY_COUNT:
      break;
    }
  }
}
