#!/usr/bin/env bash
# How fast hrun starts short tasks, and how that grows with the slots, on the node it runs on,
# side by side with its peers in one run: N x /bin/true at J = 1, 2, 4, ... slots (up to the
# usable CPUs), for hrun (pinning, rusage and its log on), rust-parallel, xargs, and two C
# floors (one thread: vfork + affinity + wait4 with J in flight; J threads: posix_spawn +
# wait4 each, pinned). Then short worker tasks: slot utilisation and time against
# rust-parallel. Prints seconds, tasks/s and ratios, and hrun's dispatch latency (mean, p99)
# from its log. Never asserts a timing.
#
#   benches/dispatch.sh [BIN_DIR]        # BIN_DIR holds hrun and hrun-mc-pi [target/release]
#   N=10000 WORKER_TASKS=8000 ROUNDS=2 benches/dispatch.sh
#   benches/dispatch.sh --smoke          # tiny sizes: checks the script works
set -euo pipefail
smoke=0
[ "${1:-}" = "--smoke" ] && { smoke=1; shift; }
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../target/release}
hrun=$bin/hrun
worker=$bin/hrun-mc-pi
if [ $smoke = 1 ]; then N=${N:-200} WORKER_TASKS=${WORKER_TASKS:-100} ROUNDS=${ROUNDS:-1}; fi
N=${N:-10000}
WORKER_TASKS=${WORKER_TASKS:-8000}
ROUNDS=${ROUNDS:-2}
export PATH="$HOME/.cargo/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -pthread -o "$work/spawnfloor" "$here/spawnfloor.c"
cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
n_cpus=$(nproc)
echo "machine: $n_cpus CPUs usable ($cpus), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
command -v rust-parallel >/dev/null || echo "note: rust-parallel not installed (cargo install rust-parallel); left out"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "/bin/true" }' > "$work/true.txt"

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
best() { sort -g | head -1; }
js=()
for j in 1 2 4 8 16 32 64 128 256; do [ "$j" -le "$n_cpus" ] && js+=("$j"); done

echo
echo "== $N x /bin/true, seconds (best of $ROUNDS) and tasks/s"
printf "%5s %10s %10s %10s %10s %10s %12s %10s %10s\n" J hrun rust-par xargs floor-1 floor-J hrun-tasks/s mean-us p99-us
for j in "${js[@]}"; do
  h=$(for _ in $(seq "$ROUNDS"); do rm -f "$work/h.jsonl"; secs "$hrun" exec -q -j "$j" --log "$work/h.jsonl" "$work/true.txt"; done | best)
  lat=$(tail -1 "$work/h.jsonl" | python3 -c 'import json,sys; e=json.load(sys.stdin); print("%.0f %.0f" % (e["dispatch_mean_us"], e.get("dispatch_p99_us", 0)))')
  r=-; command -v rust-parallel >/dev/null && r=$(for _ in $(seq "$ROUNDS"); do secs rust-parallel -j "$j" -i "$work/true.txt"; done | best)
  x=$(for _ in $(seq "$ROUNDS"); do secs sh -c "xargs -P$j -n1 /bin/true < $work/true.txt"; done | best)
  f1=$(for _ in $(seq "$ROUNDS"); do "$work/spawnfloor" vfork "$N" "$j"; done | best)
  fj=$(for _ in $(seq "$ROUNDS"); do "$work/spawnfloor" threads "$N" "$j"; done | best)
  printf "%5s %10.3f %10s %10.3f %10.3f %10.3f %12.0f %10s %10s\n" "$j" "$h" "$r" "$x" "$f1" "$fj" \
    "$(echo "$N / $h" | bc -l)" $lat
done

echo
echo "== $WORKER_TASKS short worker tasks (hrun-mc-pi -n 500000, about 0.5 ms each), all CPUs"
mkdir -p "$work/r"
awk -v n="$WORKER_TASKS" -v w="$worker" -v d="$work/r" \
  'BEGIN { for (i = 1; i <= n; i++) printf "%s -t 1 -n 500000 --seed %d -o %s/mc_pi_%d.toml\n", w, i, d, i }' \
  > "$work/worker.txt"
h=$(for _ in $(seq "$ROUNDS"); do rm -f "$work/w.jsonl"; secs "$hrun" exec -q --log "$work/w.jsonl" "$work/worker.txt"; done | best)
util=$(tail -1 "$work/w.jsonl" | python3 -c 'import json,sys; print("%.1f" % (100 * json.load(sys.stdin)["utilisation"]))')
r=-; command -v rust-parallel >/dev/null && r=$(for _ in $(seq "$ROUNDS"); do secs rust-parallel -j "$n_cpus" -i "$work/worker.txt" -s; done | best)
printf "hrun %.3f s (slot utilisation %s%%), rust-parallel %s s\n" "$h" "$util" "$r"
