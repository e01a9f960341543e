/*
 * test_threads_none.c - the thread team built without threads
 * (runtime/rsc_threads.h under RSC_NO_THREADS, as a model compiled with
 * -D<PREFIX>_NO_THREADS): a team of one that runs its work on the caller's
 * thread as part 0 of 1, refuses more threads and pinning with
 * RSC_ERR_THREADS, and an out-of-range size with RSC_ERR_ARG, as with
 * threads. It must not need <threads.h>: the test checks it is not included.
 */
#define RSC_NO_THREADS
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "../../runtime/rsc_limits.h"
#include "../../runtime/rsc_vec.h"
#include "../../runtime/rsc_threads.h"

#if RSC_HAVE_THREADS || RSC_HAVE_PIN
#error "RSC_NO_THREADS must leave the team out"
#endif
#ifdef thrd_success
#error "RSC_NO_THREADS must not include <threads.h>"
#endif

typedef struct Seen {
  int calls, part, parts;
} Seen;

static void work(void *ctx, int part, int parts) {
  Seen *s = ctx;
  s->calls++;
  s->part = part;
  s->parts = parts;
  rsc_team_sync(NULL); /* the barrier of a team of one: nothing to wait for */
}

static void test_team_of_one(void **state) {
  (void)state;
  rsc_team t;
  rsc_team_init(&t);
  assert_int_equal(t.threads, 1);
  Seen s = {0, -1, -1};
  rsc_team_run(&t, work, &s);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.part, 0);
  assert_int_equal(s.parts, 1);
  rsc_team_stop(&t);
  assert_int_equal(t.threads, 1);
}

static void test_refusals(void **state) {
  (void)state;
  rsc_team t;
  rsc_team_init(&t);
  assert_int_equal(rsc_team_resize(&t, 1), RSC_OK);
  assert_int_equal(rsc_team_resize(&t, 2), RSC_ERR_THREADS);
  assert_int_equal(rsc_team_resize(&t, RSC_MAX_THREADS), RSC_ERR_THREADS);
  assert_int_equal(rsc_team_resize(&t, 0), RSC_ERR_ARG);
  assert_int_equal(rsc_team_resize(&t, RSC_MAX_THREADS + 1), RSC_ERR_ARG);
  assert_int_equal(rsc_team_pin(&t, 1), RSC_ERR_THREADS);
  assert_int_equal(rsc_team_pin(&t, 0), RSC_OK);
  assert_int_equal(t.threads, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_team_of_one),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
