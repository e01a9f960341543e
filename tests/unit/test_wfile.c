/*
 * test_wfile.c - the .weights file: checksum, fingerprint, header and payload.
 *
 * The checksum is part of the file format (the generated loader recomputes
 * it), so it is tested against a slow transcription of the algorithm written
 * in wfile.c's comment, and pinned by fixed vectors the loader tests can share.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rsc.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- checksum */

/* The algorithm exactly as wfile.c's comment states it, one byte at a time. */
static uint64_t reference_checksum(const unsigned char *p, size_t n) {
  const uint64_t P = 0x100000001b3ull;
  uint64_t lane[4];
  for (int k = 0; k < 4; k++)
    lane[k] = 0xcbf29ce484222325ull ^ (uint64_t)k;
  for (size_t i = 0; i * 8 < n; i++) {
    uint64_t w = 0;
    for (size_t b = 0; b < 8 && i * 8 + b < n; b++)
      w |= (uint64_t)p[i * 8 + b] << (8 * b);
    lane[i % 4] = (lane[i % 4] ^ w) * P;
  }
  uint64_t h = n;
  for (int k = 0; k < 4; k++)
    h = (h ^ lane[k]) * P;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

static void fill(unsigned char *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (unsigned char)(seed >> 24);
  }
}

static void test_checksum_matches_reference(void **state) {
  (void)state;
  unsigned char buf[300];
  fill(buf, sizeof buf, 1);
  /* Every length through several rounds of 4 lanes, at every alignment. */
  for (size_t start = 0; start < 8; start++)
    for (size_t n = 0; start + n <= sizeof buf; n++)
      assert_true(wfile_checksum(buf + start, n) == reference_checksum(buf + start, n));
}

/* Fixed vectors: the generated loader's tests must produce the same. */
static void test_checksum_vectors(void **state) {
  (void)state;
  unsigned char seq[1000];
  for (int i = 0; i < 1000; i++)
    seq[i] = (unsigned char)i;
  assert_true(wfile_checksum("", 0) == 0xf225d52ce60d3bd6ull);
  assert_true(wfile_checksum("abc", 3) == 0x57a542e879ff45e4ull);
  assert_true(wfile_checksum(seq, 1000) == 0xbb5ae1ba257b6111ull);
}

static void test_checksum_detects_flips(void **state) {
  (void)state;
  unsigned char buf[256];
  fill(buf, sizeof buf, 2);
  uint64_t h = wfile_checksum(buf, sizeof buf);
  for (size_t i = 0; i < sizeof buf; i++) {
    for (int bit = 0; bit < 8; bit++) {
      buf[i] ^= (unsigned char)(1u << bit);
      assert_true(wfile_checksum(buf, sizeof buf) != h);
      buf[i] ^= (unsigned char)(1u << bit);
    }
  }
  assert_true(wfile_checksum(buf, sizeof buf) == h);
}

/* Trailing zero bytes are not invisible, nor a truncated file. */
static void test_checksum_length(void **state) {
  (void)state;
  unsigned char buf[64] = {1, 2, 3};
  for (size_t n = 1; n < sizeof buf; n++)
    assert_true(wfile_checksum(buf, n) != wfile_checksum(buf, n - 1));
}

/* Words swapped between lanes or within one lane change the sum. */
static void test_checksum_order(void **state) {
  (void)state;
  unsigned char a[64], b[64];
  fill(a, sizeof a, 3);
  uint64_t h = wfile_checksum(a, sizeof a);
  for (int i = 0; i < 8; i++)
    for (int j = i + 1; j < 8; j++) {
      memcpy(b, a, sizeof a);
      memcpy(b + 8 * i, a + 8 * j, 8);
      memcpy(b + 8 * j, a + 8 * i, 8);
      assert_true(wfile_checksum(b, sizeof b) != h);
    }
}

/* The streaming form: any split of the data into three pieces (empty ones
 * and pieces that end inside a word included) gives wfile_checksum's value. */
static void test_checksum_pieces(void **state) {
  (void)state;
  unsigned char buf[200];
  fill(buf, sizeof buf, 4);
  for (size_t n = 0; n <= sizeof buf; n += 37)
    for (size_t a = 0; a <= n; a++)
      for (size_t b = a; b <= n; b++) {
        WfileSum s;
        wfile_sum_init(&s);
        wfile_sum_add(&s, buf, a);
        wfile_sum_add(&s, buf + a, b - a);
        wfile_sum_add(&s, buf + b, n - b);
        assert_true(wfile_sum_final(&s) == wfile_checksum(buf, n));
      }
}

/* ---------------------------------------------------------------- the file */

/* Three tensors: a and c used (packed at 0 and 32), b unused; 48 floats. */
static void make_graph(Graph *g) {
  Spec s;
  Diag d;
  diag_init(&d, stderr);
  spec_defaults(&s);
  /* Any valid spec; only its canonical text (the fingerprint) matters here. */
  static const char text[] = "depth 50\n";
  SrcFile f = {"t.spec", text, sizeof text - 1};
  assert_true(spec_parse(&s, &f, &d));
  assert_true(spec_finish(&s, &d));
  graph_init(g, &s);
  int da[4] = {4, 5, 1, 1}, db[1] = {7}, dc[1] = {5};
  /* Ids first: graph_add_tensor may move g->tensors. */
  int ia = graph_add_tensor(g, "a.weight", 4, da), ib = graph_add_tensor(g, "b.unused", 1, db);
  int ic = graph_add_tensor(g, "c.bias", 1, dc);
  Tensor *t = &g->tensors[ia];
  t->used = true;
  t->layout = LAYOUT_CONV_BLOCK;
  t->kb = 4;
  t->packed_floats = 20;
  t->packed = xmalloc(20 * sizeof(float));
  for (int i = 0; i < 20; i++)
    t->packed[i] = (float)i + 0.5f;
  t->offset = 0;
  t = &g->tensors[ib];
  t->used = false;
  t = &g->tensors[ic];
  t->used = true;
  t->layout = LAYOUT_VECTOR;
  t->kb = 4;
  t->packed_floats = 5;
  t->packed = xmalloc(5 * sizeof(float));
  for (int i = 0; i < 5; i++)
    t->packed[i] = -(float)i - 1;
  t->offset = 32;
  g->weight_floats = 48;
}

static uint64_t get_le(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static float get_f32(const unsigned char *p) {
  uint32_t u = (uint32_t)get_le(p, 4);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static void test_wfile_layout(void **state) {
  (void)state;
  Graph g;
  make_graph(&g);
  StrBuf out = {0};
  sb_puts(&out, "prefix"); /* wfile_build appends */
  wfile_build(&g, 0x0123456789abcdefull, &out);
  assert_int_equal(out.len, 6 + 64 + 48 * 4);
  assert_memory_equal(out.buf, "prefix", 6);
  const unsigned char *h = (const unsigned char *)out.buf + 6, *p = h + 64;
  assert_memory_equal(h, "RSCWGHT\0", 8);
  assert_int_equal(get_le(h + 8, 4), RSC_WFILE_VERSION);
  assert_int_equal(get_le(h + 12, 4), 64);
  assert_true(get_le(h + 16, 8) == 0x0123456789abcdefull);
  assert_int_equal(get_le(h + 24, 8), 48 * 4);
  assert_true(get_le(h + 32, 8) == wfile_checksum(p, 48 * 4));
  for (int i = 40; i < 64; i++)
    assert_int_equal(h[i], 0);
  for (int i = 0; i < 48; i++) {
    float want = i < 20 ? (float)i + 0.5f : i >= 32 && i < 37 ? -(float)(i - 32) - 1 : 0.0f;
    assert_true(get_f32(p + 4 * i) == want);
  }
  /* The header starts exactly as the loader reads it, byte for byte. */
  static const unsigned char start[16] = {'R', 'S', 'C', 'W', 'G', 'H', 'T', 0,
                                          1,   0,   0,   0,   64,  0,   0,   0};
  assert_memory_equal(h, start, 16);
  sb_free(&out);
  /* The precision's code at byte 40 (fp32 0, as above: the zeros of files
   * written before the field); the rest stays zero. */
  g.spec.precision = PRECISION_BF16;
  wfile_build(&g, 0x0123456789abcdefull, &out);
  h = (const unsigned char *)out.buf;
  assert_int_equal(get_le(h + 40, 4), PRECISION_BF16);
  assert_int_equal(PRECISION_BF16, 1);
  for (int i = 44; i < 64; i++)
    assert_int_equal(h[i], 0);
  sb_free(&out);
  graph_free(&g);
}

static void test_wfile_empty_payload(void **state) {
  (void)state;
  Graph g;
  make_graph(&g);
  for (int i = 0; i < g.ntensors; i++)
    g.tensors[i].used = false;
  g.weight_floats = 0;
  StrBuf out = {0};
  wfile_build(&g, 1, &out);
  assert_int_equal(out.len, 64);
  assert_int_equal(get_le((unsigned char *)out.buf + 24, 8), 0);
  assert_true(get_le((unsigned char *)out.buf + 32, 8) == wfile_checksum("", 0));
  sb_free(&out);
  graph_free(&g);
}

/* A sink that records what wfile_write sends it, failing once more than
 * fail_after bytes would have been written. */
typedef struct Recorder {
  StrBuf sb;
  size_t fail_after;
  int writes;
} Recorder;

static bool rec_write(void *ctx, const void *data, size_t n) {
  Recorder *r = ctx;
  r->writes++;
  if (r->sb.len + n > r->fail_after)
    return false;
  sb_putn(&r->sb, data, n);
  return true;
}

static bool rec_patch(void *ctx, size_t offset, const void *data, size_t n) {
  Recorder *r = ctx;
  assert_true(offset + n <= r->sb.len); /* only what was written already */
  memcpy(r->sb.buf + offset, data, n);
  return true;
}

/* wfile_write streams exactly the bytes wfile_build assembles, and stops at
 * (and reports) a failing write. */
static void test_wfile_stream(void **state) {
  (void)state;
  Graph g;
  make_graph(&g);
  StrBuf built = {0};
  wfile_build(&g, 42, &built);
  Recorder r = {.fail_after = SIZE_MAX};
  WfileSink sink = {rec_write, rec_patch, &r};
  assert_true(wfile_write(&g, 42, &sink));
  assert_int_equal(r.sb.len, built.len);
  assert_memory_equal(r.sb.buf, built.buf, built.len);
  sb_free(&r.sb);

  Recorder bad = {.fail_after = 100};
  WfileSink bad_sink = {rec_write, rec_patch, &bad};
  assert_false(wfile_write(&g, 42, &bad_sink));
  assert_int_equal(bad.writes, 2); /* the header, then the failing payload: no more */
  sb_free(&bad.sb);
  sb_free(&built);
  graph_free(&g);
}

/* ---------------------------------------------------------------- fingerprint */

static void test_fingerprint(void **state) {
  (void)state;
  Graph a, b;
  make_graph(&a);
  make_graph(&b);
  uint64_t fa = graph_fingerprint(&a);
  assert_true(fa == graph_fingerprint(&b));

  /* Values and unused tensors do not matter... */
  b.tensors[0].packed[3] = 99;
  b.tensors[1].dims[0] = 8;
  b.tensors[1].offset = 1024;
  assert_true(fa == graph_fingerprint(&b));
  graph_free(&b);

  /* ...but every property of a used tensor's layout does. */
  for (int what = 0; what < 8; what++) {
    make_graph(&b);
    Tensor *t = &b.tensors[2];
    switch (what) {
    case 0:
      t->offset = 16;
      break;
    case 1:
      t->layout = LAYOUT_RAW;
      break;
    case 2:
      t->kb = 8;
      break;
    case 3:
      t->dims[0] = 6;
      break;
    case 4:
      t->packed_floats = 8;
      break;
    case 5:
      t->name[0] = 'd';
      break;
    case 6:
      b.tensors[1].used = true;
      break;
    case 7:
      b.spec.classes += 1;
      break;
    }
    if (graph_fingerprint(&b) == fa)
      fail_msg("change %d does not change the fingerprint", what);
    graph_free(&b);
  }
  graph_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_checksum_matches_reference),
      cmocka_unit_test(test_checksum_vectors),
      cmocka_unit_test(test_checksum_detects_flips),
      cmocka_unit_test(test_checksum_length),
      cmocka_unit_test(test_checksum_order),
      cmocka_unit_test(test_checksum_pieces),
      cmocka_unit_test(test_wfile_layout),
      cmocka_unit_test(test_wfile_empty_payload),
      cmocka_unit_test(test_wfile_stream),
      cmocka_unit_test(test_fingerprint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
