#!/usr/bin/env bash
# The Python pattern: mapping a function over many inputs, one interpreter per input versus a
# script that takes many inputs per call (hrun exec -N), versus multiprocessing.Pool, on the
# same inputs, side by side on this machine. Prints the median of ROUNDS runs of each.
#   bash benches/python-pattern.sh [HRUN] [INPUTS] [ROUNDS]
set -euo pipefail
hrun=${1:-$(cd "$(dirname "$0")/.." && pwd)/target/release/hrun}
hrun=$(realpath "$hrun") # the runs below happen in a scratch directory
n=${2:-2000}
rounds=${3:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cpus=$(nproc)

cat > work.py <<'PY'
"""A user's function, and a script that applies it to every input given on its command line."""
import math, sys

def f(x):
    return sum(math.sin(x * i) for i in range(2000))

if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg, f(float(arg)))
PY
cat > pool.py <<'PY'
import sys
from multiprocessing import Pool
from work import f

if __name__ == "__main__":
    n, procs = int(sys.argv[1]), int(sys.argv[2])
    with Pool(procs) as pool:
        for x, y in zip(range(n), pool.map(f, [float(i) for i in range(n)], chunksize=max(1, n // (4 * procs)))):
            print(x, y)
PY

time_of() {  # seconds one command takes
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > out.txt 2> err.txt || { echo "failed: $*" >&2; cat err.txt >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }'; }

per_call=$((n / cpus))
declare -A label=(
  [one]="hrun exec python3 work.py (one interpreter per input)"
  [batched]="hrun exec -N $per_call python3 work.py ($cpus interpreters)"
  [quarter]="hrun exec -N $((n / 8)) python3 work.py (8 interpreters)"
  [pool]="multiprocessing.Pool($cpus).map"
)
run_one() {
  case $1 in
    one) seq 0 $((n - 1)) | time_of "$hrun" exec -q --log one.jsonl python3 work.py ;;
    batched) seq 0 $((n - 1)) | time_of "$hrun" exec -q --log b.jsonl -N "$per_call" python3 work.py ;;
    quarter) seq 0 $((n - 1)) | time_of "$hrun" exec -q --log q.jsonl -N $((n / 8)) python3 work.py ;;
    pool) time_of python3 pool.py "$n" "$cpus" ;;
  esac
}
echo "$n inputs, $cpus CPUs, median of $rounds rounds; $(python3 --version)"
printf "%-62s %8s\n" "command" "seconds"
for k in one batched quarter pool; do
  times=$(for _ in $(seq "$rounds"); do rm -f ./*.jsonl; run_one "$k"; done | median)
  [ "$(wc -l < out.txt)" -eq "$n" ] || { echo "$k: expected $n lines of output" >&2; exit 1; }
  printf "%-62s %8s\n" "${label[$k]}" "$times"
done
