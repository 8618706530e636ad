"""Errors that mean "this input cannot be used", each carrying a sentence a non-coder can act on."""


class DatasetError(ValueError):
    """The folder is not a dataset this app can train on; the message says why and what is expected."""


class BackboneUnavailable(RuntimeError):
    """The backbone's weights are not on this computer and cannot be downloaded."""


class CheckpointError(ValueError):
    """A model file this version cannot use (not a model, code inside, another format version); says why."""
