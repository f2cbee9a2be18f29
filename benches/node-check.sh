#!/usr/bin/env bash
# node-check.sh: check hrun's pinning and scaling on the node it runs on (meant for a node larger
# than a laptop: 16 to 288 CPUs). Prints a report; exits 1 if a pinning check failed.
#
#   bash benches/node-check.sh [BIN_DIR]      # BIN_DIR holds hrun and hrun-mc-pi (default target/release)
#
# What it does, each step on every CPU this process may use:
#   1. the CPU set (affinity), the topology hrun reads, and `hrun slots` for T = 1, 2, 4, ...;
#   2. pinning: for each T, 2 x (slots) tasks that each compare their own Cpus_allowed_list (read
#      from /proc/self/status) with HRUN_CPUS, and run long enough to overlap; any mismatch fails the
#      task, so hrun's summary must say 0 failed; the slots of one plan must be disjoint;
#   3. scaling of the bundled worker inside one process (`hrun-mc-pi --bench`, 1..N threads);
#   4. scaling of hrun as a whole: `hrun tune` (one full wave of worker tasks per T, weak scaling);
#   5. dispatch: 5000 x `true` with one slot per CPU, beside `xargs -P` with the same parallelism.
# Environment: SAMPLES (per thread for steps 3-4, default 200000000).
set -uo pipefail

BIN=$(cd "${1:-target/release}" && pwd)
HRUN="$BIN/hrun"
WORKER="$BIN/hrun-mc-pi"
SAMPLES=${SAMPLES:-200000000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
failed=0

section() { printf '\n== %s\n' "$*"; }

section "node"
uname -srm
grep -m1 'model name' /proc/cpuinfo
echo "nproc (affinity): $(nproc); online: $(cat /sys/devices/system/cpu/online 2>/dev/null)"
grep Cpus_allowed_list /proc/self/status
n=$(nproc)

section "slots"
threads_list=""
for t in 1 2 4 8 16 32 64; do
    [ "$t" -le "$n" ] && threads_list="$threads_list $t"
done
for t in $threads_list; do
    echo "-- T=$t"
    "$HRUN" slots --threads "$t" | sed 's/^/   /'
    # Disjointness: every CPU appears in at most one slot of the plan.
    "$HRUN" slots --threads "$t" --json > slots.json
    python3 - "$t" <<'EOF' || failed=1
import json, sys
plan = json.load(open("slots.json"))
seen = {}
def expand(lst):
    out = []
    for part in lst.split(","):
        a, _, b = part.partition("-")
        out += range(int(a), int(b or a) + 1)
    return out
for slot in plan["slots"]:
    cpus = expand(slot["cpus"]) if isinstance(slot["cpus"], str) else slot["cpus"]
    assert len(cpus) == int(sys.argv[1]), f"slot {slot} has {len(cpus)} CPUs"
    for c in cpus:
        assert c not in seen, f"CPU {c} in slots {seen[c]} and {slot['slot']}"
        seen[c] = slot["slot"]
print(f"   disjoint: {len(plan['slots'])} slots, {len(seen)} CPUs")
EOF
done

section "pinning (each task compares /proc/self/status with HRUN_CPUS)"
for t in $threads_list; do
    slots=$((n / t))
    tasks=$((2 * slots))
    : > pin.txt
    for _ in $(seq "$tasks"); do
        # shellcheck disable=SC2016 # expanded by the task's shell
        echo 'a=$(awk "/Cpus_allowed_list/{print \$2}" /proc/self/status); sleep 0.3; [ "$a" = "$HRUN_CPUS" ] || { echo "task $HRUN_SEQ: allowed $a, slot $HRUN_CPUS" >&2; exit 1; }' >> pin.txt
    done
    printf 'T=%-3s ' "$t"
    "$HRUN" exec --threads "$t" pin.txt > pin.out 2>&1
    rc=$?
    grep -E 'task\(s\)|allowed' pin.out
    [ "$rc" = 0 ] || { echo "   exit status $rc"; failed=1; }
    rm -f .hrun/pin.hrun.jsonl
done

section "worker scaling inside one process (hrun-mc-pi --bench)"
"$WORKER" --bench -n "$SAMPLES"

section "hrun tune (weak scaling: one wave of worker tasks per T)"
"$HRUN" tune -n "$SAMPLES" --worker "$WORKER"

section "dispatch: 5000 x true, $n slots"
yes true | head -5000 > true.txt
for round in 1 2 3; do
    s=$EPOCHREALTIME
    "$HRUN" exec --quiet --threads 1 true.txt >/dev/null 2>&1
    m=$EPOCHREALTIME
    xargs -P "$n" -I{} sh -c '{}' < true.txt
    e=$EPOCHREALTIME
    rm -f .hrun/true.hrun.jsonl
    awk -v s="$s" -v m="$m" -v e="$e" -v n="$n" -v r="$round" 'BEGIN {
        printf "round %d: hrun exec %.3f s; xargs -P%d sh -c %.3f s; xargs/hrun %.2f\n", r, m - s, n, e - m, (e - m) / (m - s) }'
done

section "result"
if [ "$failed" = 0 ]; then echo "pinning checks passed"; else echo "PINNING CHECKS FAILED"; fi
exit "$failed"
