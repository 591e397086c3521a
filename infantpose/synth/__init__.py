"""Synthetic infants in the MINI-RGBD layout (anny body model + pyrender on OSMesa).

Nothing in the package imports this sub-package except the ``synth`` command:
it needs the ``synth`` extra (anny, pyrender-maintained, PyOpenGL) and torch.
"""
