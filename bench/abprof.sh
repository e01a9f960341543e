#!/bin/bash
# bench/abprof.sh - per-layer A/B profile of two generated models, interleaved.
#
#   bench/abprof.sh A.c B.c [ROUNDS [THREADS [RUNS]]]
#   bench/abprof.sh A.c     [ROUNDS [THREADS [RUNS]]]   (one model: its medians)
#
# Each X.c must come from `rsc --main --name net -o X.c` (X.weights beside it)
# for the same network. Both are built with -DNET_PROFILE (cc -O3
# -march=native), then run alternately ROUNDS times (default 4), each run
# `net -r RUNS -t THREADS` (defaults 10 and 1) on a zero input, in the
# order AB, BA, AB, ... (use an even ROUNDS). Prints, per
# fused layer, the median over rounds of each side's mean ms and B/A, then the
# network totals. The machines here vary 10-40 % between runs: only side-by-side
# ratios from one invocation mean anything.
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,13p "$0" | sed 's/^# \{0,1\}//'; exit 2; }
PY=/usr/bin/python3
srcs=("$1")
shift
if [ $# -ge 1 ] && [[ $1 == *.c ]]; then srcs+=("$1"); shift; fi
rounds=${1:-4} threads=${2:-1} runs=${3:-10}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
i=0
for s in "${srcs[@]}"; do
  ${CC:-cc} -O3 -march=native -std=c11 -DNET_PROFILE "$s" -o "$dir/net$i" -lm -pthread
  i=$((i + 1))
done
# The input: NET_BATCH images of NET_IN_SIZE floats each (the generated header).
hv() { grep -m1 -E "^#define NET_$1 [0-9]+\$" "${srcs[0]%.c}.h" | cut -d' ' -f3; }
n=$(( $(hv BATCH) * $(hv IN_SIZE) ))
head -c $((4 * n)) /dev/zero > "$dir/in.f32"
# Rounds alternate the order (AB, BA, ...): the second program of a pair runs
# faster on these VMs (A against an identical copy of itself: 0.84x), so a
# fixed order would favour B.
for r in $(seq "$rounds"); do
  order=$(seq 0 $((${#srcs[@]} - 1)))
  [ $((r % 2)) = 0 ] && order=$(echo "$order" | tac)
  for i in $order; do
    s=${srcs[$i]}
    "$dir/net$i" -w "${s%.c}.weights" -r "$runs" -t "$threads" "$dir/in.f32" "$dir/out.f32" \
      2> "$dir/prof$i.$r"
  done
done
$PY - "$dir" "$rounds" "${#srcs[@]}" <<'EOF'
import statistics, sys
d, rounds, sides = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
order, ms = [], [dict() for _ in range(sides)]
for s in range(sides):
    for r in range(1, rounds + 1):
        for line in open(f"{d}/prof{s}.{r}"):
            f = line.split()
            if len(f) == 5 and f[0] == "profile" and f[1] != "layer":
                if f[1] not in ms[0] and s == 0 and r == 1:
                    order.append(f[1])
                ms[s].setdefault(f[1], []).append(float(f[2]))
            elif len(f) >= 9 and f[:2] == ["profile", "net:"]:
                ms[s].setdefault("TOTAL", []).append(float(f[8]))
med = [{k: statistics.median(v) for k, v in m.items()} for m in ms]
hdr = f"{'layer':40s} {'A ms':>9s}" + (f" {'B ms':>9s} {'B/A':>6s}" if sides > 1 else "")
print(hdr)
for k in order + ["TOTAL"]:
    a = med[0].get(k)
    if a is None:
        continue
    row = f"{k:40s} {a:9.4f}"
    if sides > 1 and k in med[1]:
        row += f" {med[1][k]:9.4f} {med[1][k] / a if a else 0:6.3f}"
    print(row)
EOF
