#!/usr/bin/env bash
# The worker's sampling loop against a hand-written C loop (benches/mcpi_kernel.c), side by
# side in one run, on one core: samples per second of the sampling loop alone (start-up, seeding
# and process creation excluded on both sides), best of ROUNDS interleaved rounds, and the ratio
# to the C AVX2 loop built for this CPU (-O3 -march=native), which issue 29 sets the goal
# against (>= 1.0x). Two clocks: the wall clock (what a user waits), and the CPU time the
# sampling got (samples per CPU-second), which a busy shared machine disturbs far less: a run
# that loses its core for a while loses wall time, not CPU time. The worker's CPU time is the
# whole process's (start-up included), so that column slightly favours the C loop.
#
#   benches/kernel.sh            # full: SAMPLES=1e9 per run, ROUNDS=7
#   benches/kernel.sh --smoke    # seconds: checks the script runs and every variant counts the
#                                # same hits (CI runs this); asserts no timing
#
# Variants: C AVX2 (-march=native: gcc may use AVX-512VL encodings such as vprolq for the
# intrinsics where the CPU has them), C AVX2 (-O3 alone: AVX2 instructions only), C AVX-512,
# and the worker (`hrun-mc-pi -t 1`, its own timer around the sampling) with each kernel
# forced by HRUN_MC_PI_KERNEL, and as it chooses by itself. A variant this CPU cannot run is
# left out with a note. Every variant must count the same hits, or the script fails.
# Environment: SAMPLES, ROUNDS, SEED, CPU (the one CPU every run is pinned to; default: the
# last this process may use, away from CPU 0's interrupts), OTHER (another hrun-mc-pi binary,
# e.g. an older build, measured as one more variant with the kernel it chooses).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
if [ $smoke = 1 ]; then
  SAMPLES=${SAMPLES:-8000000} ROUNDS=${ROUNDS:-1}
else
  SAMPLES=${SAMPLES:-1000000000} ROUNDS=${ROUNDS:-7}
fi
SEED=${SEED:-1}
if [ $((SAMPLES % 8)) != 0 ]; then
  echo "kernel.sh: SAMPLES must be a multiple of 8 (got $SAMPLES)" >&2
  exit 2
fi
cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
CPU=${CPU:-$(echo "$cpus" | tr ',' '\n' | tail -1 | sed 's/.*-//')}

cargo build --release --quiet --bin hrun-mc-pi
worker=$PWD/target/release/hrun-mc-pi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O3 -march=native -Wall -Wextra -Werror -o "$work/c-native" benches/mcpi_kernel.c
cc -O3 -Wall -Wextra -Werror -o "$work/c-plain" benches/mcpi_kernel.c

# name|command printing "HITS SAMPLES_PER_S SAMPLES_PER_CPU_S" (or failing when the CPU lacks
# the kernel)
c_run() { taskset -c "$CPU" "$work/$1" "$2" "$SAMPLES" "$SEED" | awk '{ print $2, $5, $3 / $6 }'; }
rust_run() {
  env -u HRUN_MC_PI_KERNEL ${1:+HRUN_MC_PI_KERNEL=$1} taskset -c "$CPU" "${2:-$worker}" -t 1 -n "$SAMPLES" --seed "$SEED" |
    awk -F' = ' '$1 == "hits" { h = $2 } $1 == "samples_per_s" { r = $2 } $1 == "samples" { n = $2 }
                 $1 == "cpu_s" { c = $2 } $1 == "kernel" { k = $2 }
                 END { gsub(/"/, "", k); print h, r, n / c, k }'
}
variants=(
  "C avx2 (-march=native)|c_run c-native avx2"
  "C avx2 (-O3, AVX2 only)|c_run c-plain avx2"
  "C avx512 (-march=native)|c_run c-native avx512"
  "worker scalar|rust_run scalar"
  "worker avx2|rust_run avx2"
  "worker avx512|rust_run avx512"
  "worker neon|rust_run neon"
)
[ -n "${OTHER:-}" ] && variants+=("other: $OTHER|rust_run '' $OTHER")
echo "machine: $(nproc) CPUs usable ($cpus), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "runs pinned to CPU $CPU; $(cc --version | head -1); $(rustc --version)"
echo "worker chooses: $(rust_run "" | awk '{ print $4 }')"

# Leave out what this CPU cannot run (the C loop exits 3, the worker 2, each with a message).
runnable=()
for v in "${variants[@]}"; do
  name=${v%%|*}
  # shellcheck disable=SC2030 # a short probe: the rounds below keep SAMPLES
  if (SAMPLES=8 && eval "${v#*|}") >/dev/null 2>"$work/err"; then
    runnable+=("$v")
  else
    echo "note: $name left out: $(head -1 "$work/err")"
  fi
done

# Interleave: each round runs every variant once, starting one further along each time, so
# that a burst of load from elsewhere lands on different variants.
: > "$work/runs"
n=${#runnable[@]}
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < n; i++)); do
    v=${runnable[$(((i + r) % n))]}
    read -r hits rate cpu_rate _ < <(eval "${v#*|}")
    printf '%s|%s|%s|%s\n' "${v%%|*}" "$hits" "$rate" "$cpu_rate" >> "$work/runs"
  done
done

echo
# shellcheck disable=SC2031 # SAMPLES was set only in the probe's subshell above
echo "== sampling loop, one core: $SAMPLES samples per run, seed $SEED, best of $ROUNDS interleaved rounds"
awk -F'|' -v ref="C avx2 (-march=native)" '
  { if (!($1 in wall)) order[n++] = $1
    if ($3 > wall[$1]) wall[$1] = $3
    if ($4 > cpu[$1]) cpu[$1] = $4
    seen[$2] = 1; h[$1] = $2 }
  END {
    printf "%-26s %14s %12s %9s %12s %9s\n", "variant", "hits", "S/s wall", "vs C", "S/cpu-s", "vs C"
    for (i = 0; i < n; i++) {
      v = order[i]
      printf "%-26s %14s %12.4e %8.2fx %12.4e %8.2fx\n", v, h[v], wall[v],
        (ref in wall) ? wall[v] / wall[ref] : 0, cpu[v], (ref in cpu) ? cpu[v] / cpu[ref] : 0
    }
    distinct = 0
    for (k in seen) distinct++
    if (distinct != 1) { print "FAIL: the variants counted different hits" > "/dev/stderr"; exit 1 }
    print "every variant counted the same hits; \"vs C\": best over best of " ref
  }' "$work/runs"
