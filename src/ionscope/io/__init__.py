"""Trajectory input/output: LAMMPS dumps, extended XYZ / ASE .traj, DeePMD npy and H5MD."""

from .frame import Frame, TrajectoryFormatError
from .h5md import H5MDReader, H5MDWriter
from .trajectory import Chunk, Trajectory, open_trajectory
from .unwrap import Unwrapper

__all__ = ["Chunk", "Frame", "H5MDReader", "H5MDWriter", "Trajectory", "TrajectoryFormatError",
           "Unwrapper", "open_trajectory"]
