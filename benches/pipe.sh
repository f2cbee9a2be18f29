#!/usr/bin/env bash
# --pipe and --pipepart side by side with GNU parallel in one run, with the floors they are
# measured against:
#   --pipe --block 10M wc -l on PIPE_MB of lines through `cat file |`, against `cat file | cat | wc -l`
#     (any middleman at least copies the stream once more);
#   --pipepart over PART_MB of lines, wc -l on every slot, against `wc -l file` on one CPU.
# Peak RSS of hrun for the --pipe run at two input sizes (it should not grow with the input).
#
#   benches/pipe.sh            # full: 350 MB through a pipe, 1.5 GB for --pipepart, 5 runs each
#   benches/pipe.sh --smoke    # seconds: small sizes, checks the script works
#
# Environment: PIPE_MB, PART_MB, RUNS, DIR (where the input files go; default $TMPDIR), CARGO
# (the cargo that builds hrun).
# Prints medians and ratios; never asserts a timing. Fails if hrun's count differs from wc's.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
if [ $smoke = 1 ]; then
  PIPE_MB=${PIPE_MB:-20} PART_MB=${PART_MB:-40} RUNS=${RUNS:-2}
else
  PIPE_MB=${PIPE_MB:-350} PART_MB=${PART_MB:-1500} RUNS=${RUNS:-5}
fi
command -v parallel >/dev/null || { echo "GNU parallel is needed (apt-get install parallel)"; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (apt-get install time)"; exit 1; }

"${CARGO:-cargo}" build --release --quiet
hrun=$PWD/target/release/hrun
work=$(mktemp -d "${DIR:-${TMPDIR:-/tmp}}/hrun-pipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PARALLEL_HOME=$work/parallel-home

# A file of numbered lines (about 7-8 bytes each) of at least MB megabytes.
make_lines() { # FILE MB
  local lines=$(( $2 * 1000000 / 8 ))
  seq 1 "$lines" > "$1"
  while [ "$(stat -c %s "$1")" -lt $(( $2 * 1000000 )) ]; do seq 1 1000000 >> "$1"; done
}
make_lines "$work/pipe.txt" "$PIPE_MB"
make_lines "$work/part.txt" "$PART_MB"
pipe_bytes=$(stat -c %s "$work/pipe.txt")
part_bytes=$(stat -c %s "$work/part.txt")
want_pipe=$(wc -l < "$work/pipe.txt")
want_part=$(wc -l < "$work/part.txt")
slots=$(nproc)
# Warm the page cache: the goal is the cache, not the disk.
cat "$work/pipe.txt" "$work/part.txt" > /dev/null

# Median wall seconds of RUNS runs of a shell command; checks the sum of the numbers it prints.
median() { # WANT CMD
  local want=$1 cmd=$2 times=() got
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N)
    got=$(bash -c "$cmd" | awk '{s += $1} END {print s}')
    t1=$(date +%s.%N)
    if [ "$got" != "$want" ]; then echo "FAILED: $cmd counted $got lines, not $want" >&2; exit 1; fi
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}
ratio() { echo "scale=2; $1 / $2" | bc -l; }
gbps() { echo "scale=2; $1 / $2 / 1000000000" | bc -l; }

export HRUN_PROGRESS=none
echo "== --pipe --block 10M wc -l, $((pipe_bytes / 1000000)) MB through a pipe, $slots slots, median of $RUNS"
floor=$(median "$want_pipe" "cat '$work/pipe.txt' | cat | wc -l")
gnu=$(median "$want_pipe" "cat '$work/pipe.txt' | parallel --will-cite --pipe --block 10M wc -l")
h=$(median "$want_pipe" "cat '$work/pipe.txt' | '$hrun' exec --quiet --log none --pipe --block 10M wc -l")
printf '%-34s %7ss  %5sx floor\n' "cat | cat | wc -l (floor)" "$floor" 1.00
printf '%-34s %7ss  %5sx floor\n' "GNU parallel --pipe" "$gnu" "$(ratio "$gnu" "$floor")"
printf '%-34s %7ss  %5sx floor  (GNU/hrun %sx)\n' "hrun exec --pipe" "$h" "$(ratio "$h" "$floor")" "$(ratio "$gnu" "$h")"

echo
echo "== --pipepart wc -l over $((part_bytes / 1000000)) MB (page cache), $slots slots, median of $RUNS"
one=$(median "$want_part" "wc -l < '$work/part.txt'")
gnu=$(median "$want_part" "parallel --will-cite --pipepart -a '$work/part.txt' --block -1 wc -l")
h=$(median "$want_part" "'$hrun' exec --quiet --log none --pipepart -a '$work/part.txt' --block -1 wc -l")
printf '%-34s %7ss  %5s GB/s\n' "wc -l alone (one CPU)" "$one" "$(gbps "$part_bytes" "$one")"
printf '%-34s %7ss  %5s GB/s\n' "GNU parallel --pipepart --block -1" "$gnu" "$(gbps "$part_bytes" "$gnu")"
printf '%-34s %7ss  %5s GB/s  (GNU/hrun %sx, wc/hrun %sx)\n' "hrun exec --pipepart --block -1" "$h" \
  "$(gbps "$part_bytes" "$h")" "$(ratio "$gnu" "$h")" "$(ratio "$one" "$h")"

echo
echo "== hrun's peak RSS for --pipe --block 10M against the input size"
for mb in $((PIPE_MB / 4)) "$PIPE_MB"; do
  head -c "$((mb * 1000000))" "$work/pipe.txt" > "$work/rss.txt"
  kb=$( { /usr/bin/time -f '%M' "$hrun" exec --quiet --log none --pipe --block 10M wc -l < "$work/rss.txt" > /dev/null; } 2>&1 | tail -1)
  printf '%6s MB of input: %s kB\n' "$mb" "$kb"
done
