#!/usr/bin/env bash
# The shape rules of docs/architecture.md, checked on every tracked C++ file:
#  1. dependency direction cli -> runner -> {target, proxy, loadgen} -> common: a component never
#     includes another component's or the runner's headers, and common includes none of them;
#  2. no source file grows past 600 lines unless its first 15 lines say why, with a line that
#     contains "longer than 600 lines".
# Usage: check_structure.sh SOURCE_DIR. Exit 1 naming every violation.
set -euo pipefail
cd "$1"
fail=0
allowed_for() {  # the top-level folders a folder's files may include from
  case "$1" in
    common) echo "common" ;;
    target | proxy | loadgen) echo "common $1" ;;
    runner) echo "common target proxy loadgen runner" ;;
    *) echo "" ;;  # cli, tests, bench: anything
  esac
}
files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find . -name '*.cpp' -o -name '*.hpp')
for f in $files; do
  f=${f#./}
  top=${f%%/*}
  allowed=$(allowed_for "$top")
  if [ -n "$allowed" ]; then
    while IFS= read -r inc; do
      dir=${inc%%/*}
      case " common target proxy loadgen runner " in *" $dir "*) ;; *) continue ;; esac
      case " $allowed " in
        *" $dir "*) ;;
        *) echo "$f: includes \"$inc\": $top may include only: $allowed"; fail=1 ;;
      esac
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
  fi
  lines=$(wc -l < "$f")
  if [ "$lines" -gt 600 ] && ! head -n 15 "$f" | grep -qi "longer than 600 lines"; then
    echo "$f: $lines lines (over 600) and its header does not say why (\"longer than 600 lines ...\")"
    fail=1
  fi
done
[ "$fail" -eq 0 ] && echo "structure: OK ($(echo "$files" | wc -w) files)"
exit "$fail"
