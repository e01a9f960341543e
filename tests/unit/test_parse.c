/*
 * test_parse.c - the spec language: good specs resolve to the documented
 * fields, every class of error prints its exact GCC-style message (captured
 * through a memstream), the command line overrides the file, and the
 * canonical text parses back to itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rsc.h"

#include <stdlib.h>
#include <string.h>

/* One parse run: the spec, its sources and everything diagnosed. */
typedef struct Run {
  Spec s;
  SrcFile file, cmd;
  Diag d;
  FILE *out;
  char *msgs;
  size_t msgs_len;
  bool ok;
} Run;

static void run_open(Run *r) {
  memset(r, 0, sizeof *r);
  r->out = open_memstream(&r->msgs, &r->msgs_len);
  assert_non_null(r->out);
  diag_init(&r->d, r->out);
  spec_defaults(&r->s);
}

static void run_close(Run *r) {
  fclose(r->out);
  free(r->msgs);
}

static const char *msgs(Run *r) {
  fflush(r->out);
  return r->msgs;
}

/* Parses text as "t.spec" and, when cmd is not NULL, cmd as "<command line>";
 * finishes only if parsing went well (as main.c does). */
static bool run_spec2(Run *r, const char *text, size_t len, const char *cmd) {
  run_open(r);
  r->file = (SrcFile){"t.spec", text, len};
  r->ok = spec_parse(&r->s, &r->file, &r->d);
  if (cmd) {
    r->cmd = (SrcFile){"<command line>", cmd, strlen(cmd)};
    r->ok = r->ok && spec_parse(&r->s, &r->cmd, &r->d);
  }
  r->ok = r->ok && spec_finish(&r->s, &r->d);
  return r->ok;
}

static bool run_spec(Run *r, const char *text) { return run_spec2(r, text, strlen(text), NULL); }

/* text must fail with exactly the diagnostics want. */
static void expect_error(const char *text, const char *want) {
  Run r;
  if (run_spec(&r, text))
    fail_msg("spec was accepted:\n%s", text);
  assert_string_equal(msgs(&r), want);
  run_close(&r);
}

/* text must fail and the diagnostics must contain want. */
static void expect_error_has(const char *text, const char *want) {
  Run r;
  if (run_spec(&r, text))
    fail_msg("spec was accepted:\n%s", text);
  if (!strstr(msgs(&r), want))
    fail_msg("for:\n%s\nwanted '%s' in:\n%s", text, want, msgs(&r));
  run_close(&r);
}

static void expect_ok(Run *r, const char *text) {
  if (!run_spec(r, text))
    fail_msg("spec rejected:\n%s\n%s", text, msgs(r));
  assert_string_equal(msgs(r), "");
}

static void assert_ints(const int *got, int a, int b, int c, int d) {
  assert_int_equal(got[0], a);
  assert_int_equal(got[1], b);
  assert_int_equal(got[2], c);
  assert_int_equal(got[3], d);
}

/* ---------------------------------------------------------------- good specs */

static void test_key_names(void **state) {
  (void)state;
#define X(id, name) assert_string_equal(spec_key_name(KEY_##id), name);
  SPEC_KEYS(X)
#undef X
}

static void test_defaults(void **state) {
  (void)state;
  Run r;
  expect_ok(&r, "depth 152\n");
  Spec *s = &r.s;
  assert_int_equal(s->depth, 152);
  assert_ints(s->blocks, 3, 8, 36, 3);
  assert_int_equal(s->height, 224);
  assert_int_equal(s->width, 224);
  assert_int_equal(s->channels, 3);
  assert_int_equal(s->batch, 1);
  assert_ints(s->widths, 64, 128, 256, 512);
  assert_ints(s->planes, 64, 128, 256, 512);
  assert_true(s->width_multiplier == 1.0);
  assert_int_equal(s->nstem_widths, 3);
  assert_int_equal(s->stem_out[0], 32);
  assert_int_equal(s->stem_out[1], 32);
  assert_int_equal(s->stem_out[2], 64);
  assert_true(s->se_ratio == 0.25);
  assert_int_equal(s->stem, STEM_DEEP);
  assert_int_equal(s->stem_down, STEM_DOWN_CONV);
  assert_int_equal(s->shortcut, SHORTCUT_AVGPOOL);
  assert_int_equal(s->stride_on, STRIDE_ON_3X3);
  assert_true(s->bn_eps == 1e-5);
  assert_int_equal(s->act, ACT_RELU);
  assert_int_equal(s->classes, 1000);
  assert_int_equal(s->head, HEAD_DENSE);
  assert_int_equal(s->classifier_act, ACT_NONE);
  /* Only depth was set. */
  assert_ptr_equal(s->loc[KEY_DEPTH].file, &r.file);
  for (int k = 1; k < SPEC_KEY_COUNT; k++)
    assert_null(s->loc[k].file);
  run_close(&r);
}

static void test_presets(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int b[4];
  } cases[] = {
      {"depth 50", {3, 4, 6, 3}},    {"depth 101", {3, 4, 23, 3}},  {"depth 152", {3, 8, 36, 3}},
      {"depth 200", {3, 24, 36, 3}}, {"depth 270", {4, 29, 53, 4}}, {"depth 350", {4, 36, 72, 4}},
      {"depth 420", {4, 44, 87, 4}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Run r;
    expect_ok(&r, cases[i].text);
    assert_ints(r.s.blocks, cases[i].b[0], cases[i].b[1], cases[i].b[2], cases[i].b[3]);
    run_close(&r);
  }
}

static void test_every_key(void **state) {
  (void)state;
  Run r;
  expect_ok(&r, "# a custom network\n"
                "blocks 1 2 3 4\n"
                "height 97\n"
                "width 131\n"
                "channels 1\n"
                "batch 5\n"
                "widths 10 20 30 40\n"
                "width_multiplier 0.5\n"
                "stem_widths 8 16 24\n"
                "se_ratio 0\n"
                "se_rounding timm\n"
                "stem deep\n"
                "stem_downsample maxpool\n"
                "shortcut strided\n"
                "stride_on 1x1\n"
                "bn_eps 1e-3\n"
                "activation silu\n"
                "classes 10\n"
                "head dense\n"
                "classifier_activation softmax\n"
                "input_type u8\n"
                "input_layout nchw\n"
                "preprocess none\n"
                "outputs c3 head\n"
                "precision bf16\n");
  Spec *s = &r.s;
  assert_int_equal(s->depth, 0);
  assert_ints(s->blocks, 1, 2, 3, 4);
  assert_int_equal(s->height, 97);
  assert_int_equal(s->width, 131);
  assert_int_equal(s->channels, 1);
  assert_int_equal(s->batch, 5);
  assert_ints(s->widths, 10, 20, 30, 40);
  assert_ints(s->planes, 5, 10, 15, 20);
  assert_int_equal(s->stem_out[0], 4);
  assert_int_equal(s->stem_out[1], 8);
  assert_int_equal(s->stem_out[2], 12);
  assert_true(s->se_ratio == 0);
  assert_int_equal(s->se_rounding, SE_ROUND_TIMM);
  assert_int_equal(s->stem_down, STEM_DOWN_MAXPOOL);
  assert_int_equal(s->shortcut, SHORTCUT_STRIDED);
  assert_int_equal(s->stride_on, STRIDE_ON_1X1);
  assert_true(s->bn_eps == 1e-3);
  assert_int_equal(s->act, ACT_SWISH);
  assert_int_equal(s->classes, 10);
  assert_int_equal(s->classifier_act, ACT_SOFTMAX);
  assert_int_equal(s->input_type, INPUT_U8);
  assert_int_equal(s->input_layout, INPUT_NCHW);
  assert_int_equal(s->preprocess, PREPROCESS_NONE);
  assert_int_equal(s->outputs, ENDPOINT_BIT(ENDPOINT_C3) | ENDPOINT_BIT(ENDPOINT_HEAD));
  assert_int_equal(s->precision, PRECISION_BF16);
  /* loc is the key word. */
  assert_int_equal(s->loc[KEY_CLASSES].line, 18);
  assert_int_equal(s->loc[KEY_CLASSES].col, 1);
  assert_int_equal(s->loc[KEY_CLASSES].len, 7);
  for (int k = 1; k < SPEC_KEY_COUNT; k++)
    assert_non_null(s->loc[k].file);
  run_close(&r);
}

static void test_lexical(void **state) {
  (void)state;
  Run r;
  /* Tabs, CRLF, commas with and without blanks, comments everywhere, a BOM. */
  expect_ok(&r, "\xef\xbb\xbf# header\r\n"
                "\r\n"
                "   \t depth\t101   # trailing comment\r\n"
                "widths 1,2 ,3 , 4\n"
                "stem_widths 5,6,7# no blank before the comment\n"
                "#only a comment\n"
                "   \n"
                "height 64"); /* no final newline */
  assert_ints(r.s.blocks, 3, 4, 23, 3);
  assert_ints(r.s.widths, 1, 2, 3, 4);
  assert_int_equal(r.s.stem_widths[2], 7);
  assert_int_equal(r.s.height, 64);
  assert_int_equal(r.s.width, 64);
  assert_int_equal(r.s.loc[KEY_DEPTH].line, 3);
  assert_int_equal(r.s.loc[KEY_DEPTH].col, 6);
  assert_int_equal(r.s.loc[KEY_DEPTH].len, 5);
  run_close(&r);
  /* UTF-8 in a comment is fine; '+' signs and leading zeros are decimal. */
  expect_ok(&r, "# Größe — ResNet\ndepth +050\nse_ratio .5\nbn_eps 1E-5\n");
  assert_int_equal(r.s.depth, 50);
  assert_true(r.s.se_ratio == 0.5);
  run_close(&r);
  /* An empty file is only missing its depth. */
  expect_error("", "rsc: error: no depth given: set 'depth' (50, 101, 152, 200, 270, 350 or 420) "
                   "or 'blocks A B C D'\n");
}

static void test_height_width(void **state) {
  (void)state;
  Run r;
  expect_ok(&r, "depth 50\nwidth 100\n");
  assert_int_equal(r.s.height, 100);
  assert_int_equal(r.s.width, 100);
  run_close(&r);
  expect_ok(&r, "depth 50\nheight 90\n");
  assert_int_equal(r.s.height, 90);
  assert_int_equal(r.s.width, 90);
  run_close(&r);
  expect_ok(&r, "depth 50\nheight 90\nwidth 1\n");
  assert_int_equal(r.s.height, 90);
  assert_int_equal(r.s.width, 1);
  run_close(&r);
}

static void test_multiplier(void **state) {
  (void)state;
  Run r;
  /* Round half up, never below 1. */
  expect_ok(&r, "depth 50\nwidth_multiplier 0.3\nwidths 64 5 1 2\nstem_widths 32 1 64\n");
  assert_ints(r.s.planes, 19, 2, 1, 1); /* 19.2, 1.5, 0.3, 0.6 */
  assert_int_equal(r.s.stem_out[0], 10);
  assert_int_equal(r.s.stem_out[1], 1);
  assert_int_equal(r.s.stem_out[2], 19);
  assert_ints(r.s.widths, 64, 5, 1, 2); /* unscaled */
  run_close(&r);
  expect_ok(&r, "depth 50\nwidth_multiplier 64\n");
  assert_ints(r.s.planes, 4096, 8192, 16384, 32768);
  run_close(&r);
}

static void test_stem_classic(void **state) {
  (void)state;
  Run r;
  expect_ok(&r, "depth 50\nstem classic\n");
  assert_int_equal(r.s.nstem_widths, 1);
  assert_int_equal(r.s.stem_widths[0], 64);
  assert_int_equal(r.s.stem_out[0], 64);
  run_close(&r);
  expect_ok(&r, "depth 50\nstem classic\nstem_widths 48\nwidth_multiplier 0.5\n");
  assert_int_equal(r.s.nstem_widths, 1);
  assert_int_equal(r.s.stem_out[0], 24);
  run_close(&r);
}

static void test_heads(void **state) {
  (void)state;
  Run r;
  expect_ok(&r, "depth 50\nhead none\n");
  assert_int_equal(r.s.head, HEAD_NONE);
  run_close(&r);
  expect_ok(&r, "depth 50\nhead max\nclassifier_activation none\n");
  assert_int_equal(r.s.head, HEAD_MAX);
  run_close(&r);
  expect_ok(&r, "depth 50\nhead avg\n");
  assert_int_equal(r.s.head, HEAD_AVG);
  run_close(&r);
}

/* ---------------------------------------------------------------- errors */

static void test_unknown_key(void **state) {
  (void)state;
  expect_error("depth 50\nse_ration 0.5\n",
               "t.spec:2:1: error: unknown key 'se_ration'; did you mean 'se_ratio'?\n"
               " se_ration 0.5\n"
               " ^~~~~~~~~\n");
  expect_error("depth 50\n  frobnicate 1\n", "t.spec:2:3: error: unknown key 'frobnicate'\n"
                                             "   frobnicate 1\n"
                                             "   ^~~~~~~~~~\n");
  /* The CLI spelling in a file, and a case slip. */
  expect_error_has("depth 50\nse-ratio 0\n", "unknown key 'se-ratio'; did you mean 'se_ratio'?");
  expect_error_has("Depth 50\n", "unknown key 'Depth'; did you mean 'depth'?");
  expect_error_has("depth 50\nwidht 3\n", "unknown key 'widht'; did you mean 'width'?");
}

static void test_bad_numbers(void **state) {
  (void)state;
  expect_error("depth 15x\n", "t.spec:1:7: error: 'depth' needs an integer, not '15x'\n"
                              " depth 15x\n"
                              "       ^~~\n");
  expect_error_has("depth 50\nheight 0x40\n", "'height' needs an integer, not '0x40'");
  expect_error_has("depth 50\nheight 1e2\n", "'height' needs an integer, not '1e2'");
  expect_error_has("depth 50\nheight 64.0\n", "'height' needs an integer, not '64.0'");
  expect_error_has("depth 50\nheight -\n", "'height' needs an integer, not '-'");
  expect_error("depth 50\nse_ratio nan\n", "t.spec:2:10: error: 'se_ratio' needs a number, not "
                                           "'nan'\n"
                                           " se_ratio nan\n"
                                           "          ^~~\n");
  expect_error_has("depth 50\nse_ratio inf\n", "'se_ratio' needs a number, not 'inf'");
  expect_error_has("depth 50\nse_ratio -INF\n", "'se_ratio' needs a number, not '-INF'");
  expect_error_has("depth 50\nse_ratio 0x1p-2\n", "'se_ratio' needs a number, not '0x1p-2'");
  expect_error_has("depth 50\nse_ratio 0.5.\n", "'se_ratio' needs a number, not '0.5.'");
  expect_error_has("depth 50\nse_ratio .\n", "'se_ratio' needs a number, not '.'");
  expect_error_has("depth 50\nse_ratio 1e\n", "'se_ratio' needs a number, not '1e'");
}

static void test_out_of_range(void **state) {
  (void)state;
  expect_error("depth 50\nheight 65537\n", "t.spec:2:8: error: 'height' must be in 1..65536, "
                                           "not 65537\n"
                                           " height 65537\n"
                                           "        ^~~~~\n");
  expect_error_has("depth 51\n", "'depth' must be one of 50, 101, 152, 200, 270, 350 or 420, "
                                 "not 51");
  expect_error_has("depth 50\nwidth 0\n", "'width' must be in 1..65536, not 0");
  expect_error_has("depth 50\nbatch -1\n", "'batch' must be in 1..4096, not -1");
  expect_error_has("depth 50\nchannels 4097\n", "'channels' must be in 1..4096, not 4097");
  expect_error_has("depth 50\nclasses 1000001\n", "'classes' must be in 1..1000000, not 1000001");
  expect_error_has("depth 50\nclasses 99999999999999999999999\n",
                   "'classes' must be in 1..1000000, not 99999999999999999999999");
  expect_error_has("blocks 1 1001 1 1\n", "t.spec:1:10: error: 'blocks' must be in 1..1000, "
                                          "not 1001");
  expect_error_has("depth 50\nwidths 1 2 3 0\n", "'widths' must be in 1..65536, not 0");
  expect_error_has("depth 50\nstem_widths 1 65537 1\n", "'stem_widths' must be in 1..65536");
  expect_error_has("depth 50\nse_ratio 1.5\n", "'se_ratio' must be in [0, 1], not 1.5");
  expect_error_has("depth 50\nse_ratio -0.1\n", "'se_ratio' must be in [0, 1], not -0.1");
  expect_error_has("depth 50\nwidth_multiplier 0\n",
                   "'width_multiplier' must be in (0, 64], not 0");
  expect_error_has("depth 50\nwidth_multiplier 64.001\n",
                   "'width_multiplier' must be in (0, 64], not 64.001");
  expect_error_has("depth 50\nbn_eps 0\n", "'bn_eps' must be in (0, 1], not 0");
  /* Beyond a double: reported as such, not read as 0 or inf (se_ratio 1e-400 was 0, accepted). */
  expect_error_has("depth 50\nbn_eps 1e-400\n",
                   "'bn_eps' value 1e-400 is out of range (too small for a double)");
  expect_error_has("depth 50\nbn_eps 1e400\n",
                   "'bn_eps' value 1e400 is out of range (too large for a double)");
  expect_error_has("depth 50\nse_ratio 1e-400\n",
                   "'se_ratio' value 1e-400 is out of range (too small for a double)");
  expect_error_has("depth 50\nwidth_multiplier -1e999\n",
                   "'width_multiplier' value -1e999 is out of range (too large for a double)");
  expect_error_has("depth 99999999999999999999\n",
                   "'depth' must be one of 50, 101, 152, 200, 270, 350 or 420, not "
                   "99999999999999999999 (");
}

static void test_bad_words(void **state) {
  (void)state;
  expect_error("depth 50\nstem dep\n", "t.spec:2:6: error: 'stem' must be 'deep' or 'classic', "
                                       "not 'dep'\n"
                                       " stem dep\n"
                                       "      ^~~\n");
  expect_error_has("depth 50\nactivation gelu\n",
                   "'activation' must be 'relu', 'swish' or 'silu', not 'gelu'");
  expect_error_has("depth 50\nhead mean\n",
                   "'head' must be 'dense', 'avg', 'max' or 'none', not 'mean'");
  expect_error_has("depth 50\nstem_downsample pool\n",
                   "'stem_downsample' must be 'conv' or 'maxpool', not 'pool'");
  expect_error_has("depth 50\nshortcut conv\n",
                   "'shortcut' must be 'avgpool' or 'strided', not 'conv'");
  expect_error_has("depth 50\nstride_on 3X3\n", "'stride_on' must be '3x3' or '1x1', not '3X3'");
  expect_error_has("depth 50\nclassifier_activation sigmoid\n",
                   "'classifier_activation' must be 'none' or 'softmax', not 'sigmoid'");
  expect_error_has("depth 50\ninput_type uint8\n", "'input_type' must be 'f32' or 'u8', not 'uint8'");
  expect_error_has("depth 50\ninput_layout NCHW\n",
                   "'input_layout' must be 'nhwc' or 'nchw', not 'NCHW'");
  expect_error_has("depth 50\npreprocess keras\n",
                   "'preprocess' must be 'none' or 'imagenet', not 'keras'");
}

static void test_input_format(void **state) {
  (void)state;
  Run r;
  expect_ok(&r, "depth 50\n");
  assert_int_equal(r.s.input_type, INPUT_F32);
  assert_int_equal(r.s.input_layout, INPUT_NHWC);
  assert_int_equal(r.s.preprocess, PREPROCESS_NONE);
  run_close(&r);
  expect_ok(&r, "depth 50\ninput_type u8\ninput_layout nchw\npreprocess imagenet\n");
  assert_int_equal(r.s.input_type, INPUT_U8);
  assert_int_equal(r.s.input_layout, INPUT_NCHW);
  assert_int_equal(r.s.preprocess, PREPROCESS_IMAGENET);
  run_close(&r);
  /* The ImageNet mean and std have three channels. */
  expect_error("depth 50\nchannels 1\npreprocess imagenet\n",
               "t.spec:3:1: error: inconsistent settings: 'preprocess imagenet' needs 3 (RGB) "
               "channels, not 1\n"
               " preprocess imagenet\n"
               " ^~~~~~~~~~\n"
               "t.spec:2:1: note: 'channels' set here\n"
               " channels 1\n"
               " ^~~~~~~~\n");
  /* Without preprocessing any channel count takes bytes. */
  expect_ok(&r, "depth 50\nchannels 1\ninput_type u8\n");
  run_close(&r);
}

static void test_outputs(void **state) {
  (void)state;
  Run r;
  expect_ok(&r, "depth 50\n");
  assert_int_equal(r.s.outputs, ENDPOINTS_DEFAULT);
  assert_int_equal(ENDPOINTS_DEFAULT, ENDPOINT_BIT(ENDPOINT_HEAD));
  run_close(&r);
  /* Any order, any separator; the set is what counts. */
  expect_ok(&r, "depth 50\noutputs head, c5 c2,c4 ,c3\n");
  assert_int_equal(r.s.outputs, 0x1f);
  run_close(&r);
  expect_ok(&r, "depth 50\noutputs c4\nhead none\n");
  assert_int_equal(r.s.outputs, ENDPOINT_BIT(ENDPOINT_C4));
  run_close(&r);
  static const char *const names[RSC_ENDPOINTS] = {"c2", "c3", "c4", "c5", "head"};
  for (int e = 0; e < RSC_ENDPOINTS; e++)
    assert_string_equal(endpoint_name((Endpoint)e), names[e]);
  /* The command line overrides the file's list, not adds to it. */
  const char *file = "depth 50\noutputs c2 c3\n";
  assert_true(run_spec2(&r, file, strlen(file), "outputs c5\n"));
  assert_int_equal(r.s.outputs, ENDPOINT_BIT(ENDPOINT_C5));
  run_close(&r);
  expect_error("depth 50\noutputs\n", "t.spec:2:1: error: missing value for 'outputs'\n"
                                      " outputs\n"
                                      " ^~~~~~~\n");
  expect_error("depth 50\noutputs c1,C3 head\n",
               "t.spec:2:9: error: 'outputs' values must be 'c2', 'c3', 'c4', 'c5' or 'head', "
               "not 'c1'\n"
               " outputs c1,C3 head\n"
               "         ^~\n"
               "t.spec:2:12: error: 'outputs' values must be 'c2', 'c3', 'c4', 'c5' or 'head', "
               "not 'C3'\n"
               " outputs c1,C3 head\n"
               "            ^~\n");
  expect_error("depth 50\noutputs head c3 head\n", "t.spec:2:17: error: 'outputs' lists 'head' twice\n"
                                                   " outputs head c3 head\n"
                                                   "                 ^~~~\n");
  expect_error("depth 50\noutputs c2 c3 c4 c5 head logits\n",
               "t.spec:2:26: error: 'outputs' takes at most 5 values (c2 c3 c4 c5 head), got 6\n"
               " outputs c2 c3 c4 c5 head logits\n"
               "                          ^~~~~~\n");
  expect_error_has("depth 50\noutputs c2\noutputs c3\n", "duplicate key 'outputs'");
}

static void test_counts(void **state) {
  (void)state;
  expect_error("depth 50 101\n", "t.spec:1:10: error: 'depth' takes 1 value, got 2\n"
                                 " depth 50 101\n"
                                 "          ^~~\n");
  expect_error("depth 50\nwidths 1 2 3\n", "t.spec:2:8: error: 'widths' takes 4 values, got 3\n"
                                           " widths 1 2 3\n"
                                           "        ^~~~~\n");
  /* Extra values: the caret spans all of them, even past the ones stored. */
  expect_error("blocks 1,2,3,4,5,6,7\n", "t.spec:1:16: error: 'blocks' takes 4 values, got 7\n"
                                         " blocks 1,2,3,4,5,6,7\n"
                                         "                ^~~~~\n");
  expect_error("depth\n", "t.spec:1:1: error: missing value for 'depth'\n"
                          " depth\n"
                          " ^~~~~\n");
  expect_error_has("depth 50\nstem_widths 1 2\n", "'stem_widths' takes 1 or 3 values, got 2");
  expect_error_has("depth 50\nstem_widths 1 2 3 4\n", "t.spec:2:19: error: 'stem_widths' takes "
                                                      "1 or 3 values, got 4");
  expect_error_has("depth 50\nstem deep classic\n", "'stem' takes 1 value, got 2");
}

static void test_commas(void **state) {
  (void)state;
  expect_error("depth 50\nwidths 1,,2,3,4\n",
               "t.spec:2:10: error: unexpected ','; a ',' goes between two values\n"
               " widths 1,,2,3,4\n"
               "          ^\n");
  expect_error_has("depth 50\nwidths ,1,2,3,4\n", "t.spec:2:8: error: unexpected ','");
  expect_error_has("depth,50\n", "t.spec:1:6: error: unexpected ','");
  expect_error_has(",\n", "t.spec:1:1: error: unexpected ','");
  expect_error("depth 50\nwidths 1,2,3,4,\n",
               "t.spec:2:15: error: unexpected ',' after the last value\n"
               " widths 1,2,3,4,\n"
               "               ^\n");
  expect_error_has("depth 50\nwidths 1,2,3,4, # c\n", "unexpected ',' after the last value");
}

static void test_bad_bytes(void **state) {
  (void)state;
  Run r;
  static const char nul[] = "depth 50\nwidth 6\0004\n";
  assert_false(run_spec2(&r, nul, sizeof nul - 1, NULL));
  assert_string_equal(msgs(&r), "t.spec:2:8: error: invalid character 0x00\n"
                                " width 6\n" /* the quote stops at the NUL (%.*s) */
                                "        ^\n");
  run_close(&r);
  expect_error_has("depth 50\n# caf\xe9\n", "t.spec:2:6: error: invalid UTF-8 byte 0xe9");
  expect_error_has("depth 50\x1b\n", "t.spec:1:9: error: invalid character 0x1b");
  expect_error_has("depth 50\n# \xc0\xaf overlong\n", "invalid UTF-8 byte 0xc0");
}

static void test_duplicate(void **state) {
  (void)state;
  expect_error("depth 50\nwidth 64\nwidth 65\n", "t.spec:3:1: error: duplicate key 'width'\n"
                                                 " width 65\n"
                                                 " ^~~~~\n"
                                                 "t.spec:2:1: note: first set here\n"
                                                 " width 64\n"
                                                 " ^~~~~\n");
}

static void test_depth_and_blocks(void **state) {
  (void)state;
  expect_error("blocks 1 1 1 1\nheight 32\n  depth 50\n",
               "t.spec:3:3: error: inconsistent settings: both 'depth' and 'blocks' given; keep "
               "one\n"
               "   depth 50\n"
               "   ^~~~~\n"
               "t.spec:1:1: note: 'blocks' set here\n"
               " blocks 1 1 1 1\n"
               " ^~~~~~\n");
  expect_error("height 32\n",
               "rsc: error: no depth given: set 'depth' (50, 101, 152, 200, 270, 350 or 420) or "
               "'blocks A B C D'\n");
}

static void test_inconsistent(void **state) {
  (void)state;
  expect_error("depth 50\nstem_widths 64\n",
               "t.spec:2:1: error: inconsistent settings: 'stem_widths' has 1 value but 'stem "
               "deep' (the default) takes 3\n"
               " stem_widths 64\n"
               " ^~~~~~~~~~~\n");
  expect_error("depth 50\nstem_widths 8 8 8\nstem classic\n",
               "t.spec:2:1: error: inconsistent settings: 'stem_widths' has 3 values but 'stem "
               "classic' takes 1\n"
               " stem_widths 8 8 8\n"
               " ^~~~~~~~~~~\n"
               "t.spec:3:1: note: 'stem' set here\n"
               " stem classic\n"
               " ^~~~\n");
  expect_error("depth 50\nclassifier_activation softmax\nhead avg\n",
               "t.spec:2:1: error: inconsistent settings: 'classifier_activation softmax' needs "
               "'head dense', not 'head avg'\n"
               " classifier_activation softmax\n"
               " ^~~~~~~~~~~~~~~~~~~~~\n"
               "t.spec:3:1: note: 'head' set here\n"
               " head avg\n"
               " ^~~~\n");
  expect_error("depth 50\nhead none\nclasses 10\n",
               "t.spec:3:1: error: inconsistent settings: 'classes' needs 'head dense'; 'head "
               "none' has no classifier\n"
               " classes 10\n"
               " ^~~~~~~\n"
               "t.spec:2:1: note: 'head' set here\n"
               " head none\n"
               " ^~~~\n");
}

static void test_collects_all_errors(void **state) {
  (void)state;
  Run r;
  assert_false(run_spec(&r, "depht 50\nheight x\nstem dep\nwidth 64\nwidth 64\n"));
  assert_int_equal(r.d.errors, 4); /* spec_finish is not reached: no "no depth" */
  const char *m = msgs(&r);
  assert_non_null(strstr(m, "t.spec:1:1: error: unknown key 'depht'; did you mean 'depth'?"));
  assert_non_null(strstr(m, "t.spec:2:8: error: 'height' needs an integer"));
  assert_non_null(strstr(m, "t.spec:3:6: error: 'stem' must be"));
  assert_non_null(strstr(m, "t.spec:5:1: error: duplicate key 'width'"));
  run_close(&r);
  /* spec_finish also reports everything it finds. */
  assert_false(run_spec(&r, "stem_widths 1\nhead max\nclasses 3\nclassifier_activation softmax\n"));
  assert_int_equal(r.d.errors, 4);
  run_close(&r);
}

/* ---------------------------------------------------------------- override */

static void test_override(void **state) {
  (void)state;
  Run r;
  const char *f0 = "depth 152\nwidth 256\nse_ratio 0.25\n";
  assert_true(run_spec2(&r, f0, strlen(f0), "width 320\nse_ratio 0\nwidths 1,2,3,4\n"));
  assert_string_equal(msgs(&r), "");
  assert_int_equal(r.s.width, 320);
  assert_int_equal(r.s.height, 320);
  assert_true(r.s.se_ratio == 0);
  assert_ints(r.s.widths, 1, 2, 3, 4);
  assert_ptr_equal(r.s.loc[KEY_WIDTH].file, &r.cmd);
  assert_int_equal(r.s.loc[KEY_WIDTH].line, 1);
  assert_ptr_equal(r.s.loc[KEY_DEPTH].file, &r.file);
  run_close(&r);

  /* blocks on the command line replaces the file's depth, and the other way round. */
  const char *f1 = "depth 152\n";
  assert_true(run_spec2(&r, f1, strlen(f1), "blocks 1 1 1 1\n"));
  assert_int_equal(r.s.depth, 0);
  assert_ints(r.s.blocks, 1, 1, 1, 1);
  assert_null(r.s.loc[KEY_DEPTH].file);
  run_close(&r);
  const char *f2 = "blocks 1 1 1 1\n";
  assert_true(run_spec2(&r, f2, strlen(f2), "depth 50\n"));
  assert_int_equal(r.s.depth, 50);
  assert_ints(r.s.blocks, 3, 4, 6, 3);
  run_close(&r);

  /* The command line gets the same checks, under its own name. */
  assert_false(run_spec2(&r, f1, strlen(f1), "width 64\nwidth 65\n"));
  assert_string_equal(msgs(&r), "<command line>:2:1: error: duplicate key 'width'\n"
                                " width 65\n"
                                " ^~~~~\n"
                                "<command line>:1:1: note: first set here\n"
                                " width 64\n"
                                " ^~~~~\n");
  run_close(&r);
  /* head avg alone is fine: the default classes is not "set". */
  assert_true(run_spec2(&r, f1, strlen(f1), "head avg\n"));
  run_close(&r);
  /* A later head drops the earlier source's classifier keys; a later stem drops
   * the earlier source's stem_widths when they no longer fit. */
  const char *f3 = "depth 50\nclasses 10\nclassifier_activation softmax\nstem_widths 8 8 8\n";
  assert_true(run_spec2(&r, f3, strlen(f3), "head none\nstem classic\n"));
  assert_int_equal(r.s.head, HEAD_NONE);
  assert_int_equal(r.s.classes, 1000);
  assert_int_equal(r.s.classifier_act, ACT_NONE);
  assert_null(r.s.loc[KEY_CLASSES].file);
  assert_null(r.s.loc[KEY_CLASSIFIER_ACTIVATION].file);
  assert_int_equal(r.s.nstem_widths, 1);
  assert_int_equal(r.s.stem_out[0], 64);
  run_close(&r);
  /* ...but a dense head keeps them, and so does a stem they still fit. */
  assert_true(run_spec2(&r, f3, strlen(f3), "head dense\nstem deep\n"));
  assert_int_equal(r.s.classes, 10);
  assert_int_equal(r.s.classifier_act, ACT_SOFTMAX);
  assert_int_equal(r.s.stem_out[0], 8);
  run_close(&r);
  /* A later key that contradicts an earlier one is an error across sources. */
  const char *f4 = "depth 50\nhead none\nstem classic\n";
  assert_false(run_spec2(&r, f4, strlen(f4), "classes 10\nstem_widths 8,8,8\n"));
  assert_string_equal(msgs(&r), "<command line>:2:1: error: inconsistent settings: 'stem_widths' "
                                "has 3 values but 'stem classic' takes 1\n"
                                " stem_widths 8,8,8\n"
                                " ^~~~~~~~~~~\n"
                                "t.spec:3:1: note: 'stem' set here\n"
                                " stem classic\n"
                                " ^~~~\n"
                                "<command line>:1:1: error: inconsistent settings: 'classes' needs "
                                "'head dense'; 'head none' has no classifier\n"
                                " classes 10\n"
                                " ^~~~~~~\n"
                                "t.spec:2:1: note: 'head' set here\n"
                                " head none\n"
                                " ^~~~\n");
  run_close(&r);
  /* Every shipped-style spec (all keys explicit) takes a different head. */
  const char *f5 = "depth 50\nclasses 1000\nhead dense\nclassifier_activation none\n";
  assert_true(run_spec2(&r, f5, strlen(f5), "head avg\n"));
  run_close(&r);
}

/* ---------------------------------------------------------------- canonical */

static char *canonical(const Spec *s) {
  StrBuf sb = {0};
  spec_canonical(s, &sb);
  return sb.buf;
}

static void test_canonical_text(void **state) {
  (void)state;
  Run r;
  expect_ok(&r, "depth 152\nwidth 256\nactivation silu\n");
  char *c = canonical(&r.s);
  assert_string_equal(c, "blocks 3 8 36 3\n"
                         "height 256\n"
                         "width 256\n"
                         "channels 3\n"
                         "batch 1\n"
                         "widths 64 128 256 512\n"
                         "width_multiplier 1\n"
                         "stem_widths 32 32 64\n"
                         "se_ratio 0.25\n"
                         "stem deep\n"
                         "stem_downsample conv\n"
                         "shortcut avgpool\n"
                         "stride_on 3x3\n"
                         "bn_eps 1e-05\n"
                         "activation swish\n"
                         "classes 1000\n"
                         "head dense\n"
                         "classifier_activation none\n"
                         "input_type f32\n"
                         "input_layout nhwc\n"
                         "preprocess none\n");
  free(c);
  run_close(&r);
  /* depth and its blocks print the same. */
  Run a, b;
  expect_ok(&a, "depth 50\n");
  expect_ok(&b, "blocks 3,4,6,3\n");
  char *ca = canonical(&a.s), *cb = canonical(&b.s);
  assert_string_equal(ca, cb);
  free(ca);
  free(cb);
  run_close(&a);
  run_close(&b);
  /* outputs: written only when not the default, in API order. */
  expect_ok(&r, "depth 50\noutputs head,c4 c2\n");
  c = canonical(&r.s);
  assert_non_null(strstr(c, "preprocess none\noutputs c2 c4 head\n"));
  free(c);
  run_close(&r);
}

static void test_canonical_round_trip(void **state) {
  (void)state;
  static const char *const specs[] = {
      "depth 50\n",
      "depth 420\nheight 320\nwidth 300\nclassifier_activation softmax\nclasses 7\n",
      "depth 50\nstem classic\nstem_downsample maxpool\nshortcut strided\nse_ratio 0\n",
      "blocks 1 2 3 4\nwidth_multiplier 0.1\nbn_eps 0.001\nse_ratio 0.3\nhead none\n",
      "depth 101\nhead avg\nactivation swish\nstride_on 1x1\nbatch 4096\nchannels 4096\n",
      "depth 200\nhead max\nwidth_multiplier 1.7\nstem_widths 3 5 7\nwidths 9 9 9 9\n",
      "depth 50\ninput_type u8\ninput_layout nchw\npreprocess imagenet\n",
      "depth 50\noutputs head c2 c5\n",
      "depth 50\nhead none\noutputs c4\n",
  };
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
    Run r1, r2;
    expect_ok(&r1, specs[i]);
    char *c1 = canonical(&r1.s);
    expect_ok(&r2, c1);
    char *c2 = canonical(&r2.s);
    assert_string_equal(c1, c2);
    /* The resolved network is the same. */
    assert_memory_equal(r1.s.blocks, r2.s.blocks, sizeof r1.s.blocks);
    assert_memory_equal(r1.s.planes, r2.s.planes, sizeof r1.s.planes);
    assert_memory_equal(r1.s.stem_out, r2.s.stem_out, sizeof r1.s.stem_out);
    assert_int_equal(r1.s.nstem_widths, r2.s.nstem_widths);
    assert_true(r1.s.width_multiplier == r2.s.width_multiplier);
    assert_true(r1.s.se_ratio == r2.s.se_ratio);
    assert_true(r1.s.bn_eps == r2.s.bn_eps);
    assert_int_equal(r1.s.height, r2.s.height);
    assert_int_equal(r1.s.width, r2.s.width);
    assert_int_equal(r1.s.head, r2.s.head);
    assert_int_equal(r1.s.classes, r2.s.classes);
    assert_int_equal(r1.s.classifier_act, r2.s.classifier_act);
    assert_int_equal(r1.s.input_type, r2.s.input_type);
    assert_int_equal(r1.s.input_layout, r2.s.input_layout);
    assert_int_equal(r1.s.preprocess, r2.s.preprocess);
    assert_int_equal(r1.s.outputs, r2.s.outputs);
    free(c1);
    free(c2);
    run_close(&r1);
    run_close(&r2);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_names),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_presets),
      cmocka_unit_test(test_every_key),
      cmocka_unit_test(test_lexical),
      cmocka_unit_test(test_height_width),
      cmocka_unit_test(test_multiplier),
      cmocka_unit_test(test_stem_classic),
      cmocka_unit_test(test_heads),
      cmocka_unit_test(test_unknown_key),
      cmocka_unit_test(test_bad_numbers),
      cmocka_unit_test(test_out_of_range),
      cmocka_unit_test(test_bad_words),
      cmocka_unit_test(test_outputs),
      cmocka_unit_test(test_counts),
      cmocka_unit_test(test_commas),
      cmocka_unit_test(test_bad_bytes),
      cmocka_unit_test(test_duplicate),
      cmocka_unit_test(test_depth_and_blocks),
      cmocka_unit_test(test_inconsistent),
      cmocka_unit_test(test_input_format),
      cmocka_unit_test(test_collects_all_errors),
      cmocka_unit_test(test_override),
      cmocka_unit_test(test_canonical_text),
      cmocka_unit_test(test_canonical_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
