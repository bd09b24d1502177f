#!/usr/bin/env bash
# The CP2K labelling campaign of issue 13, one core, in the background; resumable: rerun it and
# every frame already in src/ionscope/data/dft/* (labels.json keys) is skipped.
#   nohup validation/dft/campaign.sh > runs/campaign.log 2>&1 &
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
D=src/ionscope/data/dft
W=runs/dft-work
# 1. equation of state of beta-Li3PS4 (64 atoms, the data's cell), +-6 % in volume
ionscope dft label src/ionscope/data/crystals/beta-Li3PS4.cif --repeat 1,1,2 \
  --volumes 1.00,0.98,0.96,0.94,1.02,1.04,1.06 --out $D/eos-beta-Li3PS4 --workdir $W/eos-beta
# 2. explored 300-900 K crystal and glass frames (validation/dft/explore_round0.py)
[ -f runs/explore0/glass-75Li2S.extxyz ] || python validation/dft/explore_round0.py runs/explore0
for sys in beta-Li3PS4 glass-75Li2S; do
  ionscope dft label runs/explore0/$sys.extxyz --out $D/md-$sys --workdir $W/md-$sys
done
# 3. level of theory of more AIMD systems (docs/level-of-theory.md)
for sys in P2S5 Li Li7PS6; do
  ionscope dft label ../shared/data/lips-dft/$sys --frames 0:1 --preset lips-pbe \
    --out runs/level-check/$sys --workdir $W/level-$sys
done
# 4. equation of state of gamma-Li3PS4 (128 atoms)
ionscope dft label src/ionscope/data/crystals/gamma-Li3PS4.cif --repeat 2,2,2 \
  --volumes 1.00,0.97,0.94,1.03,1.06 --out $D/eos-gamma-Li3PS4 --workdir $W/eos-gamma
