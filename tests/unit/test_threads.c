/*
 * test_threads.c - the thread team of generated models (runtime/rsc_threads.h).
 *
 * A team of n runs its work once per part 0 .. n-1, each with parts == n,
 * part 0 on the caller's thread, run after run, also after its workers have
 * parked (a pause longer than their spin); its barrier (rsc_team_sync) lets
 * no thread past before all have arrived, layer after layer; resizing checks
 * its range and stopping leaves a team of one; pinning binds every worker to
 * one CPU of the caller's mask. The same calls built without threads
 * (RSC_NO_THREADS) are checked by test_threads_none.c. Each test runs the
 * team many times, so that a race shows as a wrong count, not as luck.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getaffinity, as the generated .c defines it */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../runtime/rsc_limits.h"
#include "../../runtime/rsc_vec.h"
#include "../../runtime/rsc_threads.h"

#if !RSC_HAVE_THREADS
#error "test_threads.c needs C11 threads"
#endif

enum { LAYERS = 16, RUNS = 30 };

/* What the parts of one run saw. */
typedef struct Work {
  rsc_team *team;
  atomic_int calls[RSC_MAX_THREADS];  /* calls per part */
  atomic_int bad_parts;               /* calls whose parts was not the team's size */
  atomic_int on_caller;               /* part 0 calls made on the caller's thread */
  thrd_t caller;
  int layers;                         /* barriers per run; 0: none */
  atomic_int arrived[LAYERS];         /* per layer, parts that reached it */
  atomic_int early;                   /* parts that passed a barrier before all arrived */
  atomic_int bound;                   /* workers whose mask is one CPU */
} Work;

static void work(void *ctx, int part, int parts) {
  Work *wk = ctx;
  atomic_fetch_add(&wk->calls[part], 1);
  if (parts != wk->team->threads)
    atomic_fetch_add(&wk->bad_parts, 1);
  if (part == 0 && thrd_equal(thrd_current(), wk->caller))
    atomic_fetch_add(&wk->on_caller, 1);
#if RSC_HAVE_PIN
  cpu_set_t mask;
  if (part > 0 && sched_getaffinity(0, sizeof mask, &mask) == 0 && CPU_COUNT(&mask) == 1)
    atomic_fetch_add(&wk->bound, 1);
#endif
  for (int l = 0; l < wk->layers; l++) {
    atomic_fetch_add(&wk->arrived[l], 1);
    rsc_team_sync(wk->team);
    if (atomic_load(&wk->arrived[l]) != parts)
      atomic_fetch_add(&wk->early, 1);
  }
}

static void work_reset(Work *wk, rsc_team *t, int layers) {
  memset(wk, 0, sizeof *wk);
  wk->team = t;
  wk->caller = thrd_current();
  wk->layers = layers;
}

/* Runs the team `runs` times on a fresh Work and checks every part ran each time. */
static void run_and_check(rsc_team *t, Work *wk, int runs, int layers) {
  for (int r = 0; r < runs; r++) {
    work_reset(wk, t, layers);
    rsc_team_run(t, work, wk);
    for (int p = 0; p < RSC_MAX_THREADS; p++)
      assert_int_equal(atomic_load(&wk->calls[p]), p < t->threads ? 1 : 0);
    assert_int_equal(atomic_load(&wk->bad_parts), 0);
    assert_int_equal(atomic_load(&wk->on_caller), 1);
    assert_int_equal(atomic_load(&wk->early), 0);
    for (int l = 0; l < layers; l++)
      assert_int_equal(atomic_load(&wk->arrived[l]), t->threads);
  }
}

static void test_team_of_one(void **state) {
  (void)state;
  rsc_team t;
  rsc_team_init(&t);
  assert_int_equal(t.threads, 1);
  Work *wk = malloc(sizeof *wk);
  assert_non_null(wk);
  run_and_check(&t, wk, 3, 4);
  rsc_team_stop(&t); /* no workers: nothing to stop */
  assert_int_equal(t.threads, 1);
  free(wk);
}

static void test_every_part_once(void **state) {
  (void)state;
  rsc_team t;
  rsc_team_init(&t);
  Work *wk = malloc(sizeof *wk);
  assert_non_null(wk);
  for (int n = 2; n <= 4; n++) {
    assert_int_equal(rsc_team_resize(&t, n), RSC_OK);
    assert_int_equal(t.threads, n);
    run_and_check(&t, wk, RUNS, 0);
  }
  assert_int_equal(rsc_team_resize(&t, 3), RSC_OK); /* shrinking restarts the team */
  run_and_check(&t, wk, RUNS, 0);
  assert_int_equal(rsc_team_resize(&t, 1), RSC_OK);
  assert_int_equal(t.threads, 1);
  run_and_check(&t, wk, 2, 0);
  rsc_team_stop(&t);
  free(wk);
}

/* Barriers layer after layer, with more threads than this machine's cores
 * too: waits that outlast the spin and yield. */
static void test_barrier(void **state) {
  (void)state;
  rsc_team t;
  rsc_team_init(&t);
  Work *wk = malloc(sizeof *wk);
  assert_non_null(wk);
  const int sizes[] = {2, 3, 8};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    assert_int_equal(rsc_team_resize(&t, sizes[i]), RSC_OK);
    run_and_check(&t, wk, RUNS / 4, LAYERS);
  }
  rsc_team_stop(&t);
  assert_int_equal(t.threads, 1);
  free(wk);
}

/* Workers that parked on the condition variable wake for the next run. */
static void test_parked_workers_wake(void **state) {
  (void)state;
  rsc_team t;
  rsc_team_init(&t);
  Work *wk = malloc(sizeof *wk);
  assert_non_null(wk);
  assert_int_equal(rsc_team_resize(&t, 3), RSC_OK);
  for (int r = 0; r < 3; r++) {
    /* 1 << 16 pauses take well under 50 ms on any machine that runs this. */
    thrd_sleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 50 * 1000000L}, NULL);
    run_and_check(&t, wk, 1, 4);
  }
  rsc_team_stop(&t);
  free(wk);
}

static void test_resize_range(void **state) {
  (void)state;
  rsc_team t;
  rsc_team_init(&t);
  assert_int_equal(rsc_team_resize(&t, 0), RSC_ERR_ARG);
  assert_int_equal(rsc_team_resize(&t, -1), RSC_ERR_ARG);
  assert_int_equal(rsc_team_resize(&t, RSC_MAX_THREADS + 1), RSC_ERR_ARG);
  assert_int_equal(t.threads, 1);
  assert_int_equal(rsc_team_resize(&t, 2), RSC_OK);
  assert_int_equal(rsc_team_resize(&t, RSC_MAX_THREADS + 1), RSC_ERR_ARG);
  assert_int_equal(t.threads, 2); /* a refused size leaves the team as it was */
  assert_int_equal(rsc_team_resize(&t, 2), RSC_OK);
  rsc_team_stop(&t);
  assert_int_equal(t.threads, 1);
  rsc_team_stop(&t); /* twice is harmless */
  assert_int_equal(t.threads, 1);
}

/* The most threads a team takes, all running. */
static void test_max_threads(void **state) {
  (void)state;
  rsc_team t;
  rsc_team_init(&t);
  Work *wk = malloc(sizeof *wk);
  assert_non_null(wk);
  assert_int_equal(rsc_team_resize(&t, RSC_MAX_THREADS), RSC_OK);
  run_and_check(&t, wk, 3, 2);
  rsc_team_stop(&t);
  free(wk);
}

static void test_pin(void **state) {
  (void)state;
  rsc_team t;
  rsc_team_init(&t);
  Work *wk = malloc(sizeof *wk);
  assert_non_null(wk);
  assert_int_equal(rsc_team_resize(&t, 3), RSC_OK);
#if RSC_HAVE_PIN
  assert_int_equal(rsc_team_pin(&t, 1), RSC_OK);
  assert_int_equal(t.pin, 1);
  assert_int_equal(t.threads, 3); /* restarted at its size */
  work_reset(wk, &t, 1);
  rsc_team_run(&t, work, wk);
  assert_int_equal(atomic_load(&wk->bound), 2); /* both workers, one CPU each */
  run_and_check(&t, wk, RUNS / 4, 4);
  assert_int_equal(rsc_team_pin(&t, 1), RSC_OK); /* no change */
  assert_int_equal(rsc_team_pin(&t, 0), RSC_OK);
  work_reset(wk, &t, 1);
  rsc_team_run(&t, work, wk);
  cpu_set_t mask;
  assert_int_equal(sched_getaffinity(0, sizeof mask, &mask), 0);
  /* unpinned workers inherit the caller's mask: bound only if it is one CPU */
  assert_int_equal(atomic_load(&wk->bound), CPU_COUNT(&mask) == 1 ? 2 : 0);
#else
  assert_int_equal(rsc_team_pin(&t, 1), RSC_ERR_THREADS);
  assert_int_equal(rsc_team_pin(&t, 0), RSC_OK);
#endif
  assert_int_equal(t.threads, 3);
  rsc_team_stop(&t);
  free(wk);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_team_of_one),      cmocka_unit_test(test_every_part_once),
      cmocka_unit_test(test_barrier),          cmocka_unit_test(test_parked_workers_wake),
      cmocka_unit_test(test_resize_range),     cmocka_unit_test(test_max_threads),
      cmocka_unit_test(test_pin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
