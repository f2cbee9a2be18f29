#!/usr/bin/env bash
# Several hrun builds side by side with xargs, in one run on one machine, taking turns in each
# round (a noisy moment on a shared machine hits every runner alike): the launch overhead of
# short tasks, as ratios. Never asserts a timing.
#
#   1. N x /bin/true with --threads 1 (one slot per CPU) against `xargs -P<slots>`;
#   2. M x `sleep 0.01` at -j 16 against the ideal M x 0.01 / 16 s (1.25 s for 2,000).
#
#   benches/engines.sh [NAME=HRUN_BINARY ...]     # default: this tree's target/release/hrun
#   benches/engines.sh new=target/release/hrun main=/tmp/hrun-main pre=/tmp/hrun-pre
#   N=2000 M=2000 ROUNDS=5 benches/engines.sh ...
#   benches/engines.sh --smoke ...                 # tiny sizes: checks the script works
set -euo pipefail
smoke=0
[ "${1:-}" = "--smoke" ] && { smoke=1; shift; }
here=$(cd "$(dirname "$0")" && pwd)
if [ $smoke = 1 ]; then N=${N:-100} M=${M:-64} ROUNDS=${ROUNDS:-1}; fi
N=${N:-2000}
M=${M:-2000}
ROUNDS=${ROUNDS:-5}
runners=("$@")
[ ${#runners[@]} -eq 0 ] && runners=("hrun=$here/../target/release/hrun")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
slots=$(nproc)
echo "machine: $slots CPUs usable ($(grep Cpus_allowed_list /proc/self/status | cut -f2)), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "/bin/true" }' > "$work/true.txt"
awk -v n="$M" 'BEGIN { for (i = 0; i < n; i++) print "sleep 0.01" }' > "$work/sleep.txt"

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
# best and median of a file of seconds
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.3f %.3f\n", v[1], v[int((NR + 1) / 2)] }'; }

names=(); for r in "${runners[@]}"; do names+=("${r%%=*}"); done
for name in "${names[@]}" xargs xargs-sh; do : > "$work/true.$name"; : > "$work/sleep.$name"; done
for _ in $(seq "$ROUNDS"); do
  for r in "${runners[@]}"; do
    name=${r%%=*} bin=${r#*=}
    rm -f "$work/log.jsonl"
    secs "$bin" exec -q --threads 1 --log "$work/log.jsonl" "$work/true.txt" >> "$work/true.$name"
    rm -f "$work/log.jsonl"
    secs "$bin" exec -q -j 16 --log "$work/log.jsonl" "$work/sleep.txt" >> "$work/sleep.$name"
  done
  secs sh -c "xargs -P$slots -n1 /bin/true < $work/true.txt" >> "$work/true.xargs"
  # The floor of any runner on this machine: fork, exec and reap of `sleep` alone, as hrun runs
  # it (a line without shell syntax is exec'd directly); and through a shell, as GNU does.
  secs sh -c "xargs -P16 -I{} sleep 0.01 < $work/sleep.txt" >> "$work/sleep.xargs"
  secs sh -c "xargs -P16 -I{} sh -c 'sleep 0.01' < $work/sleep.txt" >> "$work/sleep.xargs-sh"
done
ideal=$(echo "$M * 0.01 / 16" | bc -l)
read -r xb xm < <(stats "$work/true.xargs")
echo
echo "== $N x /bin/true, --threads 1 ($slots slots); xargs -P$slots -n1; $ROUNDS rounds"
printf "%-10s %9s %9s %14s %14s\n" runner best-s median-s best/xargs median/xargs
for name in "${names[@]}" xargs; do
  read -r b m < <(stats "$work/true.$name")
  printf "%-10s %9.3f %9.3f %14.2f %14.2f\n" "$name" "$b" "$m" "$(echo "$b / $xb" | bc -l)" "$(echo "$m / $xm" | bc -l)"
done
echo
printf "== %s x sleep 0.01 at -j 16 (xargs -P16: sleep exec'd directly; xargs-sh: through sh -c); ideal %.3f s; %s rounds\n" "$M" "$ideal" "$ROUNDS"
read -r _ sxm < <(stats "$work/sleep.xargs")
printf "%-10s %9s %9s %14s %14s %14s\n" runner best-s median-s best/ideal median/ideal median/xargs
for name in "${names[@]}" xargs xargs-sh; do
  read -r b m < <(stats "$work/sleep.$name")
  printf "%-10s %9.3f %9.3f %14.2f %14.2f %14.2f\n" "$name" "$b" "$m" "$(echo "$b / $ideal" | bc -l)" \
    "$(echo "$m / $ideal" | bc -l)" "$(echo "$m / $sxm" | bc -l)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
