"""``python -m infantpose.cli`` (the package's import already installed the stop signals)."""

from infantpose.cli import main

main()
