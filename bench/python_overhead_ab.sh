#!/usr/bin/env bash
# Interleaved A/B of bench/python_overhead.py: ROUNDS rounds, each running the bench once for every
# arm in turn, so that a busy spell of the machine falls on all arms alike; the load average is
# printed before each run. An arm is LABEL=PYTHONPATH, optionally with an environment setting
# after a colon (LABEL=PYTHONPATH:VAR=VALUE); the bench's own flags follow --.
#   bench/python_overhead_ab.sh 10 main=/path/to/main/python branch=build/python \
#     branch-python-kernels=build/python:QLINEAR_TORCH_OP_KERNELS=python -- --device cuda
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=$1
shift
arms=()
while (($#)) && [ "$1" != "--" ]; do
  arms+=("$1")
  shift
done
[ "${1:-}" = "--" ] && shift
python=${PYTHON:-python3}
for ((round = 1; round <= rounds; ++round)); do
  for arm in "${arms[@]}"; do
    label=${arm%%=*}
    spec=${arm#*=}
    path=${spec%%:*}
    setting=""
    [ "$spec" != "$path" ] && setting=${spec#*:}
    echo "== round $round $label (load $(cut -d' ' -f1-3 /proc/loadavg))"
    env PYTHONPATH="$path" ${setting:+"$setting"} "$python" bench/python_overhead.py "$@"
  done
done
