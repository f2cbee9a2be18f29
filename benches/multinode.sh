#!/usr/bin/env bash
# hrun over the nodes of a Slurm job, three ways side by side, on a throw-away local Slurm
# (slurm/dev/local-slurm.sh: node1..node3, each declaring this machine's CPUs), or on the
# cluster SLURM_CONF names if it is set (that one is left running).
#
# Makespan: TASKS `sleep D` with seeded long-tailed lengths (lognormal, median 0.25 s, sigma 1,
# clamped to 0.02-3 s), run in ONE `sbatch -N3 --exclusive` job three ways, one after another:
#   (a) hrun exec --nodes all             one hrun, a launcher per node, each task to the first
#                                         free slot of any node (dynamic balance)
#   (b) srun --ntasks-per-node=1 hrun exec --shard auto
#                                         static shards: task i to node ((i-1) mod 3)+1
#   (c) srun --exclusive -N1 -n1 -c1 bash -c TASK per task, at most 6 in flight
# For each: makespan, its ratio to the lower bound max(sum/6, longest) for 3 nodes x 2 slots,
# idle slot-seconds (6 x makespan - sum), and for (a)/(b) each node's busy seconds from hrun's
# logs. Throughput: TRUES x `true` with --nodes over 1, 2 and 3 nodes (the same job), tasks/s,
# beside the same hrun with no --nodes on the batch node's own slots.
# Prints tables and ratios; never asserts a timing, but fails if a method's run fails or a
# task is missing.
#
#   benches/multinode.sh [BIN_DIR]          # BIN_DIR holds hrun [target/release]
#   TASKS=80 TRUES=600 ROUNDS=2 SEED=7 benches/multinode.sh
#   benches/multinode.sh --smoke            # tiny sizes: checks the script works (< 60 s)
#
# Needs root, Slurm and munge (slurm/dev/local-slurm.sh install) unless SLURM_CONF is set, and
# python3. Here the three nodes share one machine's CPUs: timings are oversubscribed whenever
# more than one node's slots run CPU work, which sleeps and `true`s barely do.
set -euo pipefail
smoke=0
[ "${1:-}" = "--smoke" ] && { smoke=1; shift; }
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:-$here/../target/release}" && pwd)
hrun=$bin/hrun
if [ $smoke = 1 ]; then TASKS=${TASKS:-12} TRUES=${TRUES:-60} ROUNDS=${ROUNDS:-1}; fi
TASKS=${TASKS:-80}
TRUES=${TRUES:-600}
ROUNDS=${ROUNDS:-1}
SEED=${SEED:-7}
[ -x "$hrun" ] || { echo "multinode: no $hrun (cb build --release)" >&2; exit 1; }
work=$(mktemp -d)
cluster=
job=
cleanup() {
  if [ -n "$job" ]; then scancel "$job" >/dev/null 2>&1 || true; fi
  if [ -n "$cluster" ]; then "$here/../slurm/dev/local-slurm.sh" stop "$cluster" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${SLURM_CONF:-}" ]; then
  cluster=$work/cluster
  chmod 755 "$work" # munged runs as munge and must reach its socket's directory
  # --watch: if this script is killed past its trap, the cluster is stopped all the same.
  "$here/../slurm/dev/local-slurm.sh" start "$cluster" --watch $$ >/dev/null
  export SLURM_CONF=$cluster/slurm.conf
  echo "cluster: a local Slurm in $cluster (node1..node3 on this one machine)"
else
  echo "cluster: SLURM_CONF=$SLURM_CONF (left running)"
fi
echo "machine: $(nproc --all) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); hrun $("$hrun" --version 2>/dev/null | head -1)"

run=$work/run
mkdir -p "$run"
# Park-Miller's generator (exact in any awk's doubles) and Box-Muller: the same list everywhere.
awk -v n="$TASKS" -v seed="$SEED" 'function u() { x = (x * 16807) % 2147483647; return x / 2147483647 }
  BEGIN { x = seed; pi = atan2(0, -1)
    for (i = 1; i <= n; i++) {
      z = sqrt(-2 * log(u())) * cos(2 * pi * u()); d = exp(log(0.25) + z)
      if (d < 0.02) d = 0.02; if (d > 3) d = 3
      printf "sleep %.3f\n", d } }' > "$run/tasks.txt"
awk -v n="$TRUES" 'BEGIN { for (i = 0; i < n; i++) print "true" }' > "$run/true.txt"

# The job: each method in its own directory (its own logs), timed from the batch node.
cat > "$run/job.sh" <<'EOF'
#!/bin/bash
set -u
now() { date +%s.%N; }
# timed KIND NAME ROUND DIR TASKFILE CMD...: runs CMD in DIR (a copy of TASKFILE there);
# appends "KIND NAME ROUND SECONDS RC DIR" to times.txt.
timed() {
  local kind=$1 name=$2 round=$3 dir=$4 file=$5 t0 t1 rc
  shift 5
  mkdir -p "$dir" && cp "$file" "$dir/"
  t0=$(now)
  (cd "$dir" && "$@" > out.txt 2> err.txt)
  rc=$?
  t1=$(now)
  echo "$kind $name $round $(echo "$t1 - $t0" | bc -l) $rc $dir" >> times.txt
}
# (c): one srun step per task, at most 6 in flight; each task's status in rc/SEQ.
per_task() {
  local i=0 cmd
  mkdir -p rc
  while IFS= read -r cmd; do
    i=$((i + 1))
    while [ "$(jobs -pr | wc -l)" -ge 6 ]; do wait -n; done
    { srun --exclusive -N1 -n1 -c1 bash -c "$cmd" < /dev/null; echo $? > "rc/$i"; } &
  done < tasks.txt
  wait
}
mapfile -t hosts < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
h=$MB_HRUN
for r in $(seq "$MB_ROUNDS"); do
  timed make a "$r" "a$r" tasks.txt "$h" exec --nodes all --threads 1 --deadline none tasks.txt
  timed make b "$r" "b$r" tasks.txt srun --nodes=3 --ntasks-per-node=1 --cpus-per-task=2 \
    "$h" exec --shard auto --threads 1 --deadline none tasks.txt
  timed make c "$r" "c$r" tasks.txt per_task
done
for r in $(seq "$MB_ROUNDS"); do
  timed true local "$r" "t0-$r" true.txt "$h" exec -q --threads 1 --deadline none true.txt
  timed true 1 "$r" "t1-$r" true.txt "$h" exec -q --nodes "${hosts[0]}" --threads 1 --deadline none true.txt
  timed true 2 "$r" "t2-$r" true.txt "$h" exec -q --nodes "${hosts[0]},${hosts[1]}" --threads 1 --deadline none true.txt
  timed true 3 "$r" "t3-$r" true.txt "$h" exec -q --nodes all --threads 1 --deadline none true.txt
done
EOF

cd "$run"
job=$(MB_HRUN=$hrun MB_ROUNDS=$ROUNDS sbatch --parsable -N3 --exclusive -o job.out job.sh)
job=${job%%;*}
limit=$((smoke ? 120 : 1800))
t0=$SECONDS
while [ -n "$(squeue -h -j "$job" -o %T 2>/dev/null)" ]; do
  if [ $((SECONDS - t0)) -gt $limit ]; then
    echo "multinode: job $job still running after ${limit}s; cancelled" >&2
    exit 1
  fi
  sleep 0.2
done
job=

# shellcheck disable=SC2016 # the Python program
python3 - "$TASKS" "$TRUES" "$ROUNDS" <<'EOF'
import collections, glob, heapq, json, os, sys
n_tasks, n_trues, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
durs = [float(l.split()[1]) for l in open("tasks.txt")]
total, longest = sum(durs), max(durs)
bound = max(total / 6, longest)
print(f"\n== makespan: {n_tasks} x sleep (lognormal, median 0.25 s, clamped 0.02-3 s), 3 nodes x 2 slots")
print(f"sum {total:.2f} s, longest {longest:.2f} s, lower bound max(sum/6, longest) = {bound:.2f} s")
runs = [l.split() for l in open("times.txt")] if os.path.exists("times.txt") else []
bad = []

def records(d):
    """Last-attempt task records of a directory's logs, each with its node."""
    out = []
    for f in sorted(glob.glob(os.path.join(d, ".hrun", "*.hrun.jsonl"))):
        node = None
        for line in open(f):
            e = json.loads(line)
            if e.get("kind") == "run":
                node = (e.get("slurm") or {}).get("node") or e.get("host")
            elif e.get("kind") == "task" and e.get("last_attempt", True):
                # (b)'s shards run where the host name is the machine's: the run's node counts.
                e["node"] = e.get("host") if e.get("host", "").startswith("node") else node
                out.append(e)
    return out

def check(kind, name, rnd, rc, d, n):
    if rc != "0":
        bad.append(f"{kind} {name} round {rnd}: exit {rc}; its stderr:\n" + open(os.path.join(d, "err.txt")).read())
    if kind == "make" and name == "c":
        rcs = {int(f): open(os.path.join(d, "rc", f)).read().strip() for f in os.listdir(os.path.join(d, "rc"))}
        ok = {s for s, v in rcs.items() if v == "0"}
    else:
        ok = {e["seq"] for e in records(d) if e.get("exit") == 0}
    if ok != set(range(1, n + 1)):
        missing = sorted(set(range(1, n + 1)) - ok)
        bad.append(f"{kind} {name} round {rnd}: {len(missing)} tasks missing or failed: {missing[:20]}")

def list_schedule(ds, k):
    """Makespan of tasks in list order, each to the first free of k slots, no overhead."""
    free = [0.0] * k
    for d in ds:
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free)

# What each method's policy reaches with no overhead at all: its makespan less this is its cost.
floor = {"a": list_schedule(durs, 6), "c": list_schedule(durs, 6),
         "b": max(list_schedule(durs[i::3], 2) for i in range(3))}
print(f"with no overhead: dynamic over 6 slots {floor['a']:.2f} s, static shards over 3 x 2 slots {floor['b']:.2f} s")
names = {"a": "(a) hrun --nodes all", "b": "(b) srun + hrun --shard auto", "c": "(c) srun step per task"}
best = {}
print(f"{'method':<30} {'round':>5} {'makespan':>9} {'x bound':>8} {'idle slot-s':>12} {'- floor':>8}  per-node busy s (tasks)")
for kind, name, rnd, secs, rc, d in runs:
    if kind != "make":
        continue
    secs = float(secs)
    check(kind, name, rnd, rc, d, n_tasks)
    busy = ""
    if name != "c":
        per = collections.defaultdict(lambda: [0.0, 0])
        for e in records(d):
            per[e["node"]][0] += e["wall_s"]
            per[e["node"]][1] += 1
        busy = ", ".join(f"{k} {v[0]:.2f} ({v[1]})" for k, v in sorted(per.items()))
    print(f"{names[name]:<30} {rnd:>5} {secs:9.2f} {secs / bound:8.2f} {6 * secs - total:12.2f} {secs - floor[name]:8.2f}  {busy}")
    best[name] = min(best.get(name, secs), secs)
    if name == "c":
        err = open(os.path.join(d, "err.txt")).read()
        waits = err.count("creation temporarily disabled")
        if waits:
            print(f"{'':<30} {rnd:>5} ({waits} of its sruns waited: 'Job step creation temporarily disabled, retrying')")
if len(best) == 3:
    a, b, c = best["a"], best["b"], best["c"]
    print(f"best of rounds: (a) {a:.2f} s = {a / bound:.2f}x the bound; (a)/(b) {a / b:.2f}, (a)/(c) {a / c:.2f}")

print(f"\n== throughput: {n_trues} x true with hrun exec --nodes over 1, 2, 3 nodes")
print("(the nodes share one machine's CPUs: this measures hrun's stream protocol, not a cluster's scaling)")
print(f"{'nodes':>5} {'round':>5} {'seconds':>8} {'tasks/s':>8} {'hrun makespan':>14} {'tasks/s':>8} {'dispatch ms':>12}")
for kind, name, rnd, secs, rc, d in runs:
    if kind != "true":
        continue
    secs = float(secs)
    check(kind, name, rnd, rc, d, n_trues)
    ends = [json.loads(l) for f in glob.glob(os.path.join(d, ".hrun", "*.hrun.jsonl")) for l in open(f)]
    end = next((e for e in ends if e.get("kind") == "end"), {})
    ms, lat = end.get("makespan_s", float("nan")), end.get("dispatch_mean_us", float("nan")) / 1000
    print(f"{name:>5} {rnd:>5} {secs:8.2f} {n_trues / secs:8.0f} {ms:14.2f} {n_trues / ms:8.0f} {lat:12.2f}")
print("(local: no --nodes, the batch node's own slots; seconds: hrun's whole run, launchers' srun "
      "included; hrun makespan and dispatch mean (slot free -> next exec): from its run log)")
if len(runs) != 7 * rounds:
    bad.append(f"{len(runs)} runs recorded, {7 * rounds} expected; the job's output:\n"
               + (open("job.out").read() if os.path.exists("job.out") else "(none)"))
for b in bad:
    print("multinode: FAILED: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
echo "(${SECONDS} s in all, cluster start and job included)"
