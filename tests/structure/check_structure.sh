#!/usr/bin/env bash
# The shape rules of docs/architecture.md, checked on every tracked C++ file:
#  1. dependency direction cli -> runner -> {target, proxy, loadgen} -> common: a component never
#     includes another component's or the runner's headers, and common includes none of them;
#  2. no source file grows past 600 lines unless its first 15 lines say why, with a line that
#     contains "longer than 600 lines";
#  3. runner/ is laid out by design (docs/architecture.md "The runner"): only cli.* and
#     orchestrator.* at its top, every other file in one of its sub-folders, each sub-folder with a
#     README.md; no runner file (C++ or JavaScript) over 500 lines; inside runner/ a sub-folder
#     includes only the sub-folders below it in the table of runner_allowed_for, and nothing but
#     the top and envelope/ includes orchestrator.hpp.
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
runner_dirs="scenario system timeline ledger judge assertions report envelope"
runner_allowed_for() {  # the runner sub-folders a runner sub-folder's files may include from
  case "$1" in
    scenario) echo "scenario assertions system" ;;  # system: process_runner.hpp's ReadyCheck
    assertions) echo "assertions ledger scenario" ;;
    ledger) echo "ledger assertions scenario report" ;;
    system) echo "system scenario ledger" ;;
    timeline) echo "timeline system ledger scenario" ;;
    judge) echo "judge system ledger scenario" ;;
    report) echo "report ledger scenario assertions" ;;
    envelope) echo "envelope scenario report ledger system orchestrator" ;;
    *) echo "" ;;
  esac
}
for f in $(git ls-files 'runner/*' 2>/dev/null || find runner -type f); do
  f=${f#./}
  rest=${f#runner/}
  case "$rest" in
    */*) sub=${rest%%/*} ;;
    *) sub="" ;;
  esac
  if [ -z "$sub" ]; then
    case "$rest" in
      cli.cpp | cli.hpp | orchestrator.cpp | orchestrator.hpp | CMakeLists.txt) ;;
      *) echo "$f: at the top of runner/ (only cli.* and orchestrator.* are; see docs/architecture.md)"; fail=1 ;;
    esac
  else
    case " $runner_dirs " in
      *" $sub "*) ;;
      *) echo "$f: runner/$sub/ is not one of the runner's folders ($runner_dirs)"; fail=1 ;;
    esac
  fi
  case "$f" in
    *.cpp | *.hpp | *.js)
      lines=$(wc -l < "$f")
      if [ "$lines" -gt 500 ]; then echo "$f: $lines lines (runner files stay under 500)"; fail=1; fi ;;
  esac
  case "$f" in *.cpp | *.hpp) ;; *) continue ;; esac
  allowed=$(runner_allowed_for "$sub")
  [ -z "$sub" ] && continue
  while IFS= read -r inc; do
    case "$inc" in runner/*) ;; *) continue ;; esac
    r=${inc#runner/}
    case "$r" in */*) dir=${r%%/*} ;; *) dir=${r%.hpp} ;; esac
    case " $allowed " in
      *" $dir "*) ;;
      *) echo "$f: includes \"$inc\": runner/$sub may include only: $allowed"; fail=1 ;;
    esac
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
for d in $runner_dirs; do
  [ -f "runner/$d/README.md" ] || { echo "runner/$d: no README.md saying what the folder is for"; fail=1; }
done
[ "$fail" -eq 0 ] && echo "structure: OK ($(echo "$files" | wc -w) files)"
exit "$fail"
