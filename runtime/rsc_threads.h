/*
 * rsc_threads.h - the thread team that runs a generated model (docs/kernels.md).
 *
 * One run executes the model's whole body on every thread (SPMD): each kernel
 * does its part of the layer, then all meet at a spinning barrier,
 * rsc_team_sync. Workers are created once by rsc_team_resize and between runs
 * spin a while, then park on a condition variable: no per-layer or per-run
 * thread start. With pin set (rsc_team_pin) each worker binds itself to a CPU
 * of its own (Linux, where the affinity API is visible: RSC_HAVE_PIN). A team
 * of one thread (the default) runs nothing of this, and RSC_NO_THREADS (or a C
 * library without <threads.h>) leaves the whole team out: then nothing needs
 * a thread library and only one thread is accepted.
 *
 * Needs rsc_limits.h and rsc_vec.h before it. Defines RSC_HAVE_THREADS and
 * RSC_HAVE_PIN (0 or 1) and includes <stdatomic.h>, <threads.h> and, on
 * Linux, <sched.h> when it has threads; sched_setaffinity needs _GNU_SOURCE
 * before the first system header (the generated .c defines it first thing).
 * Invariant: the body a team runs must call rsc_team_sync(t) the same number
 * of times on every part, as the generated body does after every layer.
 */
#ifndef RSC_THREADS_H
#define RSC_THREADS_H

#if !defined(RSC_NO_THREADS) && !defined(__STDC_NO_THREADS__) && !defined(__STDC_NO_ATOMICS__)
#define RSC_HAVE_THREADS 1
#include <stdatomic.h>
#include <threads.h>
#ifdef __linux__
#include <sched.h>
#endif
#else
#define RSC_HAVE_THREADS 0
#endif
/* Whether workers can be bound: threads, Linux, and <sched.h>'s GNU part
 * visible (CPU_SETSIZE comes with sched_getaffinity and CPU_ISSET). */
#if RSC_HAVE_THREADS && defined(__linux__) && defined(CPU_SETSIZE)
#define RSC_HAVE_PIN 1
#else
#define RSC_HAVE_PIN 0
#endif

/* What a team runs: part `part` of `parts` of the work that ctx describes. */
typedef void (*rsc_team_fn)(void *ctx, int part, int parts);

typedef struct rsc_team {
  int threads; /* team size, the caller included; 1: no workers */
  int pin;     /* workers bind to a CPU each */
#if RSC_HAVE_THREADS
  thrd_t thr[RSC_MAX_THREADS];
  struct rsc_team *self[RSC_MAX_THREADS]; /* worker i's argument: &self[i] */
  mtx_t mu;                               /* parks idle workers */
  cnd_t cv;
  atomic_uint gen;    /* bumped once per run */
  atomic_int stop;    /* set by rsc_team_stop */
  atomic_int done;    /* workers finished with this run */
  atomic_int arrived; /* barrier: threads arrived */
  atomic_uint phase;  /* barrier: generation */
  rsc_team_fn fn;     /* this run's work */
  void *ctx;
#endif
} rsc_team;

/* A team of one, unpinned. */
RSC_STATIC void rsc_team_init(rsc_team *t) {
  t->threads = 1;
  t->pin = 0;
#if RSC_HAVE_THREADS
  atomic_init(&t->gen, 0u);
  atomic_init(&t->stop, 0);
  atomic_init(&t->done, 0);
  atomic_init(&t->arrived, 0);
  atomic_init(&t->phase, 0u);
#endif
}

#if RSC_HAVE_THREADS
RSC_STATIC void rsc_team_pause(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_ia32_pause();
#endif
}

/* One step of a wait loop: pause while the wait is young, then give the core
 * away, so that a team sharing its cores with other work does not spin while
 * the thread it waits for is descheduled. */
RSC_STATIC void rsc_team_wait_step(int *spins) {
  if (++*spins < 4096)
    rsc_team_pause();
  else
    thrd_yield();
}

/* Sense-free central barrier of the team (an rsc_team *, void * so that the
 * kernels take it as a callback: rsc_se_add_part), for every thread of a run
 * (rsc_team_run), never between runs: the last to arrive bumps the phase. The phase is read before arriving, so it cannot move on before
 * this thread is counted. */
RSC_STATIC void rsc_team_sync(void *team) {
  rsc_team *t = (rsc_team *)team;
  if (t->threads <= 1) /* a team of one: nobody to wait for */
    return;
  const unsigned ph = atomic_load(&t->phase);
  if (atomic_fetch_add(&t->arrived, 1) == t->threads - 1) {
    atomic_store(&t->arrived, 0);
    atomic_fetch_add(&t->phase, 1u);
  } else {
    int spins = 0;
    while (atomic_load(&t->phase) == ph)
      rsc_team_wait_step(&spins);
  }
}

/* Spins (about a millisecond) before a worker parks between runs. */
#define RSC_TEAM_SPINS (1 << 16)

#if RSC_HAVE_PIN
/* Binds the calling worker to the part-th CPU (mod their count) of the mask it
 * inherited from the thread that created the team; the caller keeps the others.
 * Best effort: a failure leaves the worker unbound, as without pinning. */
RSC_STATIC void rsc_team_pin_self(int part) {
  cpu_set_t mask, one;
  if (sched_getaffinity(0, sizeof mask, &mask) != 0 || CPU_COUNT(&mask) < 1)
    return;
  int k = part % CPU_COUNT(&mask);
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &mask) && k-- == 0) {
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      (void)sched_setaffinity(0, sizeof one, &one);
      return;
    }
}
#endif

/* Worker `part`: its argument is &t->self[part]. */
RSC_STATIC int rsc_team_worker(void *arg) {
  rsc_team *t = *(rsc_team **)arg;
  const int part = (int)((rsc_team **)arg - t->self);
  unsigned seen = 0;
#if RSC_HAVE_PIN
  if (t->pin)
    rsc_team_pin_self(part);
#endif
  for (;;) {
    unsigned g;
    int spins = 0;
    while ((g = atomic_load(&t->gen)) == seen && !atomic_load(&t->stop)) {
      if (++spins < RSC_TEAM_SPINS) {
        rsc_team_pause();
        continue;
      }
      mtx_lock(&t->mu);
      while (atomic_load(&t->gen) == seen && !atomic_load(&t->stop))
        cnd_wait(&t->cv, &t->mu);
      mtx_unlock(&t->mu);
    }
    if (atomic_load(&t->stop))
      return 0;
    seen = g;
    t->fn(t->ctx, part, t->threads);
    atomic_fetch_add(&t->done, 1);
  }
}

/* Joins the workers; the team is of one thread after. */
RSC_STATIC void rsc_team_stop(rsc_team *t) {
  if (t->threads <= 1)
    return;
  mtx_lock(&t->mu);
  atomic_store(&t->stop, 1);
  cnd_broadcast(&t->cv);
  mtx_unlock(&t->mu);
  for (int i = 1; i < t->threads; i++)
    thrd_join(t->thr[i], NULL);
  mtx_destroy(&t->mu);
  cnd_destroy(&t->cv);
  t->threads = 1;
}

/* A team of n threads (n - 1 workers): RSC_OK, RSC_ERR_ARG for n outside
 * 1 .. RSC_MAX_THREADS, RSC_ERR_THREADS when a worker cannot be created (the
 * team is of one thread then). */
RSC_STATIC int rsc_team_resize(rsc_team *t, int n) {
  if (n < 1 || n > RSC_MAX_THREADS)
    return RSC_ERR_ARG;
  if (n == t->threads)
    return RSC_OK;
  rsc_team_stop(t);
  if (n == 1)
    return RSC_OK;
  atomic_store(&t->stop, 0);
  atomic_store(&t->gen, 0u);
  atomic_store(&t->arrived, 0);
  atomic_store(&t->phase, 0u);
  if (mtx_init(&t->mu, mtx_plain) != thrd_success)
    return RSC_ERR_THREADS;
  if (cnd_init(&t->cv) != thrd_success) {
    mtx_destroy(&t->mu);
    return RSC_ERR_THREADS;
  }
  t->threads = n; /* before the workers start: they read it */
  for (int i = 1; i < n; i++) {
    t->self[i] = t;
    if (thrd_create(&t->thr[i], rsc_team_worker, &t->self[i]) != thrd_success) {
      t->threads = i; /* stop the ones already running */
      rsc_team_stop(t);
      return RSC_ERR_THREADS;
    }
  }
  return RSC_OK;
}

/* Whether workers bind to CPUs (on != 0), for the current team (restarted)
 * and later ones: RSC_OK, or RSC_ERR_THREADS for on without RSC_HAVE_PIN or
 * when the restarted team cannot be made. */
RSC_STATIC int rsc_team_pin(rsc_team *t, int on) {
#if !RSC_HAVE_PIN
  if (on)
    return RSC_ERR_THREADS;
#endif
  on = on != 0;
  if (on == t->pin)
    return RSC_OK;
  t->pin = on; /* before the workers (re)start: they read it */
  const int n = t->threads;
  rsc_team_stop(t);
  return rsc_team_resize(t, n);
}

/* fn(ctx, part, threads) on every thread of the team, part 0 on the caller's;
 * returns when all are done. */
RSC_STATIC void rsc_team_run(rsc_team *t, rsc_team_fn fn, void *ctx) {
  if (t->threads <= 1) {
    fn(ctx, 0, 1);
    return;
  }
  t->fn = fn;
  t->ctx = ctx;
  atomic_store(&t->done, 0);
  mtx_lock(&t->mu);
  atomic_fetch_add(&t->gen, 1u);
  cnd_broadcast(&t->cv);
  mtx_unlock(&t->mu);
  fn(ctx, 0, t->threads);
  int spins = 0;
  while (atomic_load(&t->done) != t->threads - 1)
    rsc_team_wait_step(&spins);
}
#else /* no threads: a team of one */
RSC_STATIC void rsc_team_sync(void *team) { (void)team; }

RSC_STATIC void rsc_team_stop(rsc_team *t) { (void)t; }

RSC_STATIC int rsc_team_resize(rsc_team *t, int n) {
  (void)t;
  if (n < 1 || n > RSC_MAX_THREADS)
    return RSC_ERR_ARG;
  return n == 1 ? RSC_OK : RSC_ERR_THREADS;
}

RSC_STATIC int rsc_team_pin(rsc_team *t, int on) {
  (void)t;
  return on ? RSC_ERR_THREADS : RSC_OK;
}

RSC_STATIC void rsc_team_run(rsc_team *t, rsc_team_fn fn, void *ctx) {
  (void)t;
  fn(ctx, 0, 1);
}
#endif

#endif /* RSC_THREADS_H */
