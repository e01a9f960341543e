/*
 * test_loader.c - the generated models' loader (runtime/rsc_loader.h).
 *
 * A .weights file is built here byte by byte from the format (runtime/
 * rsc_checksum.h), not with rsc's writer, then damaged one way at a time:
 * each damage must give its own return code, from a file (rsc_read_weights,
 * rsc_load_weights) and from memory (rsc_check_blob, the embedded copy),
 * checked in the documented order (magic, version, header size,
 * fingerprint, payload size, length, checksum). A good file loads its
 * payload exactly. Also the messages of the codes and the aligned
 * allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rsc_limits.h"
#include "../../runtime/rsc_vec.h"
#include "../../runtime/rsc_checksum.h"
#include "../../runtime/rsc_loader.h"

#define FP UINT64_C(0x0123456789abcdef) /* the fingerprint of the model under test */
enum { PAYLOAD = 1000 * 4 + 4 };         /* bytes: no multiple of 8, a checksum tail */

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* A good file of the model: header, then PAYLOAD bytes; *n its length. The
 * caller may damage it and adjust n. Room for one more byte. */
static unsigned char *good_file(size_t *n) {
  unsigned char *f = calloc(1, 64 + PAYLOAD + 1);
  assert_non_null(f);
  memcpy(f, "RSCWGHT", 8);
  put64(f + 8, 1u | (uint64_t)64 << 32); /* version 1, header 64 bytes */
  put64(f + 16, FP);
  put64(f + 24, PAYLOAD);
  for (int i = 0; i < PAYLOAD; i++)
    f[64 + i] = (unsigned char)(i * 131 + 7);
  put64(f + 32, rsc_checksum(f + 64, PAYLOAD));
  *n = 64 + PAYLOAD;
  return f;
}

/* The code rsc_read_weights gives for these bytes as a file, and (when it is
 * OK) checks the payload arrived whole. */
static int read_as_file(const unsigned char *bytes, size_t n) {
  FILE *f = tmpfile();
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, n, f), n);
  rewind(f);
  unsigned char *dst = rsc_alloc64(PAYLOAD);
  assert_non_null(dst);
  int rc = rsc_read_weights(f, dst, FP, PAYLOAD);
  if (rc == RSC_OK)
    assert_memory_equal(dst, bytes + 64, PAYLOAD);
  fclose(f);
  free(dst);
  return rc;
}

/* The same bytes checked as an embedded copy. */
static int check_as_blob(const unsigned char *bytes, size_t n) {
  unsigned char *copy = malloc(n ? n : 1); /* exactly n bytes: a read past them is ASan's */
  assert_non_null(copy);
  memcpy(copy, bytes, n);
  int rc = rsc_check_blob(copy, n, FP, PAYLOAD);
  free(copy);
  return rc;
}

/* Both ways agree and give want. */
static void expect(const unsigned char *bytes, size_t n, int want) {
  assert_int_equal(read_as_file(bytes, n), want);
  assert_int_equal(check_as_blob(bytes, n), want);
}

static void test_good(void **state) {
  (void)state;
  size_t n;
  unsigned char *f = good_file(&n);
  expect(f, n, RSC_OK);
  free(f);
}

static void test_short_files(void **state) {
  (void)state;
  size_t n;
  unsigned char *f = good_file(&n);
  expect(f, 0, RSC_ERR_MAGIC);     /* empty: not ours */
  expect(f, 3, RSC_ERR_TRUNCATED); /* starts like ours: cut */
  expect(f, 20, RSC_ERR_TRUNCATED);
  expect(f, 63, RSC_ERR_TRUNCATED);
  f[1] ^= 1;
  expect(f, 20, RSC_ERR_MAGIC); /* short and not ours */
  free(f);
}

static void test_header_fields(void **state) {
  (void)state;
  size_t n;
  unsigned char *f = good_file(&n);
  f[0] ^= 0x20;
  expect(f, n, RSC_ERR_MAGIC);
  free(f);
  f = good_file(&n);
  f[7] = '!'; /* the magic's NUL */
  expect(f, n, RSC_ERR_MAGIC);
  free(f);
  f = good_file(&n);
  f[8] = 2; /* version 2 */
  expect(f, n, RSC_ERR_VERSION);
  free(f);
  f = good_file(&n);
  f[12] = 32; /* header size 32 */
  expect(f, n, RSC_ERR_VERSION);
  free(f);
  f = good_file(&n);
  f[40] = 1; /* a bf16 file for this fp32 model */
  expect(f, n, RSC_ERR_PRECISION);
  f[16] ^= 1; /* the precision is checked before the fingerprint */
  expect(f, n, RSC_ERR_PRECISION);
  free(f);
  f = good_file(&n);
  f[16] ^= 1; /* another model */
  expect(f, n, RSC_ERR_MODEL);
  free(f);
  f = good_file(&n);
  put64(f + 24, PAYLOAD - 4); /* a payload size that is not this model's */
  expect(f, n - 4, RSC_ERR_SIZE);
  free(f);
  /* The order: a wrong magic hides everything after it, a wrong version the
   * fingerprint, a wrong fingerprint the size. */
  f = good_file(&n);
  f[0] ^= 1, f[8] = 2, f[16] ^= 1, f[24] ^= 1;
  expect(f, n, RSC_ERR_MAGIC);
  f[0] ^= 1;
  expect(f, n, RSC_ERR_VERSION);
  f[8] = 1;
  expect(f, n, RSC_ERR_MODEL);
  f[16] ^= 1;
  expect(f, n, RSC_ERR_SIZE);
  free(f);
}

static void test_length(void **state) {
  (void)state;
  size_t n;
  unsigned char *f = good_file(&n);
  expect(f, n - 1, RSC_ERR_TRUNCATED); /* payload cut */
  expect(f, 64, RSC_ERR_TRUNCATED);    /* header only */
  f[n] = 0;
  expect(f, n + 1, RSC_ERR_SIZE); /* a trailing byte */
  free(f);
}

/* Any one byte of the payload changed, and the tail, is caught. */
static void test_checksum(void **state) {
  (void)state;
  size_t n;
  unsigned char *f = good_file(&n);
  const size_t at[] = {64, 64 + 7, 64 + 8, 64 + 500, n - 5, n - 1};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    f[at[i]] ^= 0x80;
    expect(f, n, RSC_ERR_CHECKSUM);
    f[at[i]] ^= 0x80;
  }
  f[32] ^= 1; /* the stored checksum itself */
  expect(f, n, RSC_ERR_CHECKSUM);
  free(f);
}

static void test_load_path(void **state) {
  (void)state;
  size_t n;
  unsigned char *f = good_file(&n);
  char path[] = "/tmp/test_loader_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *out = fdopen(fd, "wb");
  assert_non_null(out);
  assert_int_equal(fwrite(f, 1, n, out), n);
  assert_int_equal(fclose(out), 0);
  unsigned char *dst = rsc_alloc64(PAYLOAD);
  assert_non_null(dst);
  assert_int_equal(rsc_load_weights(path, dst, FP, PAYLOAD), RSC_OK);
  assert_memory_equal(dst, f + 64, PAYLOAD);
  assert_int_equal(rsc_load_weights(path, dst, FP ^ 1, PAYLOAD), RSC_ERR_MODEL);
  assert_int_equal(remove(path), 0);
  assert_int_equal(rsc_load_weights(path, dst, FP, PAYLOAD), RSC_ERR_OPEN);
  /* A directory opens but does not read (EISDIR). */
  assert_int_equal(rsc_load_weights("/", dst, FP, PAYLOAD), RSC_ERR_READ);
  free(dst);
  free(f);
}

static void test_strerror(void **state) {
  (void)state;
  const char *seen[RSC_ERR_PRECISION + 1];
  for (int c = RSC_OK; c <= RSC_ERR_PRECISION; c++) {
    seen[c] = rsc_strerror(c);
    assert_non_null(seen[c]);
    assert_string_not_equal(seen[c], "unknown error code");
    for (int d = RSC_OK; d < c; d++)
      assert_string_not_equal(seen[c], seen[d]);
  }
  assert_string_equal(rsc_strerror(RSC_ERR_PRECISION + 1), "unknown error code");
  assert_string_equal(rsc_strerror(-1), "unknown error code");
  assert_non_null(strstr(rsc_strerror(RSC_ERR_CPU), RSC_ISA));
}

static void test_alloc64(void **state) {
  (void)state;
  const size_t sizes[] = {1, 63, 64, 65, 4096 + 4};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    unsigned char *p = rsc_alloc64(sizes[i]);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    memset(p, 0xa5, sizes[i]);
    free(p);
  }
}

/* Built without -m flags the code is generic, which every CPU runs. */
static void test_cpu(void **state) {
  (void)state;
  assert_int_equal(rsc_cpu_ok(), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good),          cmocka_unit_test(test_short_files),
      cmocka_unit_test(test_header_fields), cmocka_unit_test(test_length),
      cmocka_unit_test(test_checksum),      cmocka_unit_test(test_load_path),
      cmocka_unit_test(test_strerror),      cmocka_unit_test(test_alloc64),
      cmocka_unit_test(test_cpu),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
