#!/bin/sh
# Regenerates screening_02f3058*.csv/.md: the Morris screen of docs/VALIDATION.md section 9,
# Step 1, on the model at commit 02f3058 (1,000 units, 4 trajectories, seed 1, replicate 0;
# noise floor from 8 replicates at the file's values). Run from the repository root after
# `make .venv/bin/sim`; the study folder runs/screen is not kept in the repository.
set -e
R=docs/results
mkdir -p runs
.venv/bin/python $R/screening_02f3058_left_out.py > $R/screening_02f3058_left_out.csv \
    2> runs/screening_params.txt
KEYS=$(tail -1 runs/screening_params.txt)
.venv/bin/sim sensitivity scenarios/base.yaml --method morris --samples 4 --targets \
    --units 1000 --workers 2 --params "$KEYS" --out runs/screen
cp runs/screen/screening.csv $R/screening_02f3058.csv
cp runs/screen/screening.md $R/screening_02f3058.md
cp runs/screen/noise.csv $R/screening_02f3058_noise.csv
# The same screen on a second Morris design (sampler seed 2; the model's streams and the noise
# replicates are the same): how stable the kept set is.
.venv/bin/sim sensitivity scenarios/base.yaml --method morris --samples 4 --targets \
    --units 1000 --workers 2 --params "$KEYS" --seed 2 --out runs/screen_seed2
cp runs/screen_seed2/screening.csv $R/screening_02f3058_seed2.csv
cp runs/screen_seed2/screening.md $R/screening_02f3058_seed2.md
