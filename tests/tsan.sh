#!/bin/bash
# tsan.sh - two different generated models (RS-50 at 64x64 as prefix a, the
# same spec at 48x48 as prefix b) linked into one program and run at the same
# time from two pthreads, each model also using its own thread pool
# (P_set_threads 2). Built with clang -fsanitize=thread (and gcc's too when
# libtsan is there): TSan must report nothing, and every output must be
# bit-identical to the same model run alone. Then one generated model runs
# under valgrind memcheck, which must report no error.
set -u
cd "$(dirname "$0")/.."
RSC=${RSC:-$PWD/${B:-build}/rsc}
# Under make sanitize (RSC_TEST_SUBSET=1) this suite has nothing to add: its
# programs are built with -fsanitize=thread and valgrind, never ASan, exactly as
# in `make test`, which runs it.
if [ "${RSC_TEST_SUBSET:-0}" = 1 ]; then
  echo "SKIP tsan all: RSC_TEST_SUBSET=1 (TSan and valgrind builds, run by make test)"
  echo "tsan: 0 passed, 0 failed, 1 skipped"
  exit 0
fi
W=$(mktemp -d /tmp/rsc-tsan.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

for p in a:64 b:48; do
  sed -e "s/^height .*/height ${p#*:}/" -e "s/^width .*/width ${p#*:}/" specs/resnet-rs-50-i160.spec >"$W/${p%:*}.spec"
  "$RSC" "$W/${p%:*}.spec" --seed 7 --name "${p%:*}" -o "$W/${p%:*}.c" || bad "rsc ${p%:*}"
done

cat >"$W/two.c" <<'EOF'
/* Runs models a and b concurrently (one pthread each, each with 2 pool
 * threads, RUNS runs each), then each alone, and compares the bits. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "a.h"
#include "b.h"
#define RUNS 2
static A_IN_TYPE in_a[A_IN_SIZE];
static B_IN_TYPE in_b[B_IN_SIZE];
static float out_a[RUNS][A_OUT_SIZE], out_b[RUNS][B_OUT_SIZE], solo_a[A_OUT_SIZE], solo_b[B_OUT_SIZE];
static const char *wa, *wb;
static int run_a(float *dst, int runs) {
  a_model *m;
  int rc = a_open(&m, wa);
  if (!rc) rc = a_set_threads(m, 2);
  for (int i = 0; !rc && i < runs; i++) rc = a_run(m, in_a, dst + (size_t)i * A_OUT_SIZE);
  if (rc) fprintf(stderr, "a: %s\n", a_strerror(rc));
  a_close(m);
  return rc;
}
static int run_b(float *dst, int runs) {
  b_model *m;
  int rc = b_open(&m, wb);
  if (!rc) rc = b_set_threads(m, 2);
  for (int i = 0; !rc && i < runs; i++) rc = b_run(m, in_b, dst + (size_t)i * B_OUT_SIZE);
  if (rc) fprintf(stderr, "b: %s\n", b_strerror(rc));
  b_close(m);
  return rc;
}
static void *thread_a(void *rc) { *(int *)rc = run_a(&out_a[0][0], RUNS); return NULL; }
static void *thread_b(void *rc) { *(int *)rc = run_b(&out_b[0][0], RUNS); return NULL; }
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  wa = argv[1], wb = argv[2];
  for (size_t i = 0; i < A_IN_SIZE; i++) in_a[i] = (A_IN_TYPE)((i * 37 % 101) / 50.0 - 1.0);
  for (size_t i = 0; i < B_IN_SIZE; i++) in_b[i] = (B_IN_TYPE)((i * 53 % 97) / 48.0 - 1.0);
  pthread_t ta, tb;
  int ra = -1, rb = -1;
  if (pthread_create(&ta, NULL, thread_a, &ra) || pthread_create(&tb, NULL, thread_b, &rb)) return 3;
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  if (ra || rb || run_a(solo_a, 1) || run_b(solo_b, 1)) return 4;
  int diff = 0;
  for (int r = 0; r < RUNS; r++) {
    diff |= memcmp(out_a[r], solo_a, sizeof solo_a) != 0;
    diff |= memcmp(out_b[r], solo_b, sizeof solo_b) != 0;
  }
  printf("%s\n", diff ? "DIFFERENT" : "identical");
  return diff ? 5 : 0;
}
EOF

# TSan does not intercept C11 <threads.h> (glibc's thrd_create calls an internal
# pthread_create, so the workers have no TSan state and crash at the first
# instrumented call: google/sanitizers#1603, llvm-project#199585). The TSan
# build therefore links this shim, which defines the C11 calls the generated
# pool uses in terms of the intercepted pthread ones (glibc's thrd_t, mtx_t and
# cnd_t are pthread_t, pthread_mutex_t and pthread_cond_t underneath). The
# generated code itself is unchanged.
cat >"$W/c11_on_pthread.c" <<'EOF'
#include <pthread.h>
#include <stdlib.h>
#include <threads.h>
_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "glibc mtx_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "glibc cnd_t");
typedef struct { thrd_start_t fn; void *arg; } Start;
static void *trampoline(void *p) {
  Start s = *(Start *)p;
  free(p);
  return (void *)(long)s.fn(s.arg);
}
int thrd_create(thrd_t *t, thrd_start_t fn, void *arg) {
  Start *s = malloc(sizeof *s);
  if (!s) return thrd_nomem;
  s->fn = fn, s->arg = arg;
  if (pthread_create((pthread_t *)t, NULL, trampoline, s) != 0) { free(s); return thrd_error; }
  return thrd_success;
}
int thrd_join(thrd_t t, int *res) {
  void *r;
  if (pthread_join((pthread_t)t, &r) != 0) return thrd_error;
  if (res) *res = (int)(long)r;
  return thrd_success;
}
int mtx_init(mtx_t *m, int type) { (void)type; return pthread_mutex_init((pthread_mutex_t *)m, NULL) ? thrd_error : thrd_success; }
int mtx_lock(mtx_t *m) { return pthread_mutex_lock((pthread_mutex_t *)m) ? thrd_error : thrd_success; }
int mtx_unlock(mtx_t *m) { return pthread_mutex_unlock((pthread_mutex_t *)m) ? thrd_error : thrd_success; }
void mtx_destroy(mtx_t *m) { pthread_mutex_destroy((pthread_mutex_t *)m); }
int cnd_init(cnd_t *c) { return pthread_cond_init((pthread_cond_t *)c, NULL) ? thrd_error : thrd_success; }
int cnd_wait(cnd_t *c, mtx_t *m) { return pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m) ? thrd_error : thrd_success; }
int cnd_signal(cnd_t *c) { return pthread_cond_signal((pthread_cond_t *)c) ? thrd_error : thrd_success; }
int cnd_broadcast(cnd_t *c) { return pthread_cond_broadcast((pthread_cond_t *)c) ? thrd_error : thrd_success; }
void cnd_destroy(cnd_t *c) { pthread_cond_destroy((pthread_cond_t *)c); }
EOF

CCFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -O1 -g"
for cc in clang gcc; do
  printf 'int main(void) { return 0; }\n' >"$W/probe.c"
  if ! { $cc -fsanitize=thread "$W/probe.c" -o "$W/probe" 2>/dev/null && "$W/probe"; }; then
    # clang's runtime comes with clang; gcc's needs libtsan (optional here).
    if [ $cc = clang ]; then bad "clang has no TSan runtime"; else echo "SKIP tsan $cc: no libtsan"; fi
    continue
  fi
  if ! $cc $CCFLAGS -fsanitize=thread -I"$W" -o "$W/two_$cc" "$W/two.c" "$W/a.c" "$W/b.c" "$W/c11_on_pthread.c" -lm -lpthread 2>"$W/cc.err"; then
    bad "$cc: build with -fsanitize=thread"; head -n 5 "$W/cc.err"; continue
  fi
  # halt_on_error: the first race fails the run; exitcode 66 tells it apart.
  out=$(cd "$W" && TSAN_OPTIONS="halt_on_error=1 exitcode=66" ./two_$cc a.weights b.weights 2>tsan_$cc.err); rc=$?
  if [ $rc -eq 0 ] && [ "$out" = identical ] && ! grep -q "ThreadSanitizer" "$W/tsan_$cc.err"; then
    ok "$cc -fsanitize=thread: a and b concurrently (2 pool threads each): no race, outputs identical to solo runs"
  else
    bad "$cc TSan: rc=$rc, '$out'"; head -n 20 "$W/tsan_$cc.err"
  fi
done

# valgrind memcheck on model b (48x48) alone, with its pool of 2 threads.
if command -v valgrind >/dev/null; then
  cat >"$W/one.c" <<'EOF'
#include <stdio.h>
#include "b.h"
static B_IN_TYPE in[B_IN_SIZE];
static float out[B_OUT_SIZE];
int main(int argc, char **argv) {
  (void)argc;
  for (size_t i = 0; i < B_IN_SIZE; i++) in[i] = (B_IN_TYPE)((i * 53 % 97) / 48.0 - 1.0);
  b_model *m;
  int rc = b_open(&m, argv[1]);
  if (!rc) rc = b_set_threads(m, 2);
  if (!rc) rc = b_run(m, in, out);
  if (rc) fprintf(stderr, "b: %s\n", b_strerror(rc));
  b_close(m);
  return rc ? 1 : 0;
}
EOF
  if gcc $CCFLAGS -I"$W" -o "$W/one" "$W/one.c" "$W/b.c" -lm -lpthread 2>"$W/cc.err" &&
     (cd "$W" && valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
        ./one b.weights) >"$W/vg.out" 2>&1; then
    ok "valgrind memcheck: model b runs with no error and no leak"
  else
    bad "valgrind memcheck on model b"; head -n 30 "$W/vg.out" "$W/cc.err"
  fi
else
  bad "valgrind not installed (tools/ensure-deps.sh installs it)"
fi

echo "tsan: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
