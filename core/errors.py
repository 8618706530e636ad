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

    NOTHING_KEPT = ("the disk is full: the run stopped at epoch {epochs} and no checkpoint had been saved yet; free "
                    "some space, then resume the run")
    KEPT = ("the disk is full: the run stopped at epoch {epochs} and the last good checkpoint (epoch {best}) is kept; "
            "free some space, then resume the run")

    def __init__(self, epochs_run: int, best_epoch: int | None):
        said = self.NOTHING_KEPT if best_epoch is None else self.KEPT
        super().__init__(errno.ENOSPC, said.format(epochs=epochs_run, best=best_epoch))

    def __str__(self) -> str:
        return str(self.strerror)
