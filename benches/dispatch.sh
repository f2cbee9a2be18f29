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
#   JS="16 8" WORKER_TASKS=0 PREV=old/hrun benches/dispatch.sh   # these J only, no worker part,
#                                        # and a previous build of hrun as one more runner
# On a bare machine (no C compiler), SPAWNFLOOR=path/to/spawnfloor names a prebuilt floor.
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
if [ -n "${SPAWNFLOOR:-}" ]; then cp "$SPAWNFLOOR" "$work/spawnfloor"
else cc -O2 -pthread -o "$work/spawnfloor" "$here/spawnfloor.c"; fi
prev=${PREV:-}
cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
n_cpus=$(nproc)
echo "machine: $n_cpus CPUs usable ($cpus), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
command -v rust-parallel >/dev/null || echo "note: rust-parallel not installed (cargo install rust-parallel); left out"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "/bin/true" }' > "$work/true.txt"

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); calc "$t1 - $t0"; }
# Arithmetic with awk, which every machine has (bc is not on every one).
calc() { awk "BEGIN { x = $1; if (x != x) print \"nan\"; else printf \"%.6f\\n\", x }" 2>/dev/null || echo nan; }
ratio() { case "$1$2" in *nan*) echo nan ;; *) calc "$1 / $2" ;; esac; }
best() { sort -g | head -1; }
js=()
if [ -n "${JS:-}" ]; then read -ra js <<< "$JS"
else for j in 1 2 4 8 16 32 64 128 256; do [ "$j" -le "$n_cpus" ] && js+=("$j"); done; fi

echo
echo "== $N x /bin/true, seconds (best of $ROUNDS, the runners taking turns in each round) and tasks/s"
printf "%5s %9s %9s %9s %9s %9s %11s %9s %9s %9s %9s %9s%s\n" J hrun rust-par xargs floor-1 floor-J \
  hrun-task/s mean-us p99-us /rust-par /xargs /floor-J "${prev:+      prev /prev}"
has_rp=0; command -v rust-parallel >/dev/null && has_rp=1
for j in "${js[@]}"; do
  : > "$work/t.h"; : > "$work/t.r"; : > "$work/t.x"; : > "$work/t.f1"; : > "$work/t.fj"; : > "$work/t.p"
  # Interleaved, so that a noisy moment on a shared machine hits every runner alike.
  for _ in $(seq "$ROUNDS"); do
    rm -f "$work/h.jsonl"
    secs "$hrun" exec -q -j "$j" --log "$work/h.jsonl" "$work/true.txt" >> "$work/t.h"
    [ $has_rp = 1 ] && secs rust-parallel -j "$j" -i "$work/true.txt" >> "$work/t.r"
    [ -n "$prev" ] && { rm -f "$work/p.jsonl"; secs "$prev" exec -q -j "$j" --log "$work/p.jsonl" "$work/true.txt" >> "$work/t.p"; }
    secs sh -c "xargs -P$j -n1 /bin/true < $work/true.txt" >> "$work/t.x"
    "$work/spawnfloor" vfork "$N" "$j" >> "$work/t.f1"
    "$work/spawnfloor" threads "$N" "$j" >> "$work/t.fj"
  done
  h=$(best < "$work/t.h") x=$(best < "$work/t.x") f1=$(best < "$work/t.f1") fj=$(best < "$work/t.fj")
  r=nan; [ $has_rp = 1 ] && r=$(best < "$work/t.r")
  lat=$(tail -1 "$work/h.jsonl" | python3 -c 'import json,sys; e=json.load(sys.stdin); print("%.0f %.0f" % (e["dispatch_mean_us"], e.get("dispatch_p99_us", 0)))')
  extra=""
  if [ -n "$prev" ]; then p=$(best < "$work/t.p"); extra=$(printf " %9.3f %9.2f" "$p" "$(ratio "$h" "$p")"); fi
  printf "%5s %9.3f %9.3f %9.3f %9.3f %9.3f %11.0f %9s %9s %9.2f %9.2f %9.2f%s\n" "$j" "$h" "$r" "$x" "$f1" "$fj" \
    "$(ratio "$N" "$h")" "${lat% *}" "${lat#* }" "$(ratio "$h" "$r")" \
    "$(ratio "$h" "$x")" "$(ratio "$h" "$fj")" "$extra"
done

[ "$WORKER_TASKS" -gt 0 ] || exit 0
echo
echo "== $WORKER_TASKS short worker tasks (hrun-mc-pi -n 500000, about 0.5 ms each), all CPUs"
mkdir -p "$work/r"
awk -v n="$WORKER_TASKS" -v w="$worker" -v d="$work/r" \
  'BEGIN { for (i = 1; i <= n; i++) printf "%s -t 1 -n 500000 --seed %d -o %s/mc_pi_%d.toml\n", w, i, d, i }' \
  > "$work/worker.txt"
: > "$work/t.h"; : > "$work/t.r"
for _ in $(seq "$ROUNDS"); do
  rm -f "$work/w.jsonl"
  secs "$hrun" exec -q --log "$work/w.jsonl" "$work/worker.txt" >> "$work/t.h"
  [ $has_rp = 1 ] && secs rust-parallel -j "$n_cpus" -i "$work/worker.txt" -s >> "$work/t.r"
done
h=$(best < "$work/t.h")
util=$(tail -1 "$work/w.jsonl" | python3 -c 'import json,sys; print("%.1f" % (100 * json.load(sys.stdin)["utilisation"]))')
failed=$(tail -1 "$work/w.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["failed"])')
# A figure of failing tasks would measure something else (the worker once could not write its result).
[ "$failed" = 0 ] || echo "WARNING: $failed worker tasks failed: these figures are not of the worker's work"
r=nan; [ $has_rp = 1 ] && r=$(best < "$work/t.r")
printf "hrun %.3f s (slot utilisation %s%%), rust-parallel %.3f s, ratio %.2f\n" "$h" "$util" "$r" \
  "$(ratio "$h" "$r")"
