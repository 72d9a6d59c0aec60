# Timing helpers sourced by scripts/benchmark and scripts/gpu-check (not run on its own).
# REPEATS: how many timed runs time_process takes the median of (after one warm-up run).

# a / b, or nan when b is not positive.
div() { awk -v a="$1" -v b="$2" 'BEGIN {print (b > 0) ? a / b : "nan"}'; }

# The median of the numbers on standard input, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# Median wall time in seconds of a whole command over REPEATS runs, after one warm-up run.
time_process() {
  "$@" >/dev/null 2>&1
  for _ in $(seq "${REPEATS:-7}"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
  done | median
}
