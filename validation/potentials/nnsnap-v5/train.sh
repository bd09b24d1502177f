cd "$(dirname "$0")/../../.."   # the repository root
export OMP_NUM_THREADS=1
python -m ionscope potential train --kind nnsnap --data runs/curated-pbe-d3 src/ionscope/data/dft \
  validation/dft/loop1-labels validation/dft/learn-labels validation/dft/melt-labels --workdir runs/nnsnap-v5 \
  --twojmax 2 --hidden 64 64 --dispersion 10 --batch-frames 2 --epochs 100 --members 1 --label-weight 10 --seed 0 \
  --stride 20 --stride-of glass-iter0-000=2 --stride-of glass-iter0-001=2 --stride-of glass-iter0-002=2 \
  --exclude Li3P S beta-Li3PS4 iter-001-beta32-300K-npt iter-001-beta32-600K-5kbar \
  iter-001-glass-ceramic64-600K iter-001-glass32-1500K iter-001-glass32-600K-npt iter-001-glass32-900K \
  iter-002-beta32-300K iter-002-beta32-450K-v0.97 iter-002-beta32-450K-v1.03 iter-002-beta32-600K-v1.06 \
  iter-002-gamma16-600K iter-002-gamma16-900K-v1.03 iter-002-glass32-300K iter-002-glass32-600K melt64-v120-1500-900K
