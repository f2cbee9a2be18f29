#!/usr/bin/env bash
# GNU parallel's own test suite (release 20221122), run with GNU parallel and with a candidate.
#
#   tests/gnu-suite/compare.sh --suite DIR --hrun-exec PATH/TO/hrun [--out FILE.md] [OPTIONS]
#   tests/gnu-suite/compare.sh --suite DIR --parallel DIR [--out FILE.md] [OPTIONS]
#   tests/gnu-suite/compare.sh --self-test
#
# --suite DIR     GNU's testsuite/ (or the release tree holding it). It is not in this repository:
#                 take it from the commit of GNU's tag 20221122 (fc277924dde4) of the upstream git
#                 repository, e.g. `git archive 20221122 testsuite | tar -x -C DIR`.
# --parallel DIR  the parallel under test: DIR/parallel (e.g. a symlink named parallel to hrun;
#                 DIR/sem too if it has one, else sem runs `DIR/parallel --semaphore`).
# --hrun-exec P   until hrun has a parallel personality: `parallel ARGS` runs `P exec ARGS`.
# --gnu DIR       GNU parallel 20221122's directory [/usr/bin]; --parallel /usr/bin compares GNU
#                 with itself (the sanity check: every function GNU runs the same twice passes).
# --work DIR      kept between runs [target/gnu-suite]: GNU's runs are reused while valid, so a
#                 second comparison runs only the candidate (add --fresh to rerun GNU).
# --out FILE.md   also write the results as Markdown (docs/gnu-suite-results.md is one);
# --json FILE     and one record per function as JSON;
# --readme FILE   and rewrite FILE's generated list of the functions in scope that differ (README.md
#                 holds one, between its <!-- gnu-suite-differences ... --> markers).
# OPTIONS         --jobs N (functions at once, 2), --timeout S (per run, 300), --filter REGEX
#                 (script:function), --skip REGEX (scripts not run, 'mem|100s|300s|polar' as
#                 GNU's `make short`; '^$' runs all), --fresh, --no-rerun, --reuse-candidate
#                 (the candidate's kept runs too: to remake the tables after changing them).
#
# Each par_* function runs as GNU's runner runs it (its script's exported functions and
# variables, LANG=C, TMPDIR=/tmp/<script>-tmpdir, cwd testsuite/, parallel in /usr/local/bin) in
# its own sandbox: new mount, PID, network and IPC namespaces, a private /tmp, /srv (HOME and
# working directory) and /dev/shm, everything else read-only, a timeout. Functions that need
# remote hosts, a database, privileges (sudo, mount, killall), the network, or programs not
# installed are classified and not compared. Needs root, util-linux's unshare, perl, python3.
# Full run (2 jobs, 2 cores): about an hour with GNU's runs, minutes when they are reused.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

die() { echo "compare.sh: $*" >&2; exit 2; }
under_tmp() { case "$(realpath -m "$1")/" in /tmp/*) return 0 ;; *) return 1 ;; esac; }

suite= cand= hrun= gnu=/usr/bin work=$root/target/gnu-suite out= selftest=0 pass=()
cmdline="tests/gnu-suite/compare.sh $*"
while [ $# -gt 0 ]; do
  case $1 in
    --suite) suite=$2; shift 2 ;;
    --parallel) cand=$2; shift 2 ;;
    --hrun-exec) hrun=$2; shift 2 ;;
    --gnu) gnu=$2; shift 2 ;;
    --json) pass+=(--json "$(realpath -m "$2")"); shift 2 ;;
    --readme) pass+=(--readme "$(realpath -m "$2")"); shift 2 ;;
    --work) work=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --self-test) selftest=1; shift ;;
    --jobs|--timeout|--filter|--skip|--label) pass+=("$1" "$2"); shift 2 ;;
    --fresh|--no-rerun|--reuse-candidate) pass+=("$1"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "needs root (it sandboxes each test in its own namespaces)"
[ -x "$gnu/parallel" ] || die "no GNU parallel at $gnu/parallel (apt-get install parallel)"
"$gnu/parallel" --version 2>/dev/null | head -1 | grep -q 'GNU parallel 20221122' ||
  echo "compare.sh: note: $gnu/parallel is not GNU parallel 20221122; the suite is 20221122's" >&2
case "$(realpath "$gnu")" in /usr/local/bin*) die "GNU parallel in /usr/local/bin is covered by the sandbox; install it elsewhere" ;; esac
mkdir -p "$work"
work=$(realpath "$work")
under_tmp "$work" && die "--work must not be under /tmp (each test gets a private /tmp)"

if [ $selftest = 1 ]; then
  exec python3 "$here/selftest.py" --gnu "$gnu" --work "$work/selftest"
fi

[ -n "$suite" ] || die "--suite DIR is required (see --help)"
[ -d "$suite/testsuite/tests-to-run" ] && suite=$suite/testsuite
[ -d "$suite/tests-to-run" ] || die "$suite has no tests-to-run/: not GNU parallel's testsuite"
suite=$(realpath "$suite")
if [ -n "$hrun" ]; then
  [ -z "$cand" ] || die "give --parallel or --hrun-exec, not both"
  [ -x "$hrun" ] || die "no executable at $hrun (cargo build --release)"
  hrun=$(realpath "$hrun")
  under_tmp "$hrun" && die "$hrun is under /tmp, which the sandbox replaces"
  cand=$work/hrun-exec
  mkdir -p "$cand"
  printf '#!/bin/sh\n# parallel ARGS as hrun exec ARGS (compare.sh --hrun-exec)\nexec %q exec "$@"\n' \
    "$hrun" > "$cand/parallel"
  chmod 755 "$cand/parallel"
  pass+=(--label "hrun exec")
fi
[ -n "$cand" ] || die "--parallel DIR or --hrun-exec PATH is required (see --help)"
[ -x "$cand/parallel" ] || die "no executable parallel in $cand"
cand=$(realpath "$cand")
for p in "$cand" "$(realpath "$cand/parallel")"; do
  under_tmp "$p" && die "$p is under /tmp, which the sandbox replaces"
done
args=(--suite "$suite" --gnu "$gnu" --candidate "$cand" --work "$work" --command "$cmdline")
[ -n "$out" ] && args+=(--out "$out")
exec python3 "$here/gnusuite.py" "${args[@]}" "${pass[@]}"
