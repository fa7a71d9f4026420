#!/bin/bash
# The stages of benchmarks/README.md "After the second rework". Usage: stages.sh [REPO] [OUT]
SRC=${1:-.}; O=${2:-calibration-final}
cd $SRC
P=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=1 PYTHONPATH=$SRC
run() { echo "== $(date -u +%H:%M) stage: $*"; nice -n 10 $P benchmarks/calibration.py --out $O --workers ${WORKERS:-2} --policies default,ml-training,external-sharing "$@" | tail -2; }
# A. honest data at every shape, 5 seeds (the >= 95 % criterion)
run --tables adult,discrete,missing,ids,wide --shapes 1:1-300,4:1-2k,8:1-2k,small-synthetic --cases honest --seeds 0-4
# B. every planted defect at the three main shapes
run --tables adult,discrete,missing,ids --shapes 1:1-300,4:1-2k,8:1-2k --seeds 0
# C. shapes that must not pass
run --shapes tiny-holdout,holdout=train --cases honest,jitter-10 --seeds 0
# D. the defects whose catch starts at 2,000 rows, two seeds
run --tables adult,missing,ids --shapes 1:1-2k --cases honest,jitter-5,shift,weak-signal --seeds 0-1
# E. the largest Adult split
run --tables adult --shapes 4:1-40k --cases honest,jitter-5,shift --seeds 0
# F. the 74-column table's defects
run --tables wide --shapes 1:1-300,4:1-2k --cases jitter-10,independent,collapse --seeds 0
run --tables adult,discrete,missing,ids --shapes small-synthetic --cases jitter-10,replayed-ids,shuffled-target --seeds 0
echo GRID-DONE $(date -u +%H:%M)
