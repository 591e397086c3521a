"""Errors a user can act on. The CLI prints them as one line and exits with 2."""


class InfantposeError(Exception):
    """Base class: the message names the file or value and the problem."""


class BundleError(InfantposeError):
    """A model bundle is missing, malformed or fails its sha256 check."""


class DatasetError(InfantposeError):
    """A dataset file is missing or malformed."""
