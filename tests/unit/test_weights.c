/*
 * test_weights.c - the safetensors importer and the random weights.
 *
 * Each test writes a small safetensors file (header JSON written by hand, data
 * bytes little-endian) into a temporary file and imports it into a tiny graph
 * whose tensors carry timm-like names. Diagnostics go to a memstream so the
 * tests can check that each error names the tensor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rsc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

typedef struct Fixture {
  Graph g;
  Diag d;
  char *msgs;
  size_t msgs_len;
  FILE *out;
  char path[64];
} Fixture;

static void add(Graph *g, const char *name, int ndim, int d0, int d1, int d2, int d3) {
  int dims[4] = {d0, d1, d2, d3};
  graph_add_tensor(g, name, ndim, dims);
}

/* The tensors every test file must provide. */
static void small_graph(Graph *g) {
  Spec s;
  memset(&s, 0, sizeof s);
  graph_init(g, &s);
  add(g, "conv.weight", 4, 2, 3, 1, 1);
  add(g, "bn.weight", 1, 2, 0, 0, 0);
  add(g, "bn.bias", 1, 2, 0, 0, 0);
  add(g, "bn.running_mean", 1, 2, 0, 0, 0);
  add(g, "bn.running_var", 1, 2, 0, 0, 0);
}

static int setup(void **state) {
  Fixture *f = calloc(1, sizeof *f);
  small_graph(&f->g);
  f->out = open_memstream(&f->msgs, &f->msgs_len);
  diag_init(&f->d, f->out);
  strcpy(f->path, "/tmp/rsc_test_weights_XXXXXX");
  int fd = mkstemp(f->path);
  assert_true(fd >= 0);
  close(fd);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  Fixture *f = *state;
  graph_free(&f->g);
  fclose(f->out);
  free(f->msgs);
  unlink(f->path);
  free(f);
  return 0;
}

/* What the importer printed so far. */
static const char *messages(Fixture *f) {
  fflush(f->out);
  return f->msgs ? f->msgs : "";
}

static void expect_message(Fixture *f, const char *needle) {
  const char *m = messages(f);
  if (!strstr(m, needle))
    fail_msg("expected \"%s\" in:\n%s", needle, m);
}

/* Writes u64 header length, header, data. */
static void write_raw(Fixture *f, const char *header, size_t hlen, const void *data, size_t len) {
  FILE *fp = fopen(f->path, "wb");
  assert_non_null(fp);
  unsigned char n[8];
  for (int i = 0; i < 8; i++)
    n[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  assert_int_equal(fwrite(n, 1, 8, fp), 8);
  assert_int_equal(fwrite(header, 1, hlen, fp), hlen);
  if (len)
    assert_int_equal(fwrite(data, 1, len, fp), len);
  assert_int_equal(fclose(fp), 0);
}

static void write_st(Fixture *f, const char *header, const void *data, size_t len) {
  write_raw(f, header, strlen(header), data, len);
}

static void put_f32(unsigned char *p, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(u >> (8 * i));
}

/* A correct F32 file for small_graph, values 1..14 in file order. The
 * optional extra text is spliced into the JSON after the last entry. */
static const char *const good_header =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[0,24]},"
    "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
    "\"bn.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"
    "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
    "\"bn.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]}%s}";

static size_t good_data(unsigned char *buf, size_t n) {
  for (size_t i = 0; i < n; i++)
    put_f32(buf + 4 * i, (float)(i + 1));
  return 4 * n;
}

static void write_good(Fixture *f, const char *extra, size_t extra_bytes) {
  unsigned char data[256];
  size_t len = good_data(data, 14 + extra_bytes / 4);
  char *h = xstrfmt(good_header, extra);
  write_st(f, h, data, len);
  free(h);
}

static bool load(Fixture *f) { return weights_load_safetensors(&f->g, f->path, &f->d); }

static void expect_failure(Fixture *f, const char *needle) {
  assert_false(load(f));
  assert_true(f->d.errors > 0);
  expect_message(f, needle);
  expect_message(f, f->path); /* every message names the file */
}

/* ---------------------------------------------------------------- import */

static void test_happy_path(void **state) {
  Fixture *f = *state;
  write_good(f, "", 0);
  assert_true(load(f));
  assert_int_equal(f->d.errors, 0);
  assert_string_equal(messages(f), "");
  const Tensor *t = &f->g.tensors[graph_find_tensor(&f->g, "conv.weight")];
  for (int i = 0; i < 6; i++)
    assert_true(t->data[i] == (float)(i + 1));
  t = &f->g.tensors[graph_find_tensor(&f->g, "bn.running_var")];
  assert_true(t->data[0] == 13 && t->data[1] == 14);
}

/* Writers pad the header with spaces to align the data. */
static void test_padded_header(void **state) {
  Fixture *f = *state;
  unsigned char data[64];
  size_t len = good_data(data, 14);
  char *h = xstrfmt(good_header, "");
  char *padded = xstrfmt("%s      ", h);
  write_st(f, padded, data, len);
  free(h);
  free(padded);
  assert_true(load(f));
}

static void test_num_batches_tracked_ignored(void **state) {
  Fixture *f = *state;
  /* An I64 counter of 8 bytes after the floats: ignored, not an error. */
  write_good(f, ",\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],"
                "\"data_offsets\":[56,64]}",
             8);
  assert_true(load(f));
  assert_int_equal(f->d.errors, 0);
}

static void test_missing(void **state) {
  Fixture *f = *state;
  add(&f->g, "layer1.0.conv1.weight", 4, 64, 64, 1, 1);
  write_good(f, "", 0);
  expect_failure(f, "missing tensor 'layer1.0.conv1.weight' [64,64,1,1]");
  assert_int_equal(f->d.errors, 1);
  assert_null(f->g.tensors[0].data); /* nothing converted from a bad file */
}

static void test_extra(void **state) {
  Fixture *f = *state;
  write_good(f, ",\"head.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[56,60]}", 4);
  expect_failure(f, "unexpected tensor 'head.weight'");
}

/* Every problem is reported, not just the first. */
static void test_all_problems_reported(void **state) {
  Fixture *f = *state;
  add(&f->g, "fc.bias", 1, 10, 0, 0, 0);
  write_good(f, ",\"head.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[56,60]}", 4);
  assert_false(load(f));
  assert_int_equal(f->d.errors, 2);
  expect_message(f, "unexpected tensor 'head.weight'");
  expect_message(f, "missing tensor 'fc.bias' [10]");
}

static void test_too_many_problems(void **state) {
  Fixture *f = *state;
  char name[32];
  for (int i = 0; i < 30; i++) {
    snprintf(name, sizeof name, "extra%d.weight", i);
    add(&f->g, name, 1, 3, 0, 0, 0);
  }
  write_good(f, "", 0);
  assert_false(load(f));
  assert_int_equal(f->d.errors, 21);
  expect_message(f, "10 more problems not shown");
}

static void test_wrong_shape(void **state) {
  Fixture *f = *state;
  /* conv.weight declared [2,3,1,1]; the file has [2,3,3,3] (216 bytes). */
  static const char *h =
      "{\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,3,3],\"data_offsets\":[0,216]},"
      "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[216,224]},"
      "\"bn.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[224,232]},"
      "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[232,240]},"
      "\"bn.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[240,248]}}";
  unsigned char data[248] = {0};
  write_st(f, h, data, sizeof data);
  expect_failure(f, "tensor 'conv.weight': expected [2,3,1,1], file has [2,3,3,3]");
  assert_int_equal(f->d.errors, 1);
}

static void test_wrong_rank(void **state) {
  Fixture *f = *state;
  static const char *h =
      "{\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
      "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
      "\"bn.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"
      "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
      "\"bn.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]}}";
  unsigned char data[56] = {0};
  write_st(f, h, data, sizeof data);
  expect_failure(f, "expected [2,3,1,1], file has [2,3]");
}

static void test_bad_dtype(void **state) {
  Fixture *f = *state;
  static const char *h =
      "{\"conv.weight\":{\"dtype\":\"I32\",\"shape\":[2,3,1,1],\"data_offsets\":[0,24]},"
      "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
      "\"bn.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"
      "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
      "\"bn.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]}}";
  unsigned char data[56] = {0};
  write_st(f, h, data, sizeof data);
  expect_failure(f, "tensor 'conv.weight': unsupported dtype 'I32'");
}

static void test_size_mismatch(void **state) {
  Fixture *f = *state;
  /* 6 floats need 24 bytes, the offsets give 20. */
  static const char *h =
      "{\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[0,20]},"
      "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
      "\"bn.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"
      "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
      "\"bn.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]}}";
  unsigned char data[56] = {0};
  write_st(f, h, data, sizeof data);
  expect_failure(f, "tensor 'conv.weight': data_offsets [0,20] hold 20 bytes");
}

static void test_truncated_data(void **state) {
  Fixture *f = *state;
  unsigned char data[64];
  size_t len = good_data(data, 14);
  char *h = xstrfmt(good_header, "");
  write_st(f, h, data, len - 1); /* the last byte is missing */
  free(h);
  expect_failure(f, "tensor 'bn.running_var': data_offsets [48,56] outside the data section "
                    "(55 bytes)");
}

static void test_truncated_header(void **state) {
  Fixture *f = *state;
  char *h = xstrfmt(good_header, "");
  size_t claimed = strlen(h) + 100; /* more header than the file has */
  unsigned char n[8];
  for (int i = 0; i < 8; i++)
    n[i] = (unsigned char)((uint64_t)claimed >> (8 * i));
  FILE *fp = fopen(f->path, "wb");
  assert_non_null(fp);
  fwrite(n, 1, 8, fp);
  fputs(h, fp);
  assert_int_equal(fclose(fp), 0);
  free(h);
  expect_failure(f, "exceeds the file size");
}

static void test_tiny_file(void **state) {
  Fixture *f = *state;
  FILE *fp = fopen(f->path, "wb");
  fputs("abc", fp);
  fclose(fp);
  expect_failure(f, "file too short");
}

static void test_empty_file(void **state) {
  Fixture *f = *state;
  expect_failure(f, "file too short"); /* mkstemp left it empty */
}

static void test_huge_header_length(void **state) {
  Fixture *f = *state;
  unsigned char n[8];
  memset(n, 0xff, sizeof n); /* 2^64 - 1: must not wrap around */
  FILE *fp = fopen(f->path, "wb");
  fwrite(n, 1, 8, fp);
  fputs("{}", fp);
  fclose(fp);
  expect_failure(f, "exceeds the file size");
}

static void test_offsets_out_of_bounds(void **state) {
  Fixture *f = *state;
  write_good(f, ",\"x.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],"
                "\"data_offsets\":[56,1000000]}",
             0);
  expect_failure(f, "tensor 'x.num_batches_tracked': data_offsets [56,1000000] outside");
}

static void test_offsets_reversed(void **state) {
  Fixture *f = *state;
  static const char *h =
      "{\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[0,3,1,1],\"data_offsets\":[24,0]}}";
  unsigned char data[24] = {0};
  write_st(f, h, data, sizeof data);
  expect_failure(f, "begin after end");
}

static void test_overlap(void **state) {
  Fixture *f = *state;
  static const char *h =
      "{\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[0,24]},"
      "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]},"
      "\"bn.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"
      "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
      "\"bn.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]}}";
  unsigned char data[56] = {0};
  write_st(f, h, data, sizeof data);
  expect_failure(f, "tensors 'conv.weight' [0,24] and 'bn.weight' [20,28] overlap");
}

/* Nested ranges: a long one hiding a short one after it. */
static void test_overlap_nested(void **state) {
  Fixture *f = *state;
  static const char *h =
      "{\"a.num_batches_tracked\":{\"dtype\":\"U8\",\"shape\":[56],\"data_offsets\":[0,56]},"
      "\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[0,24]},"
      "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
      "\"bn.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"
      "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
      "\"bn.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]}}";
  unsigned char data[56] = {0};
  write_st(f, h, data, sizeof data);
  assert_false(load(f));
  assert_int_equal(f->d.errors, 5); /* each float tensor overlaps the U8 one */
  expect_message(f, "and 'bn.running_var' [48,56] overlap");
}

static void test_bad_json(void **state) {
  Fixture *f = *state;
  write_st(f, "{\"conv.weight\": {\"dtype\": ", NULL, 0);
  expect_failure(f, "header is not a valid JSON object");
}

static void test_json_not_object(void **state) {
  Fixture *f = *state;
  write_st(f, "[1, 2, 3]", NULL, 0);
  expect_failure(f, "header is not a valid JSON object");
}

static void test_json_trailing_garbage(void **state) {
  Fixture *f = *state;
  write_st(f, "{} x", NULL, 0);
  expect_failure(f, "header is not a valid JSON object");
}

static void test_json_embedded_nul(void **state) {
  Fixture *f = *state;
  write_raw(f, "{}\0  ", 5, NULL, 0);
  expect_failure(f, "header is not a valid JSON object");
}

static void test_entry_types(void **state) {
  static const struct {
    const char *entry, *msg;
  } cases[] = {
      {"\"conv.weight\":5", "entry 'conv.weight' is not a JSON object"},
      {"\"conv.weight\":{\"dtype\":3,\"shape\":[2,3,1,1],\"data_offsets\":[0,24]}",
       "\"dtype\" missing"},
      {"\"conv.weight\":{\"shape\":[2,3,1,1],\"data_offsets\":[0,24]}", "\"dtype\" missing"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":\"2,3\",\"data_offsets\":[0,24]}",
       "\"shape\" missing or not an array"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,-3,1,1],\"data_offsets\":[0,24]}",
       "\"shape\" holds something other than a non-negative integer"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,1.5,1,1],\"data_offsets\":[0,24]}",
       "\"shape\" holds"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}",
       "9 dimensions"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
       "\"data_offsets\":[0,24]}",
       "shape too large"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[0]}",
       "\"data_offsets\" is not an array of two"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[0,\"24\"]}",
       "\"data_offsets\" is not an array of two"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[-8,24]}",
       "\"data_offsets\" is not an array of two"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[0,1e300]}",
       "\"data_offsets\" is not an array of two"},
      {"\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[0,24]},"
       "\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,1,1],\"data_offsets\":[0,24]}",
       "tensor 'conv.weight' appears twice"},
      {"\"__metadata__\":[]", "\"__metadata__\" is not a JSON object"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Fixture *f = *state;
    char *h = xstrfmt("{%s}", cases[i].entry);
    unsigned char data[24] = {0};
    write_st(f, h, data, sizeof data);
    free(h);
    expect_failure(f, cases[i].msg);
    teardown(state);
    setup(state);
  }
}

static void test_nonexistent_file(void **state) {
  Fixture *f = *state;
  assert_false(weights_load_safetensors(&f->g, "/nonexistent/w.safetensors", &f->d));
  expect_message(f, "/nonexistent/w.safetensors: cannot read: No such file or directory");
}

static void test_directory(void **state) {
  Fixture *f = *state;
  assert_false(weights_load_safetensors(&f->g, "/tmp", &f->d));
  expect_message(f, "/tmp: cannot read");
}

/* A one-tensor graph and file: name "v.other" [n] of the given dtype. */
static void one_tensor(Fixture *f, const char *dtype, size_t esize, const void *data, size_t n) {
  graph_free(&f->g);
  Spec s;
  memset(&s, 0, sizeof s);
  graph_init(&f->g, &s);
  add(&f->g, "v.other", 1, (int)n, 0, 0, 0);
  char *h = xstrfmt("{\"v.other\":{\"dtype\":\"%s\",\"shape\":[%zu],\"data_offsets\":[0,%zu]}}",
                    dtype, n, n * esize);
  write_st(f, h, data, n * esize);
  free(h);
}

static unsigned char *le16s(const uint16_t *v, size_t n) {
  unsigned char *p = calloc(n, 2);
  for (size_t i = 0; i < n; i++) {
    p[2 * i] = (unsigned char)v[i];
    p[2 * i + 1] = (unsigned char)(v[i] >> 8);
  }
  return p;
}

/* Every finite half, against the definition computed in double. */
static void test_f16_exhaustive(void **state) {
  Fixture *f = *state;
  uint16_t *v = malloc(65536 * sizeof *v);
  size_t n = 0;
  for (uint32_t h = 0; h < 65536; h++)
    if (((h >> 10) & 0x1f) != 0x1f)
      v[n++] = (uint16_t)h;
  unsigned char *bytes = le16s(v, n);
  one_tensor(f, "F16", 2, bytes, n);
  assert_true(load(f));
  const float *got = f->g.tensors[0].data;
  for (size_t i = 0; i < n; i++) {
    int sign = v[i] >> 15, exp = (v[i] >> 10) & 0x1f, mant = v[i] & 0x3ff;
    double want = exp == 0 ? ldexp(mant, -24) : ldexp(1024 + mant, exp - 25);
    if (sign)
      want = -want;
    if (got[i] != (float)want || !signbit(got[i]) != !signbit(want))
      fail_msg("half 0x%04x: got %a, want %a", v[i], (double)got[i], want);
  }
  free(bytes);
  free(v);
}

static void test_f16_spot_values(void **state) {
  Fixture *f = *state;
  static const uint16_t v[] = {0x3c00, 0xc000, 0x0001, 0x03ff, 0x7bff, 0x8000, 0x3555};
  static const float want[] = {1.0f, -2.0f, 0x1p-24f, 0x3ffp-24f, 65504.0f, -0.0f,
                               0.333251953125f};
  unsigned char *bytes = le16s(v, 7);
  one_tensor(f, "F16", 2, bytes, 7);
  free(bytes);
  assert_true(load(f));
  for (int i = 0; i < 7; i++)
    assert_true(f->g.tensors[0].data[i] == want[i]);
  assert_true(signbit(f->g.tensors[0].data[5]));
}

static void test_f16_inf_nan(void **state) {
  static const uint16_t bad[] = {0x7c00, 0xfc00, 0x7e00, 0x7c01};
  static const char *const what[] = {"Inf at index 1", "Inf at index 1", "NaN at index 1",
                                     "NaN at index 1"};
  for (int i = 0; i < 4; i++) {
    Fixture *f = *state;
    uint16_t v[2] = {0x3c00, bad[i]};
    unsigned char *bytes = le16s(v, 2);
    one_tensor(f, "F16", 2, bytes, 2);
    free(bytes);
    expect_failure(f, "tensor 'v.other': ");
    expect_message(f, what[i]);
    teardown(state);
    setup(state);
  }
}

static void test_bf16(void **state) {
  Fixture *f = *state;
  static const uint16_t v[] = {0x3f80, 0xc040, 0x0001, 0x7f7f, 0x3e80};
  static const float want[] = {1.0f, -3.0f, 0x1p-133f, 0x1.fep127f, 0.25f};
  unsigned char *bytes = le16s(v, 5);
  one_tensor(f, "BF16", 2, bytes, 5);
  free(bytes);
  assert_true(load(f));
  for (int i = 0; i < 5; i++)
    assert_true(f->g.tensors[0].data[i] == want[i]);
}

static void put_f64(unsigned char *p, double x) {
  uint64_t u;
  memcpy(&u, &x, 8);
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(u >> (8 * i));
}

static void test_f64(void **state) {
  Fixture *f = *state;
  static const double v[] = {0.1, -1e-40, 1.0 / 3, 3.4028234663852886e38, 1e-50};
  unsigned char bytes[40];
  for (int i = 0; i < 5; i++)
    put_f64(bytes + 8 * i, v[i]);
  one_tensor(f, "F64", 8, bytes, 5);
  assert_true(load(f));
  for (int i = 0; i < 5; i++)
    assert_true(f->g.tensors[0].data[i] == (float)v[i]);
}

static void test_f64_overflow(void **state) {
  Fixture *f = *state;
  unsigned char bytes[16];
  put_f64(bytes, 1.0);
  put_f64(bytes + 8, -1e300);
  one_tensor(f, "F64", 8, bytes, 2);
  expect_failure(f, "tensor 'v.other': value -1e+300 at index 1 does not fit a float");
}

static void test_f32_nan(void **state) {
  Fixture *f = *state;
  unsigned char bytes[12];
  put_f32(bytes, 1.0f);
  put_f32(bytes + 4, 2.0f);
  put_f32(bytes + 8, NAN);
  one_tensor(f, "F32", 4, bytes, 3);
  expect_failure(f, "tensor 'v.other': NaN at index 2");
}

/* The data section need not be aligned: the header length is arbitrary. */
static void test_unaligned_data(void **state) {
  Fixture *f = *state;
  unsigned char data[64];
  size_t len = good_data(data, 14);
  char *h = xstrfmt(good_header, "");
  char *odd = xstrfmt("%s ", h);
  if (strlen(odd) % 4 == 0) {
    free(odd);
    odd = xstrfmt("%s  ", h);
  }
  write_st(f, odd, data, len);
  free(h);
  free(odd);
  assert_true(load(f));
  assert_true(f->g.tensors[0].data[5] == 6.0f);
}

/* Loading twice replaces the data instead of leaking it. */
static void test_load_twice(void **state) {
  Fixture *f = *state;
  write_good(f, "", 0);
  assert_true(load(f));
  assert_true(load(f));
  assert_true(f->g.tensors[4].data[1] == 14.0f);
}

/* ---------------------------------------------------------------- random */

/* A graph of just the tensors names, dims ({ndim, d0, ..}), no values. */
static Graph tensor_graph(const char *const *names, const int (*dims)[5], int n) {
  Graph g;
  Spec s;
  memset(&s, 0, sizeof s);
  graph_init(&g, &s);
  for (int i = 0; i < n; i++)
    graph_add_tensor(&g, names[i], dims[i][0], &dims[i][1]);
  return g;
}

static Graph random_graph(const char *const *names, const int (*dims)[5], int n, uint64_t seed) {
  Graph g = tensor_graph(names, dims, n);
  weights_random(&g, seed);
  return g;
}

static const char *const rnames[] = {
    "conv1.0.weight",          "layer1.0.conv1.weight",    "layer1.0.bn1.weight",
    "layer1.0.bn1.bias",       "layer1.0.bn1.running_mean", "layer1.0.bn1.running_var",
    "layer1.0.bn3.weight",     "layer1.0.bn3.running_var",  "layer1.0.se.fc1.weight",
    "layer1.0.se.fc1.bias",    "fc.weight",                 "fc.bias",
    "layer1.0.downsample.2.weight", "layer1.0.downsample.2.running_var",
};
static const int rdims[][5] = {
    {4, 32, 3, 3, 3}, {4, 64, 256, 1, 1}, {1, 64}, {1, 64},   {1, 64},     {1, 64}, {1, 256},
    {1, 256},         {4, 64, 256, 1, 1}, {1, 64}, {2, 1000, 2048}, {1, 1000}, {1, 256}, {1, 256},
};
enum { NR = sizeof rnames / sizeof rnames[0] };

static const Tensor *by_name(const Graph *g, const char *name) {
  int i = graph_find_tensor(g, name);
  assert_true(i >= 0);
  return &g->tensors[i];
}

static bool same_values(const Tensor *a, const Tensor *b) {
  return tensor_elems(a) == tensor_elems(b) &&
         memcmp(a->data, b->data, tensor_elems(a) * sizeof(float)) == 0;
}

static void test_random_deterministic(void **state) {
  (void)state;
  Graph a = random_graph(rnames, rdims, NR, 42), b = random_graph(rnames, rdims, NR, 42);
  Graph c = random_graph(rnames, rdims, NR, 43);
  for (int i = 0; i < NR; i++) {
    assert_true(same_values(&a.tensors[i], &b.tensors[i]));
    assert_false(same_values(&a.tensors[i], &c.tensors[i]));
  }
  /* Tensors of equal shape still differ: the name seeds the generator. */
  assert_false(same_values(by_name(&a, "layer1.0.conv1.weight"),
                           by_name(&a, "layer1.0.se.fc1.weight")));
  graph_free(&a);
  graph_free(&b);
  graph_free(&c);
}

static void test_random_order_independent(void **state) {
  (void)state;
  const char *rev[NR];
  int rdims_rev[NR][5];
  for (int i = 0; i < NR; i++) {
    rev[i] = rnames[NR - 1 - i];
    memcpy(rdims_rev[i], rdims[NR - 1 - i], sizeof rdims_rev[i]);
  }
  Graph a = random_graph(rnames, rdims, NR, 7);
  Graph b = random_graph(rev, (const int(*)[5])rdims_rev, NR, 7);
  for (int i = 0; i < NR; i++)
    assert_true(same_values(&a.tensors[i], by_name(&b, rnames[i])));
  graph_free(&a);
  graph_free(&b);
}

/* weights_random fills tensors on RSC_THREADS threads; how many must not
 * change a single bit. */
static void test_random_thread_count(void **state) {
  (void)state;
  const char *old = getenv("RSC_THREADS");
  char *saved = old ? xstrdup(old) : NULL;
  setenv("RSC_THREADS", "1", 1);
  Graph a = random_graph(rnames, rdims, NR, 9);
  setenv("RSC_THREADS", "5", 1);
  Graph b = random_graph(rnames, rdims, NR, 9);
  for (int i = 0; i < NR; i++)
    assert_true(same_values(&a.tensors[i], &b.tensors[i]));
  if (saved)
    setenv("RSC_THREADS", saved, 1);
  else
    unsetenv("RSC_THREADS");
  free(saved);
  graph_free(&a);
  graph_free(&b);
}

/* Deferred random weights: the 1-D tensors are drawn at once, the others
 * by tensor_values, with the same bits as weights_random gives, and with
 * the scales recorded on them (tensor_scale) applied in order, each value
 * multiplied in double and rounded once per scale. */
static void test_random_deferred(void **state) {
  (void)state;
  Graph a = random_graph(rnames, rdims, NR, 5);
  Graph b = tensor_graph(rnames, rdims, NR);
  weights_random_deferred(&b, 5);
  float *scratch = NULL;
  size_t cap = 0;
  for (int i = 0; i < NR; i++) {
    Tensor *t = &b.tensors[i];
    assert_int_equal(t->deferred, t->ndim > 1);
    assert_true(t->deferred ? t->data == NULL : same_values(&a.tensors[i], t));
    Tensor drawn = *t;
    drawn.data = (float *)tensor_values(&b, t, &scratch, &cap);
    assert_true(same_values(&a.tensors[i], &drawn));
  }
  /* conv1.0.weight [32][3][3][3]: a scale per output channel (as fold_bn
   * records it), then one per input channel (as entry does). */
  Tensor *w = &b.tensors[0], *ref = &a.tensors[0];
  int O = w->dims[0], C = w->dims[1], taps = w->dims[2] * w->dims[3];
  double *rows = xmalloc((size_t)O * sizeof *rows), *cols = xmalloc((size_t)C * sizeof *cols);
  for (int o = 0; o < O; o++)
    rows[o] = 0.5 + o / 64.0;
  for (int c = 0; c < C; c++)
    cols[c] = 1.0 / (255.0 * (0.2 + c / 100.0));
  for (int o = 0; o < O; o++)
    for (int c = 0; c < C; c++)
      for (int k = 0; k < taps; k++) {
        float *v = &ref->data[((size_t)o * C + c) * taps + k];
        *v = (float)(*v * rows[o]);
        *v = (float)(*v * cols[c]);
      }
  tensor_scale(w, 0, rows);
  tensor_scale(w, 1, cols);
  assert_true(w->deferred && w->data == NULL && w->nscales == 2);
  Tensor drawn = *w;
  drawn.data = (float *)tensor_values(&b, w, &scratch, &cap);
  assert_true(same_values(ref, &drawn));
  /* On values present, the same scales apply at once. */
  Tensor *e = &a.tensors[1];
  float first = e->data[0];
  double *half = xmalloc((size_t)e->dims[0] * sizeof *half);
  for (int o = 0; o < e->dims[0]; o++)
    half[o] = 0.5;
  tensor_scale(e, 0, half);
  assert_int_equal(e->nscales, 0);
  assert_true(e->data[0] == (float)(first * 0.5));
  free(scratch);
  graph_free(&a);
  graph_free(&b);
}

static void stats(const Tensor *t, double *mean, double *std, double *lo, double *hi) {
  size_t n = tensor_elems(t);
  double s = 0, s2 = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double x = t->data[i];
    assert_true(isfinite(x));
    s += x;
    s2 += x * x;
    *lo = fmin(*lo, x);
    *hi = fmax(*hi, x);
  }
  *mean = s / n;
  *std = sqrt(s2 / n - *mean * *mean);
}

static void expect_normal(const Graph *g, const char *name, double want_std) {
  double mean, std, lo, hi;
  const Tensor *t = by_name(g, name);
  stats(t, &mean, &std, &lo, &hi);
  /* Five standard errors of the sample mean and of the sample std. */
  double n = (double)tensor_elems(t);
  if (fabs(mean) > 5 * want_std / sqrt(n) || fabs(std - want_std) > 5 * want_std / sqrt(2 * n))
    fail_msg("%s: mean %g std %g, want std %g", name, mean, std, want_std);
  assert_true(lo < 0 && hi > 0);
}

static void expect_uniform(const Graph *g, const char *name, double a, double b) {
  double mean, std, lo, hi;
  stats(by_name(g, name), &mean, &std, &lo, &hi);
  if (lo < a || hi > b || fabs(mean - (a + b) / 2) > 0.1 * (b - a))
    fail_msg("%s: range [%g,%g] mean %g, want U(%g,%g)", name, lo, hi, mean, a, b);
}

static void test_random_rules(void **state) {
  (void)state;
  Graph g = random_graph(rnames, rdims, NR, 1);
  expect_normal(&g, "conv1.0.weight", sqrt(2.0 / (32 * 9)));
  expect_normal(&g, "layer1.0.conv1.weight", sqrt(2.0 / 64));
  expect_normal(&g, "layer1.0.se.fc1.weight", sqrt(2.0 / 64));
  expect_normal(&g, "fc.weight", 1 / sqrt(2048.0));
  expect_normal(&g, "fc.bias", 0.01);
  expect_normal(&g, "layer1.0.se.fc1.bias", 0.1);
  expect_normal(&g, "layer1.0.bn1.bias", 0.1);
  expect_normal(&g, "layer1.0.bn1.running_mean", 0.1);
  expect_uniform(&g, "layer1.0.bn1.weight", 0.5, 1.5);
  expect_uniform(&g, "layer1.0.bn1.running_var", 0.5, 1.5);
  expect_uniform(&g, "layer1.0.bn3.weight", 0.1, 0.3);
  expect_uniform(&g, "layer1.0.bn3.running_var", 0.5, 1.5);
  expect_uniform(&g, "layer1.0.downsample.2.weight", 0.5, 1.5);
  graph_free(&g);
}

/* The normal generator's shape, not just its scale: a big sample should put
 * 68.27% within one sigma and 95.45% within two. */
static void test_random_normal_shape(void **state) {
  (void)state;
  static const char *const name[] = {"big.other"};
  static const int dims[][5] = {{1, 400000}};
  Graph g = random_graph(name, dims, 1, 3);
  const Tensor *t = &g.tensors[0];
  size_t n = tensor_elems(t), in1 = 0, in2 = 0;
  for (size_t i = 0; i < n; i++) {
    double z = t->data[i] / 0.1;
    in1 += fabs(z) < 1;
    in2 += fabs(z) < 2;
  }
  assert_true(fabs((double)in1 / n - 0.682689) < 0.003);
  assert_true(fabs((double)in2 / n - 0.954500) < 0.002);
  graph_free(&g);
}

/* Pins the generator bit for bit: these values must come out on every platform
 * (the random weights end up in checked-in golden files). */
static void test_random_golden(void **state) {
  (void)state;
  Graph g = random_graph(rnames, rdims, NR, 2024);
  static const struct {
    const char *name;
    uint32_t bits[3];
  } want[] = {
      {"conv1.0.weight", {0x3d971a27, 0xbdfbc573, 0xbc5e1cd9}},
      {"layer1.0.conv1.weight", {0x3efcfd5c, 0x3e032eaa, 0x3e367b7c}},
      {"layer1.0.bn1.weight", {0x3f880f86, 0x3fa880d4, 0x3fb709a3}},
      {"layer1.0.bn1.bias", {0x3dddc77f, 0xbd1c623a, 0xbc02136f}},
      {"layer1.0.bn1.running_mean", {0x3e78875b, 0xbdd07d8a, 0x3e3af796}},
      {"layer1.0.bn1.running_var", {0x3f287bcd, 0x3f219aae, 0x3f5e38fd}},
      {"layer1.0.bn3.weight", {0x3e914521, 0x3e03125b, 0x3e6b865e}},
      {"layer1.0.bn3.running_var", {0x3f8d9eee, 0x3f93a5ae, 0x3fb324f1}},
      {"layer1.0.se.fc1.weight", {0x3df3f6c4, 0xbd8cbe15, 0x3e237ece}},
      {"layer1.0.se.fc1.bias", {0xbde9fe8b, 0xbde2cab8, 0x3adcb163}},
      {"fc.weight", {0x39c9dc0d, 0xbc669a99, 0xbae45076}},
      {"fc.bias", {0x3b02bc20, 0x3a25be1c, 0x3b557b6f}},
      {"layer1.0.downsample.2.weight", {0x3f67d175, 0x3fb173c6, 0x3f7ca061}},
      {"layer1.0.downsample.2.running_var", {0x3fada135, 0x3f21d05a, 0x3fa6f23a}},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const Tensor *t = by_name(&g, want[i].name);
    for (int k = 0; k < 3; k++) {
      uint32_t u;
      memcpy(&u, &t->data[k], 4);
      if (u != want[i].bits[k])
        fail_msg("%s[%d]: 0x%08x (%a), want 0x%08x", want[i].name, k, u, (double)t->data[k],
                 want[i].bits[k]);
    }
  }
  /* And every value, through a hash of the little-endian bit patterns. */
  uint64_t h = FNV64_INIT;
  for (int i = 0; i < g.ntensors; i++)
    for (size_t k = 0; k < tensor_elems(&g.tensors[i]); k++) {
      uint32_t u;
      memcpy(&u, &g.tensors[i].data[k], 4);
      unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                            (unsigned char)(u >> 24)};
      h = fnv1a64(h, b, 4);
    }
  assert_true(h == 0x71ddf222de27dd7dull);
  graph_free(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_happy_path, setup, teardown),
      cmocka_unit_test_setup_teardown(test_padded_header, setup, teardown),
      cmocka_unit_test_setup_teardown(test_num_batches_tracked_ignored, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_extra, setup, teardown),
      cmocka_unit_test_setup_teardown(test_all_problems_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(test_too_many_problems, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_shape, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_rank, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_dtype, setup, teardown),
      cmocka_unit_test_setup_teardown(test_size_mismatch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated_data, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated_header, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tiny_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_huge_header_length, setup, teardown),
      cmocka_unit_test_setup_teardown(test_offsets_out_of_bounds, setup, teardown),
      cmocka_unit_test_setup_teardown(test_offsets_reversed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_overlap_nested, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json_not_object, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json_trailing_garbage, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json_embedded_nul, setup, teardown),
      cmocka_unit_test_setup_teardown(test_entry_types, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nonexistent_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
      cmocka_unit_test_setup_teardown(test_f16_exhaustive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_f16_spot_values, setup, teardown),
      cmocka_unit_test_setup_teardown(test_f16_inf_nan, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bf16, setup, teardown),
      cmocka_unit_test_setup_teardown(test_f64, setup, teardown),
      cmocka_unit_test_setup_teardown(test_f64_overflow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_f32_nan, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unaligned_data, setup, teardown),
      cmocka_unit_test_setup_teardown(test_load_twice, setup, teardown),
      cmocka_unit_test(test_random_deterministic),
      cmocka_unit_test(test_random_order_independent),
      cmocka_unit_test(test_random_thread_count),
      cmocka_unit_test(test_random_deferred),
      cmocka_unit_test(test_random_rules),
      cmocka_unit_test(test_random_normal_shape),
      cmocka_unit_test(test_random_golden),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
