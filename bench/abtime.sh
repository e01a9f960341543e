#!/bin/bash
# bench/abtime.sh - whole-network A/B time of two generated models, interleaved.
#
#   bench/abtime.sh A.c B.c [PAIRS [THREADS [RUNS]]]
#
# Like bench/abprof.sh, but built without -DNET_PROFILE (cc -O3 -march=native),
# so the per-layer timers cost nothing, and summed up differently: PAIRS
# (default 16) pairs of runs, `net -r RUNS -t THREADS` each (defaults 5 and 1),
# in the order AB, BA, AB, ...; each run's median ms (the model's own
# `net: N runs: median` line) is one sample. Prints each side's median and
# the median of the pairs' B/A ratios with its quartiles: on these VMs the
# speed drifts within seconds, and a pair's two runs share the drift.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,12p "$0" | sed 's/^# \{0,1\}//'; exit 2; }
PY=/usr/bin/python3
a=$1 b=$2 pairs=${3:-16} threads=${4:-1} runs=${5:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
${CC:-cc} -O3 -march=native -std=c11 "$a" -o "$dir/net0" -lm -pthread
${CC:-cc} -O3 -march=native -std=c11 "$b" -o "$dir/net1" -lm -pthread
hv() { grep -m1 -E "^#define NET_$1 [0-9]+\$" "${a%.c}.h" | cut -d' ' -f3; }
head -c $((4 * $(hv BATCH) * $(hv IN_SIZE))) /dev/zero > "$dir/in.f32"
srcs=("$a" "$b")
for p in $(seq "$pairs"); do
  order="0 1"
  [ $((p % 2)) = 0 ] && order="1 0"
  for i in $order; do
    ms=$("$dir/net$i" -w "${srcs[$i]%.c}.weights" -r "$runs" -t "$threads" "$dir/in.f32" \
      "$dir/out.f32" 2>&1 | awk '/runs: median/ {print $5}')
    echo "$p $i $ms" >> "$dir/times"
  done
done
$PY - "$dir/times" <<'EOF'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    p, i, ms = line.split()
    t.setdefault(int(p), {})[int(i)] = float(ms)
a = [v[0] for v in t.values()]
b = [v[1] for v in t.values()]
r = sorted(v[1] / v[0] for v in t.values())
q = lambda f: r[min(len(r) - 1, int(f * len(r)))]
print(f"A median {statistics.median(a):.2f} ms, B median {statistics.median(b):.2f} ms; "
      f"B/A median of {len(r)} pairs {statistics.median(r):.3f} (quartiles {q(0.25):.3f}-{q(0.75):.3f})")
EOF
