#!/bin/bash
# imports.sh - no import circles among compiler/ files. The graph is derived,
# not declared: file A imports file B when A's object uses a symbol B's object
# defines (nm). A circle (ir.c calling entry.c calling ir.c) fails, naming the
# files on it; tsort finds it. Needs the objects: run after make.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
objs=$(ls "$B"/obj/*.o 2>/dev/null)
[ -n "$objs" ] || { echo "FAIL imports: no objects in $B/obj (run make)"; exit 1; }
n=$(ls compiler/*.c | wc -l)
[ "$(echo "$objs" | wc -l)" -eq "$n" ] ||
  { echo "FAIL imports: $B/obj has not one object per compiler/*.c (run make)"; exit 1; }
defs=$(for o in $objs; do f=$(basename "$o" .o)
  nm --defined-only "$o" | awk -v f="$f" 'NF == 3 && $2 ~ /^[TDBR]$/ {print $3, f}'; done | sort -u)
edges=$(for o in $objs; do f=$(basename "$o" .o)
  nm -u "$o" | awk '{print $NF}' | sort -u | join - <(echo "$defs") | awk -v f="$f" '$2 != f {print f, $2}'
done | sort -u)
echo "$edges" | awk '{a[$1] = a[$1] " " $2} END {for (f in a) print "  " f ".c ->" a[f]}' | sort
if loops=$(echo "$edges" | tsort 2>&1 >/dev/null) && [ -z "$loops" ]; then
  echo "ok   imports: $(echo "$edges" | wc -l) imports among $n files, no circle"
  exit 0
fi
echo "FAIL imports: a circle among these files:"
echo "$loops" | sed -n 's/^tsort: /  /p'
exit 1
