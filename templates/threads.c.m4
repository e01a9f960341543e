m4_dnl threads.c.m4 - the generated model's thread team (docs/kernels.md).
m4_dnl Included by model.c.m4 after the layer body RSC_PREFIX<||>_body.
m4_dnl One run executes the whole body on every thread (SPMD): each kernel does
m4_dnl its part of the layer, then all meet at a spinning barrier. Workers are
m4_dnl created once by RSC_PREFIX<||>_set_threads and between runs spin a while,
m4_dnl then park on a condition variable: no per-layer or per-run thread start.
m4_dnl RSC_PREFIX<||>_pin_threads binds each worker to a CPU of its own (Linux, where
m4_dnl model.c.m4 finds the affinity API visible: RSC_UPREFIX<||>_HAVE_PIN).
m4_dnl With one thread (the default) nothing of this runs, and a build with
m4_dnl -DRSC_UPREFIX<||>_NO_THREADS (or a C library without <threads.h>) needs
m4_dnl no thread library at all.
#if RSC_UPREFIX<||>_HAVE_THREADS
static void RSC_PREFIX<||>_pause(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_ia32_pause();
#endif
}

/* One step of a wait loop: pause while the wait is young, then give the core
 * away, so that a team sharing its cores with other work does not spin while
 * the thread it waits for is descheduled. */
static void RSC_PREFIX<||>_wait_step(int *spins)
{
  if (++*spins < 4096)
    RSC_PREFIX<||>_pause();
  else
    thrd_yield();
}

/* Sense-free central barrier: the last to arrive bumps the phase. The phase is
 * read before arriving, so it cannot move on before this thread is counted. */
static void RSC_PREFIX<||>_sync(RSC_PREFIX<||>_model *m)
{
  RSC_PREFIX<||>_team *t = &m->team;
  const unsigned ph = atomic_load(&t->phase);
  if (atomic_fetch_add(&t->arrived, 1) == m->threads - 1) {
    atomic_store(&t->arrived, 0);
    atomic_fetch_add(&t->phase, 1u);
  } else {
    int spins = 0;
    while (atomic_load(&t->phase) == ph)
      RSC_PREFIX<||>_wait_step(&spins);
  }
}

/* Spins (about a millisecond) before a worker parks between runs. */
enum { RSC_UPREFIX<||>_SPINS = 1 << 16 };

#if RSC_UPREFIX<||>_HAVE_PIN
/* Binds the calling worker to the part-th CPU (mod their count) of the mask it
 * inherited from the thread that created the team; the caller keeps the others.
 * Best effort: a failure leaves the worker unbound, as without pinning. */
static void RSC_PREFIX<||>_pin_self(int part)
{
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

static int RSC_PREFIX<||>_worker(void *arg)
{
  RSC_PREFIX<||>_model *m = *(RSC_PREFIX<||>_model **)arg;
  RSC_PREFIX<||>_team *t = &m->team;
  const int part = (int)((RSC_PREFIX<||>_model **)arg - t->self);
  unsigned seen = 0;
#if RSC_UPREFIX<||>_HAVE_PIN
  if (m->pin)
    RSC_PREFIX<||>_pin_self(part);
#endif
  for (;;) {
    unsigned g;
    int spins = 0;
    while ((g = atomic_load(&t->gen)) == seen && !atomic_load(&t->stop)) {
      if (++spins < RSC_UPREFIX<||>_SPINS) {
        RSC_PREFIX<||>_pause();
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
    RSC_PREFIX<||>_body(m, t->input, t->output, part, m->threads);
    atomic_fetch_add(&t->done, 1);
  }
}

static void RSC_PREFIX<||>_stop_team(RSC_PREFIX<||>_model *m)
{
  RSC_PREFIX<||>_team *t = &m->team;
  if (m->threads <= 1)
    return;
  mtx_lock(&t->mu);
  atomic_store(&t->stop, 1);
  cnd_broadcast(&t->cv);
  mtx_unlock(&t->mu);
  for (int i = 1; i < m->threads; i++)
    thrd_join(t->thr[i], NULL);
  mtx_destroy(&t->mu);
  cnd_destroy(&t->cv);
  m->threads = 1;
}

int RSC_PREFIX<||>_set_threads(RSC_PREFIX<||>_model *m, int n)
{
  if (!m || n < 1 || n > RSC_UPREFIX<||>_MAX_THREADS)
    return RSC_UPREFIX<||>_ERR_ARG;
  if (n == m->threads)
    return RSC_UPREFIX<||>_OK;
  RSC_PREFIX<||>_stop_team(m);
  if (n == 1)
    return RSC_UPREFIX<||>_OK;
  RSC_PREFIX<||>_team *t = &m->team;
  atomic_store(&t->stop, 0);
  atomic_store(&t->gen, 0u);
  atomic_store(&t->arrived, 0);
  atomic_store(&t->phase, 0u);
  if (mtx_init(&t->mu, mtx_plain) != thrd_success)
    return RSC_UPREFIX<||>_ERR_THREADS;
  if (cnd_init(&t->cv) != thrd_success) {
    mtx_destroy(&t->mu);
    return RSC_UPREFIX<||>_ERR_THREADS;
  }
  m->threads = n; /* before the workers start: they read it */
  for (int i = 1; i < n; i++) {
    t->self[i] = m;
    if (thrd_create(&t->thr[i], RSC_PREFIX<||>_worker, &t->self[i]) != thrd_success) {
      m->threads = i; /* stop the ones already running */
      RSC_PREFIX<||>_stop_team(m);
      return RSC_UPREFIX<||>_ERR_THREADS;
    }
  }
  return RSC_UPREFIX<||>_OK;
}

int RSC_PREFIX<||>_pin_threads(RSC_PREFIX<||>_model *m, int on)
{
  if (!m)
    return RSC_UPREFIX<||>_ERR_ARG;
#if !RSC_UPREFIX<||>_HAVE_PIN
  if (on)
    return RSC_UPREFIX<||>_ERR_THREADS;
#endif
  on = on != 0;
  if (on == m->pin)
    return RSC_UPREFIX<||>_OK;
  m->pin = on; /* before the workers (re)start: they read it */
  const int n = m->threads;
  RSC_PREFIX<||>_stop_team(m);
  return RSC_PREFIX<||>_set_threads(m, n);
}

static void RSC_PREFIX<||>_run_team(RSC_PREFIX<||>_model *m, const RSC_IN_CTYPE *input, float *output)
{
  RSC_PREFIX<||>_team *t = &m->team;
  t->input = input;
  t->output = output;
  atomic_store(&t->done, 0);
  mtx_lock(&t->mu);
  atomic_fetch_add(&t->gen, 1u);
  cnd_broadcast(&t->cv);
  mtx_unlock(&t->mu);
  RSC_PREFIX<||>_body(m, input, output, 0, m->threads);
  int spins = 0;
  while (atomic_load(&t->done) != m->threads - 1)
    RSC_PREFIX<||>_wait_step(&spins);
}
#else
static void RSC_PREFIX<||>_sync(RSC_PREFIX<||>_model *m)
{
  (void)m;
}

static void RSC_PREFIX<||>_stop_team(RSC_PREFIX<||>_model *m)
{
  (void)m;
}

int RSC_PREFIX<||>_set_threads(RSC_PREFIX<||>_model *m, int n)
{
  if (!m || n < 1 || n > RSC_UPREFIX<||>_MAX_THREADS)
    return RSC_UPREFIX<||>_ERR_ARG;
  return n == 1 ? RSC_UPREFIX<||>_OK : RSC_UPREFIX<||>_ERR_THREADS;
}

int RSC_PREFIX<||>_pin_threads(RSC_PREFIX<||>_model *m, int on)
{
  if (!m)
    return RSC_UPREFIX<||>_ERR_ARG;
  return on ? RSC_UPREFIX<||>_ERR_THREADS : RSC_UPREFIX<||>_OK;
}

static void RSC_PREFIX<||>_run_team(RSC_PREFIX<||>_model *m, const RSC_IN_CTYPE *input, float *output)
{
  RSC_PREFIX<||>_body(m, input, output, 0, 1);
}
#endif
