#!/bin/bash
# integration.sh - rsc as a user installs and uses it. `make install` with
# PREFIX and DESTDIR into a temporary root must install rsc, its man page and
# everything it reads at run time (templates, runtime header); the installed
# rsc, away from the source tree, must report its version and generate models.
# Then both examples of docs/integration.md are built with it: the Makefile one
# (examples/integration/make) and the CMake one (examples/integration/cmake,
# add_custom_command, --embed-weights); both programs must run and print the
# same 10 outputs (within 1e-4: the two builds may pick different kernels).
# Installs ${B:-build}/rsc; GEN_CFLAGS go to both examples' compiler flags (make sanitize).
# Run from the repository root after `make`. Prints "integration: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
top=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
unset RSC_DATADIR

root=$tmp/root
B=${B:-build}
if make -s install B="$B" PREFIX=/usr DESTDIR="$root" >"$tmp/install.log" 2>&1; then
  ok "make install PREFIX=/usr DESTDIR=..."
else
  bad "make install: $(tail -3 "$tmp/install.log")"
fi
missing=""
for f in usr/bin/rsc usr/share/man/man1/rsc.1 usr/share/rsc/runtime/rsc_kernels.h \
  $(cd "$top" && ls templates/*.m4 | sed 's|^|usr/share/rsc/|'); do
  [ -e "$root/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "installed: bin/rsc, man1/rsc.1, share/rsc/{templates,runtime}" ||
  bad "not installed:$missing"
RSC=$root/usr/bin/rsc
v=$(cd / && "$RSC" --version) && [ "$v" = "$("$B"/rsc --version)" ] && ok "installed rsc --version: $v" ||
  bad "installed rsc --version: '$v'"

# The examples, copied away from the tree so nothing is found by accident.
cp -r examples/integration "$tmp/ex"
if make -s -C "$tmp/ex/make" RSC="$RSC" CFLAGS="-O2 -march=native ${GEN_CFLAGS:-}" >"$tmp/make.log" 2>&1 &&
  "$tmp/ex/make/build/app" "$tmp/ex/make/build/model.weights" >"$tmp/make.out"; then
  ok "Makefile example: generated, built and ran ($(wc -w <"$tmp/make.out") outputs)"
else
  bad "Makefile example: $(tail -5 "$tmp/make.log")"
fi
if (cd "$tmp/ex/cmake" && cmake -S . -B build -DRSC="$RSC" -DCMAKE_C_FLAGS="${GEN_CFLAGS:-}" &&
  cmake --build build) \
  >"$tmp/cmake.log" 2>&1 && "$tmp/ex/cmake/build/app" >"$tmp/cmake.out"; then
  ok "CMake example: add_custom_command, --embed-weights, built and ran"
else
  bad "CMake example: $(tail -5 "$tmp/cmake.log")"
fi
# The CMake program carries its weights: it must not need the .weights any more.
rm -f "$tmp/ex/cmake/build/gen/model.weights"
"$tmp/ex/cmake/build/app" >"$tmp/cmake2.out" 2>&1 && cmp -s "$tmp/cmake.out" "$tmp/cmake2.out" &&
  ok "CMake example runs without the .weights file" || bad "CMake example needs the .weights"
if paste -d'\n' "$tmp/make.out" "$tmp/cmake.out" | awk '
    NR == 1 { n = split($0, a, " ") } NR == 2 { m = split($0, b, " ") }
    END { if (n != 10 || m != 10) exit 1
          for (i = 1; i <= n; i++) { d = a[i] - b[i]; if (d < 0) d = -d; if (d > 1e-4) exit 1 } }'; then
  ok "both examples print the same 10 outputs"
else
  bad "examples disagree: make '$(cat "$tmp/make.out")' cmake '$(cat "$tmp/cmake.out")'"
fi
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
