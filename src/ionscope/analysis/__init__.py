"""Analyses of structures and trajectories: ``structure``, ``dynamics`` and ``softness``."""
