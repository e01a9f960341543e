#!/bin/bash
# doclinks.sh - every cross-reference in the sources and docs resolves inside
# the repository. It reads the Markdown files, the compiler, runtime and
# template sources, the tests, bench/ and tools/ scripts, the Makefile and the
# man page, and checks:
#   - a file path that starts with a top-level directory of the repository
#     (compiler/select.c, docs/kernels.md, bench/tiles.sh, tests/unit/...) or
#     with ../ (relative to the file that mentions it): a file of the
#     repository (tracked, or new and not ignored), a directory of them, a
#     program built from PATH.c, or a path .gitignore covers (a build
#     product); a ../ path must not leave the repository;
#   - a bare NAME.md: some file of the repository is called that;
#   - a Markdown link [text](target): its target, relative to the Markdown
#     file, and its #anchor, one of the target's headings (GitHub's slugs);
#   - a section citation, FILE.md, "Title" or FILE.md "Title" (across comment
#     lines too): FILE.md has a heading that starts with Title.
# Not checked: fenced code blocks of Markdown files (example sessions, with
# files of the reader's), paths with a variable, wildcard or placeholder part
# ($B/..., test_*.c, tests/diag/NAME.spec), URLs. The few mentions of files
# outside the tree on purpose are listed in `allowed` below, with the reason.
# Prints each broken reference as FILE:LINE: ..., then
# "doclinks: N passed, M failed" (N references that resolve, M that do not).
# Usage: tests/doclinks.sh [ROOT] (default: the repository holding this script;
# ROOT may be an unpacked tree without .git). A few seconds; part of make test.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 1

# "FILE PATH": mentions of a path outside the tree that are meant.
allowed=(
  "compiler/main.c ../share/rsc" # the install tree, relative to bin/rsc
)

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  have_git=1
  tracked=$(git ls-files --cached --others --exclude-standard) # new files count before git add
else # an unpacked tree: every file is the repository's
  have_git=0
  tracked=$(find . -path ./.git -prune -o -type f -print | sed 's|^\./||' | sort)
fi
declare -A is_file=() is_dir=() base_count=()
while IFS= read -r f; do
  [ -n "$f" ] || continue
  is_file[$f]=1
  b=${f##*/}
  base_count[$b]=$((${base_count[$b]:-0} + 1))
  d=$f
  while [[ $d == */* ]]; do
    d=${d%/*}
    is_dir[$d]=1
  done
done <<<"$tracked"
tops=$(printf '%s\n' "${!is_dir[@]}" | grep -v / | grep -v '^\.' | sort | paste -sd '|')

ignored() {
  if [ "$have_git" = 1 ]; then
    # $1/x too: a directory pattern (dir/) matches only what is inside
    git check-ignore -q --no-index -- "$1" || git check-ignore -q --no-index -- "$1/x"
  else
    local pat
    while IFS= read -r pat; do
      pat=${pat%/}
      pat=${pat#/}
      [ -n "$pat" ] && [[ $pat != \#* ]] || continue
      # shellcheck disable=SC2053 # .gitignore patterns are globs
      [[ $1 == $pat || $1 == $pat/* || ${1##*/} == $pat ]] && return 0
    done <.gitignore
    return 1
  fi
}

# The files read: what the docs and comments of the project live in (not
# this script: its comments are patterns).
sources=$(printf '%s\n' "$tracked" | grep -E '(^|/)[^/]*\.md$|^compiler/[^/]*\.[ch]$|^runtime/[^/]*\.h$|^templates/[^/]*\.m4$|^tests/([^/]*|unit/[^/]*)\.(sh|py|c)$|^bench/[^/]*\.(sh|c|py|js)$|^tools/[^/]*\.sh$|^docs/rsc\.1$|^Makefile$' | grep -v -e '^generated/' -e '^tests/doclinks\.sh$')

pass=0 fail=0
broken() { # FILE LINE MESSAGE
  echo "$1:$2: $3"
  fail=$((fail + 1))
}

# The text of file $1 as the checks read it: Markdown fences blanked (lines
# kept, so line numbers hold).
text_of() {
  case $1 in
  *.md) awk '/^[ \t]*```/ { fence = !fence; print ""; next } { print fence ? "" : $0 }' "$1" ;;
  *) cat "$1" ;;
  esac
}

# The headings of Markdown file $1, one a line, without the #s and backticks.
headings() {
  awk '/^[ \t]*```/ { fence = !fence; next }
       !fence && /^#+ / { sub(/^#+ +/, ""); gsub(/`/, ""); print }' "$1"
}

# GitHub's anchor for a heading: lower case, punctuation dropped, spaces to -.
slug() {
  printf '%s\n' "$1" | tr 'A-Z' 'a-z' | sed -e 's/[^a-z0-9 _-]//g' -e 's/ /-/g'
}

# Repository path of $2 as mentioned in file $1 (relative to the root, or to
# $1's directory for ../ paths and Markdown links); empty if it leaves
# the repository.
resolve() {
  local from=$1 p=$2 dir
  dir=$(dirname "$from")
  case $p in
  ../*) ;;
  *) [ "${3:-}" = link ] || { printf '%s\n' "$p"; return; } ;;
  esac
  p=$(realpath -m --relative-to=. -- "$dir/$p")
  case $p in
  ..*) ;;
  *) printf '%s\n' "$p" ;;
  esac
}

# Whether repository path $1 exists: a tracked file or directory, a program
# built from $1.c, or a build product .gitignore covers.
exists() {
  local p=${1%/}
  [ -n "${is_file[$p]:-}" ] || [ -n "${is_dir[$p]:-}" ] || [ -n "${is_file[$p.c]:-}" ] || ignored "$p"
}

check_path() { # FILE LINE PATH [link]
  local f=$1 l=$2 p=$3 r a
  for a in "${allowed[@]}"; do
    [ "$a" = "$f $p" ] && { pass=$((pass + 1)); return; }
  done
  r=$(resolve "$f" "$p" "${4:-}")
  if [ -z "$r" ]; then
    broken "$f" "$l" "$p: outside the repository"
  elif exists "$r"; then
    pass=$((pass + 1))
  else
    broken "$f" "$l" "$p: no such file in the repository"
  fi
}

# File $1 has a heading starting with $2 (whitespace as one space), or, with
# $3 = anchor, one whose slug is $2.
has_section() {
  local f=$1 want=$2 h
  while IFS= read -r h; do
    if [ "${3:-}" = anchor ]; then
      [ "$(slug "$h")" = "$want" ] && return 0
    else
      [[ $h == "$want"* ]] && return 0
    fi
  done < <(headings "$f")
  return 1
}

for f in $sources; do
  txt=$(text_of "$f")
  plain=$txt # without Markdown link targets, which the link check reads
  [[ $f == *.md ]] && plain=$(sed -E 's/\]\([^)]*\)/]()/g' <<<"$txt")
  # Paths from the top-level directories, and ../ paths. A path followed
  # by a variable, wildcard, brace or troff escape is a pattern, one ending
  # in - or _ a prefix: neither is checked (the possessive *+ keeps the match
  # from backing off to a shorter path).
  while IFS=: read -r l p; do
    while [[ $p == *[.,:\;] ]]; do p=${p%?}; done # sentence punctuation
    [[ $p == *[-_] ]] && continue
    stem=${p##*/}
    stem=${stem%%.*}
    [[ $stem =~ ^[A-Z][A-Z0-9_]+$ && $p != *.md ]] && continue # NAME.spec: a placeholder
    check_path "$f" "$l" "$p"
  done < <(grep -noP "(?<![A-Za-z0-9_./\$@%{}-])(?:(?:\.\./)+[A-Za-z0-9_+-][A-Za-z0-9_.+/-]*+|(?:$tops)/[A-Za-z0-9_.+/-]*+)(?![\$*{<%\\\\])" <<<"$plain")
  # Bare NAME.md: some file has that name.
  while IFS=: read -r l p; do
    if [ -n "${base_count[$p]:-}" ]; then
      pass=$((pass + 1))
    else
      broken "$f" "$l" "$p: no file of that name in the repository"
    fi
  done < <(grep -noP '(?<![A-Za-z0-9_./-])[A-Za-z0-9_-]+\.md(?![A-Za-z0-9_-])' <<<"$plain")
  # Markdown links, with their anchors.
  if [[ $f == *.md ]]; then
    while IFS=: read -r l p; do
      p=${p#*](}
      p=${p%)}
      p=${p%% *} # [t](target "title")
      case $p in
      *://* | mailto:*) continue ;;
      esac
      target=${p%%#*} anchor=
      [[ $p == *#* ]] && anchor=${p#*#}
      if [ -n "$target" ]; then
        check_path "$f" "$l" "$target" link
        [ -n "$anchor" ] || continue
        r=$(resolve "$f" "$target" link)
        [ -n "$r" ] && [ -n "${is_file[$r]:-}" ] && [[ $r == *.md ]] || continue
      else
        r=$f
      fi
      if [ -n "$anchor" ]; then
        if has_section "$r" "$anchor" anchor; then
          pass=$((pass + 1))
        else
          broken "$f" "$l" "$p: $r has no heading with anchor #$anchor"
        fi
      fi
    done < <(grep -noP '\]\([^)\s]+(?: "[^"]*")?\)' <<<"$txt")
  fi
  # Section citations: FILE.md, "Title" or FILE.md "Title", also across
  # comment lines (their leading * # // dropped; the line is the citation's).
  while IFS=$'\t' read -r l md title; do
    case $md in
    */*) r=$(resolve "$f" "$md") ;;
    *) # a bare name: the one file called that, else docs/NAME
      r=$(printf '%s\n' "$tracked" | grep -E "(^|/)${md//./\\.}\$")
      [ "$(wc -l <<<"$r")" -eq 1 ] || r=docs/$md ;;
    esac
    if [ -z "$r" ] || [ -z "${is_file[$r]:-}" ]; then
      broken "$f" "$l" "$md: no such file in the repository (cited for \"$title\")"
    elif has_section "$r" "$title"; then
      pass=$((pass + 1))
    else
      broken "$f" "$l" "$md: no section \"$title\""
    fi
  done < <(awk '
    { line = $0
      sub(/^[ \t]*(\*|#+|\/\/|m4_dnl)[ \t]?/, "", line) # comment leaders
      start[NR] = length(all) + 1
      all = all line " " }
    END {
      n = 1
      while (match(substr(all, n), /[A-Za-z0-9_.\/-]+\.md,? "[^"]+"/)) {
        s = n + RSTART - 1
        m = substr(all, s, RLENGTH)
        n = s + RLENGTH
        l = NR
        while (l > 1 && start[l] > s) l--
        md = m; sub(/,? ".*/, "", md)
        title = m; sub(/^[^"]*"/, "", title); sub(/"$/, "", title)
        gsub(/  +/, " ", title); gsub(/`/, "", title)
        print l "\t" md "\t" title
      }
    }' <<<"$txt")
done

echo "doclinks: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
