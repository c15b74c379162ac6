#!/usr/bin/env bash
# Samples one running .NET service with perf and prints where its CPU goes, by component.
#   tools/profile/cpu-profile.sh PID [SECONDS] [OUTPUT.perf]
# Start the service with DOTNET_PerfMapEnabled=1 and DOTNET_EnableWriteXorExecute=0 so that perf can name JIT-compiled
# methods (without the second, JIT code lives in a memfd mapping perf does not look up), and put it under load
# (wrk) for the whole sampling window, after a warm-up long enough for tiered compilation to finish.
set -euo pipefail
pid=${1:?usage: cpu-profile.sh PID [SECONDS] [OUTPUT.perf]}
seconds=${2:-20}
output=${3:-/tmp/hyperion-$pid.perf}
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
tr '\0' '\n' < "/proc/$pid/environ" | grep -q '^DOTNET_PerfMapEnabled=1$' \
  || echo "warning: $pid was not started with DOTNET_PerfMapEnabled=1; managed frames will be unnamed" >&2
perf record -F 999 -g -p "$pid" -o "$output" -- sleep "$seconds" 2>&1 | tail -1
python3 "$(dirname "$0")/where_time_goes.py" "$output"
