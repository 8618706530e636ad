"""Errors that mean "this input cannot be used", each carrying a sentence a non-coder can act on."""
import errno


class DatasetError(ValueError):
    """The folder is not a dataset this app can train on; the message says why and what is expected."""


class BackboneUnavailable(RuntimeError):
    """The backbone's weights are not on this computer and cannot be downloaded."""


class CheckpointError(ValueError):
    """A model file this version cannot use (not a model, code inside, another format version); says why."""


class DiskFull(OSError):
    """Saving a file of the run found the disk full: the run stopped, its last good checkpoint kept."""

    def __init__(self, epochs_run: int, best_epoch: int | None):
        kept = "no checkpoint had been saved yet" if best_epoch is None else \
            f"the last good checkpoint (epoch {best_epoch}) is kept"
        super().__init__(errno.ENOSPC, f"the disk is full: the run stopped at epoch {epochs_run} and {kept}; "
                                       "free some space, then resume the run")

    def __str__(self) -> str:
        return str(self.strerror)
