#!/usr/bin/env bash
# The CP2K equation-of-state campaign of issue 13: one core, in the background, beside the
# learning loop (validation/dft/learn.toml); resumable: rerun it and every frame already in
# src/ionscope/data/dft/* (labels.json keys) is skipped.
#   nohup validation/dft/campaign.sh > runs/campaign.log 2>&1 &
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
D=src/ionscope/data/dft
W=runs/dft-work
V=1.00,0.98,0.96,0.94,1.02,1.04,1.06      # ±6 % in volume, from the middle out (restarts)
# 1. beta-Li3PS4 (64 atoms, the data's cell)
ionscope dft label src/ionscope/data/crystals/beta-Li3PS4.cif --repeat 1,1,2 \
  --volumes $V --out $D/eos-beta-Li3PS4 --workdir $W/eos-beta
# 2. gamma-Li3PS4 (16 atoms, the unit cell)
ionscope dft label src/ionscope/data/crystals/gamma-Li3PS4.cif \
  --volumes $V --out $D/eos-gamma-Li3PS4 --workdir $W/eos-gamma
# 3. Li2S (12 atoms, antifluorite at the experimental a = 5.708 Å)
ionscope dft label validation/dft/Li2S-antifluorite.extxyz \
  --volumes $V --out $D/eos-Li2S --workdir $W/eos-Li2S
# 4. the small glass the loop explores (32 atoms, validation/dft/make_small_glass.py)
ionscope dft label validation/dft/small-glass.extxyz \
  --volumes $V --out $D/eos-glass32 --workdir $W/eos-glass32
