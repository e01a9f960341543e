#!/bin/bash
# robustness.sh - runs every row of docs/robustness.md: each hostile input must
# make rsc exit 1 with the documented message, create no output and leave no
# temporary file, and (for injection rows) execute nothing. Rows are named as in
# the table; a row in the table without a case here, or the reverse, fails.
set -u
cd "$(dirname "$0")/.."
RSC=${RSC:-build/rsc}
W=$(mktemp -d /tmp/rsc-robust.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0 fail=0 ran=()
BASE=specs/resnet-rs-50-i160.spec
DIGITS=examples/digits/digits.spec

# spec_with KEY VALUE...: the RS-50 spec with KEY replaced.
spec_with() {
  local k=$1; shift
  { grep -v -E "^($k|depth|blocks)( |$)" "$BASE"
    [ "$k" = blocks ] || [ "$k" = depth ] || grep -E "^depth " "$BASE"; echo "$k $*"; } > "$W/in.spec"
}
# safetensors HEADER_JSON PAYLOAD_BYTES [LEN_OVERRIDE]
safetensors() {
  python3 -c 'import sys,struct; h=sys.argv[1].encode(); n=int(sys.argv[3]) if len(sys.argv)>3 else len(h); sys.stdout.buffer.write(struct.pack("<Q",n)+h+b"\0"*int(sys.argv[2]))' "$@" > "$W/in.safetensors"
}
# expect ROW PATTERN ARGS...: rsc ARGS -o OUT.c exits 1, prints PATTERN, writes nothing.
expect() {
  local row=$1 pat=$2; shift 2
  ran+=("$row")
  rm -f "$W"/out.* "$W"/PWNED
  local err rc
  err=$(timeout 120 "$RSC" "$@" -o "$W/out.c" 2>&1); rc=$?
  local left; left=$(ls "$W" | grep -v -E '^in\.' | grep -v '^tmp$' || true)
  if [ "$rc" -eq 1 ] && grep -q -E -- "$pat" <<<"$err" && [ -z "$left" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $row: rc=$rc, files left: [$left], wanted /$pat/, got:"; echo "$err" | head -n 5
  fi
}

spec_with depth 50000000;            expect depth-huge "'depth' must be one of" "$W/in.spec"
spec_with blocks 1000000 1 1 1;      expect blocks-huge "'blocks' must be in 1\.\.1000" "$W/in.spec"
spec_with height 1000000;            expect input-huge "'height' must be in 1\.\.65536" "$W/in.spec"
spec_with height 30000; sed -i 's/^width .*/width 30000/' "$W/in.spec"
                                     expect tensor-huge "over the limit of 2147483648 floats per tensor" "$W/in.spec"
spec_with batch 1000000000;          expect batch-huge "'batch' must be in 1\.\.4096" "$W/in.spec"
spec_with classes 2000000000;        expect classes-huge "'classes' must be in 1\.\.1000000" "$W/in.spec"
spec_with widths 100000000 1 1 1;    expect widths-huge "'widths' must be in 1\.\.65536" "$W/in.spec"
spec_with width_multiplier 1e9;      expect multiplier-huge "'width_multiplier' must be in" "$W/in.spec"
expect name-m4 "--name .* is not a C identifier" "$DIGITS" --name "m4_esyscmd(touch $W/PWNED)"
expect name-quote "--name .* is not a C identifier" "$DIGITS" --name '<|x|>'
expect name-comment "--name .* is not a C identifier" "$DIGITS" --name 'a*/b'
expect name-newline "is not a C identifier" "$DIGITS" --name $'a\nb'
[ -e "$W/PWNED" ] && { echo "FAIL name-m4: m4_esyscmd ran"; fail=$((fail + 1)); }
safetensors '{"fc.weight":{"dtype":"F32","shape":[10,64],"data_offsets":[0,1073741824]}}' 0
                                     expect st-offset-outside "tensor .fc.weight.: data_offsets \\[0,1073741824\\] outside the data section" "$DIGITS" --weights "$W/in.safetensors"
safetensors '{}' 0 1099511627776;    expect st-header-len "header length 1099511627776 exceeds the file size" "$DIGITS" --weights "$W/in.safetensors"
printf '\1\2\3' > "$W/in.safetensors"
                                     expect st-truncated "file too short for a safetensors header" "$DIGITS" --weights "$W/in.safetensors"
safetensors '{"a":' 0;               expect st-bad-json "header is not a valid JSON object" "$DIGITS" --weights "$W/in.safetensors"

# Every row of the table has run, and every case here is in the table.
rows=$(sed -n 's/^| `\([a-z0-9-]*\)` |.*/\1/p' docs/robustness.md | sort)
have=$(printf '%s\n' "${ran[@]}" | sort)
if [ "$rows" != "$have" ]; then
  fail=$((fail + 1)); echo "FAIL table: docs/robustness.md rows and tests differ:"; diff <(echo "$rows") <(echo "$have")
fi
echo "robustness: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
