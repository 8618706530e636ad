"""The run folder's one owner: every file of a run by name, read and written through `RunFolder`, and the rule that
a cached evaluation is current. No other module spells a run's file names (a test greps for them)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from core.data.scan import DatasetIndex, index_from_split_record
from core.errors import DatasetError
from core.system import read_json_object, write_json_atomic

# What a run folder holds, by name: written by training unless said otherwise.
CONFIG = "config.json"  # the TrainConfig that ran
SPLIT = "split.json"  # the exact train/valid/test files
SUMMARY = "summary.json"  # how it ended: status, best accuracy, classes
METRICS = "metrics.jsonl"  # one event a line, the run's lifecycle and curves
SKIPPED = "skipped.json"  # files not used, with the reason
BEST = "best.pt"  # the kept checkpoint (weights only)
LAST = "last.pt"  # the last epoch's state, for continuing
CALIBRATION = "calibration.json"  # temperature and "not sure" threshold of the checkpoint beside it
LABEL = "label.json"  # the user's name and note (Runs tab)
OWNER = "owner.json"  # the process training it, while it trains
SHARED = "shared.json"  # the owner's mark: shown in the demo view or not
EXPORT = "export"  # exported bundles (a folder), made again on demand
BASELINES = "baselines"  # the runs folder's sub-folder of from-scratch comparison runs
KEPT = "kept"  # the runs folder's sub-folder of pictures kept from use (core.runstore.kept), never a run
EVALUATION_SPLITS = {"valid": "", "test": ".test"}  # evaluation.json / evaluation.test.json and their companions
# Where a test/ evaluation was written before one module named the files (read by nothing): removed when it is redone.
OLD_TEST_EVALUATION = ("evaluation.json.test", "predictions.csv.test", "evaluation.npz.test")
LOG_ONLY = (CONFIG, METRICS)  # files whose writing says the run is alive (before and after its first epoch)
NO_SPLIT_IMAGES = "The dataset of {run} has no {split}/ images."
NO_TEST_IMAGES = ("The dataset of {run} has no test/ images; put a test/ folder with one subfolder per class next to "
                  "train/.")


@dataclass(frozen=True)
class EvaluationFiles:
    """The three files a cached evaluation of one split is kept in."""

    results: Path  # evaluation.json: metrics, matrix, calibration and the key they were computed for
    table: Path  # predictions.csv: one row per picture
    arrays: Path  # evaluation.npz: logits, labels and paths

    def all(self) -> tuple[Path, Path, Path]:
        return self.results, self.table, self.arrays


def split_suffix(split: str) -> str:
    """The file-name suffix of a split's evaluation; ValueError for a split that is not evaluated."""
    if split not in EVALUATION_SPLITS:
        raise ValueError(f"split must be one of {', '.join(EVALUATION_SPLITS)}, not {split!r}")
    return EVALUATION_SPLITS[split]


def _named(name: str) -> property:
    """A RunFolder property: the path of the run's file `name`."""
    return property(lambda self: self.path / name, doc=f"The run's {name}.")


@dataclass(frozen=True)
class RunFolder:
    """One run on disk: its files by name, and small reads and writes of them. Holds no state but the path."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def run_id(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        """The path of one of the names above (config, split, summary, …) in this run."""
        return self.path / name

    # Each file's path by its name above: run.config, run.best, run.export, ...
    config, split, summary, metrics, skipped, best = map(_named, (CONFIG, SPLIT, SUMMARY, METRICS, SKIPPED, BEST))
    last, calibration, label, owner, shared, export = map(_named, (LAST, CALIBRATION, LABEL, OWNER, SHARED, EXPORT))

    def evaluation(self, split: str) -> EvaluationFiles:
        """Where the cached evaluation of `split` is kept."""
        suffix = split_suffix(split)
        return EvaluationFiles(self.path / f"evaluation{suffix}.json", self.path / f"predictions{suffix}.csv",
                               self.path / f"evaluation{suffix}.npz")

    def remove_old_test_evaluation(self) -> None:
        """Delete a test/ evaluation kept under the names used before (OLD_TEST_EVALUATION)."""
        for name in OLD_TEST_EVALUATION:
            (self.path / name).unlink(missing_ok=True)

    def is_run(self) -> bool:
        """Whether the folder is a run (it has its config); a link to a folder elsewhere never is."""
        return not self.path.is_symlink() and self.config.is_file()

    def has_checkpoint(self) -> bool:
        return self.best.is_file()

    # Small JSON files: read as a dict ({} when missing or unreadable), written atomically.
    def read_config(self) -> dict:
        return read_json_object(self.config)

    def read_summary(self) -> dict:
        return read_json_object(self.summary)

    def write_config(self, config: dict) -> None:
        write_json_atomic(self.config, config)

    def write_split(self, record: dict) -> None:
        write_json_atomic(self.split, record)

    def write_summary(self, summary: dict) -> None:
        write_json_atomic(self.summary, summary)

    def update_summary(self, **changes) -> None:
        """Change some fields of summary.json (when there is one), keeping the others."""
        summary = self.read_summary()
        if summary:
            self.write_summary({**summary, **changes})

    def write_skipped(self, skipped: dict[str, str]) -> None:
        write_json_atomic(self.skipped, [{"path": p, "reason": r} for p, r in skipped.items()])

    def read_skipped(self) -> dict[str, str]:
        """The files the run did not use, with the reason; empty when it kept no list."""
        try:
            return {item["path"]: item["reason"] for item in json.loads(self.skipped.read_text(encoding="utf-8"))}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def log(self, record: dict) -> None:
        """Append one event to metrics.jsonl and flush, so a crash loses at most the line being written."""
        with open(self.metrics, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def read_split_record(self) -> dict:
        """split.json as written; DatasetError with a sentence when it cannot be read."""
        try:
            record = json.loads(self.split.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise DatasetError(f"{self.run_id} has no readable split.json, so its images are unknown "
                               f"({type(err).__name__}).") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{self.run_id}'s split.json is not a split record.")
        return record

    def dataset_index(self) -> DatasetIndex:
        """The exact DatasetIndex the run trained on."""
        try:
            return index_from_split_record(self.read_split_record())
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DatasetError(f"{self.run_id}'s split.json is damaged ({type(err).__name__}: {err}).") from None

    def split_items(self, split: str = "valid") -> tuple[list[str], list[tuple[Path, int]]]:
        """The classes and the (path, label) items of one split, exactly as the run trained (its split.json)."""
        split_suffix(split)
        index = self.dataset_index()
        if not index.splits.get(split):
            said = NO_TEST_IMAGES if split == "test" else NO_SPLIT_IMAGES
            raise DatasetError(said.format(run=self.run_id, split=split))
        return index.classes, index.splits[split]

    def checkpoint_stamp(self) -> list[int] | None:
        """(size, mtime_ns) of best.pt: what ties calibration and evaluations to the very checkpoint file."""
        try:
            st = self.best.stat()
        except OSError:
            return None
        return [st.st_size, st.st_mtime_ns]

    def evaluation_key(self, split: str) -> str:
        """What an evaluation of `split` depends on: the checkpoint file (its stat) and the split's exact files."""
        ckpt = self.best.stat()
        _, items = self.split_items(split)
        text = json.dumps([ckpt.st_size, ckpt.st_mtime_ns, split, [(str(p), y) for p, y in items]])
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def evaluation_current(self, split: str) -> bool:
        """Whether the cached evaluation of `split` was computed from this checkpoint and these files."""
        saved = read_json_object(self.evaluation(split).results)
        if not saved.get("key"):
            return False
        try:
            return saved["key"] == self.evaluation_key(split)
        except (OSError, DatasetError):
            return False

    def write_calibration(self, temperature: float, threshold: float) -> None:
        """Remember the checkpoint's temperature and threshold, tied to that very checkpoint file."""
        write_json_atomic(self.calibration, {"checkpoint": self.checkpoint_stamp(), "temperature": temperature,
                                             "threshold": threshold})

    def read_calibration(self) -> tuple[float, float] | None:
        """(temperature, threshold) of the current checkpoint, or None when none was fitted for it."""
        saved = read_json_object(self.calibration)
        try:
            if saved["checkpoint"] != self.checkpoint_stamp():
                return None
            return float(saved["temperature"]), float(saved["threshold"])
        except (KeyError, TypeError, ValueError):
            return None

    def calibration_current(self) -> bool:
        return self.read_calibration() is not None


def is_run_id(text: object) -> bool:
    """Whether `text` can name a run: a plain folder name of the runs folder (never a path, never hidden)."""
    return isinstance(text, str) and bool(text) and text == Path(text).name and not text.startswith(".")


def as_folder(run: str | Path | RunFolder) -> RunFolder:
    """A run named by its folder's path, or the RunFolder itself."""
    return run if isinstance(run, RunFolder) else RunFolder(Path(run))
