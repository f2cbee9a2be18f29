#!/usr/bin/env bash
# hrun against its peers on this machine, side by side in one run: dispatch speed (N x `true`,
# two at a time), peak memory against task count, and the pi worker's samples/s.
#
#   benches/compare.sh            # full: N=2000, 5 runs each, memory at 10k, 100k and 1M tasks
#   benches/compare.sh --smoke    # seconds: tiny sizes, checks the script works (CI runs this)
#   benches/compare.sh --install  # first installs the missing peers (as root, on Debian)
#
# Peers: GNU parallel (plain, with --joblog, and with the course's taskset + /usr/bin/time -v
# wrappers), xargs -P2, and rust-parallel from crates.io. With --install it installs what is
# missing (Debian's parallel, hyperfine, time with apt-get; `cargo install rust-parallel`);
# without, it changes nothing on the machine. A peer that is missing is left out with a note;
# hyperfine and GNU time, which measure, must be there.
# Environment: N, RUNS, MEM_SIZES override the sizes.
# Prints medians and ratios; never asserts a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
install=0
for arg in "$@"; do
  case $arg in
    --smoke) smoke=1 ;;
    --install) install=1 ;;
    *) echo "usage: benches/compare.sh [--smoke] [--install]" >&2; exit 2 ;;
  esac
done
if [ $smoke = 1 ]; then
  N=${N:-100} RUNS=${RUNS:-2} MEM_SIZES=${MEM_SIZES:-"1000 5000"} SAMPLES=2000000
else
  N=${N:-2000} RUNS=${RUNS:-5} MEM_SIZES=${MEM_SIZES:-"10000 100000 1000000"} SAMPLES=200000000
fi

need=()
command -v parallel >/dev/null || need+=(parallel)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ] && [ $install = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null) ||
    echo "note: could not install ${need[*]}"
elif [ ${#need[@]} -gt 0 ]; then
  echo "note: missing ${need[*]} (benches/compare.sh --install installs them)"
fi
if ! command -v hyperfine >/dev/null || ! [ -x /usr/bin/time ]; then
  echo "compare.sh: needs hyperfine and GNU time (/usr/bin/time): install them, or run with --install" >&2
  exit 2
fi
if ! command -v rust-parallel >/dev/null && [ $smoke = 0 ] && [ $install = 1 ]; then
  cargo install --locked rust-parallel >/dev/null 2>&1 || echo "note: rust-parallel could not be installed; left out"
fi
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --release --quiet
hrun=$PWD/target/release/hrun
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lines() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) print "true" }'; }
lines "$N" > "$work/true.txt"
mkdir -p "$work/time"
cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
echo "machine: $(nproc) CPUs usable ($cpus), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

echo
echo "== dispatch: $N x true, 2 at a time ($RUNS runs each, median)"
cmds=(-n "hrun (pinning, rusage, run log)" "$hrun exec -j2 --log $work/h.jsonl $work/true.txt")
command -v rust-parallel >/dev/null && cmds+=(-n "rust-parallel" "rust-parallel -j2 -i $work/true.txt")
cmds+=(-n "xargs -P2" "xargs -P2 -n1 true < $work/true.txt")
if command -v parallel >/dev/null; then
  cmds+=(-n "GNU parallel" "parallel -j2 < $work/true.txt")
  cmds+=(-n "GNU parallel --joblog" "parallel -j2 --joblog $work/p.log < $work/true.txt")
  cmds+=(-n "GNU parallel + taskset + time -v" \
    "parallel -j2 --joblog $work/p2.log 'taskset -c \$(( {%} - 1 )) /usr/bin/time -v -o $work/time/{#} {}' :::: $work/true.txt")
fi
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$work/dispatch.json" \
  --prepare "rm -f $work/h.jsonl $work/p.log $work/p2.log" "${cmds[@]}" >/dev/null
python3 - "$work/dispatch.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
hrun = res[0]["median"]
print(f"{'command':<36} {'median s':>9} {'vs hrun':>9}")
for r in res:
    m = r["median"]
    print(f"{r['command']:<36} {m:>9.3f} {m / hrun:>8.2f}x")
PY

echo
echo "== peak memory of hrun exec (quick tasks, 2 at a time; /usr/bin/time max RSS)"
printf '%-10s %10s %10s\n' tasks "max RSS" "wall"
for size in $MEM_SIZES; do
  lines "$size" > "$work/mem.txt"
  rm -f "$work/m.jsonl"
  /usr/bin/time -f "%M %e" -o "$work/mem.out" "$hrun" exec -j2 --log "$work/m.jsonl" "$work/mem.txt" 2>/dev/null
  read -r kb secs < "$work/mem.out"
  awk -v n="$size" -v kb="$kb" -v s="$secs" 'BEGIN { printf "%-10s %7.1f MB %8.1f s\n", n, kb / 1024, s }'
done
rm -f "$work/mem.txt" "$work/m.jsonl"

echo
echo "== the pi worker"
"$PWD/target/release/hrun-mc-pi" --bench -n "$SAMPLES"
