"""Dataset readers returning numpy :class:`Sample` objects (no torch)."""

from infantpose.datasets.common import Sample
from infantpose.datasets.minirgbd import MiniRGBD
from infantpose.datasets.mpi_inf_3dhp import MPIInf3DHP
from infantpose.datasets.mpii import MPIIDataset

__all__ = ["MPIIDataset", "MPIInf3DHP", "MiniRGBD", "Sample"]
