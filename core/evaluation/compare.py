"""Two runs on the same data, image by image: which pictures B gets right that A got wrong (fixed), the reverse
(broken), each class's accuracy under both, and the settings that differ. Built on each run's cached evaluation."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import DatasetError
from core.events import relay
from core.evaluation.metrics import Evaluation, evaluate_run
from core.evaluation.predictions import EvaluationProgress
from core.runstore.folder import RunFolder

NOT_COMPARED = ("out",)  # config fields that say where a run was written, not how it trained


@dataclass(frozen=True)
class ImageChange:
    """One picture the two runs disagree on being right about, with each run's answer and its probability."""

    path: str
    true: str
    predicted_a: str
    probability_a: float
    predicted_b: str
    probability_b: float


@dataclass(frozen=True)
class ClassChange:
    """One class: its pictures in the split and the accuracy of each run on them (change = B - A)."""

    name: str
    n: int
    accuracy_a: float | None
    accuracy_b: float | None
    change: float | None


@dataclass(frozen=True)
class ConfigChange:
    """A training setting the two runs used differently."""

    field: str
    value_a: object
    value_b: object


@dataclass
class RunDiff:
    """Run B against run A on the same split of the same data."""

    run_a: str
    run_b: str
    split: str
    classes: list[str]
    images: int
    accuracy_a: float | None
    accuracy_b: float | None
    fixed: list[ImageChange] = field(default_factory=list)
    broken: list[ImageChange] = field(default_factory=list)
    both_wrong: int = 0
    per_class: list[ClassChange] = field(default_factory=list)
    config_diff: list[ConfigChange] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready, every picture with both answers."""
        return asdict(self)

    def brief(self) -> dict:
        """JSON-ready, the pictures as counts and lists of paths (what the CLI prints)."""
        full = self.to_dict()
        return {**full, "fixed": len(self.fixed), "broken": len(self.broken),
                "fixed_paths": [c.path for c in self.fixed], "broken_paths": [c.path for c in self.broken]}


def config_changes(run_a: str | Path, run_b: str | Path) -> list[ConfigChange]:
    """The config.json fields whose values differ between two runs (where each was written left out)."""
    a, b = (RunFolder(run).read_config() for run in (run_a, run_b))
    names = list(a) + [name for name in b if name not in a]
    return [ConfigChange(name, a.get(name), b.get(name)) for name in names
            if name not in NOT_COMPARED and a.get(name) != b.get(name)]


def compare_runs(run_a: str | Path, run_b: str | Path, split: str = "valid",
                 stop=None) -> Iterator[EvaluationProgress | RunDiff]:
    """Yield each run's evaluation progress (none when cached), then the RunDiff of B against A; nothing more when
    `stop` is set first. Runs on different classes or images raise DatasetError before anything is evaluated."""
    run_a, run_b = Path(run_a), Path(run_b)
    classes = _same_data(run_a, run_b, split)
    evaluation_a = yield from relay(evaluate_run(run_a, split, stop), Evaluation)
    evaluation_b = None
    if evaluation_a is not None:
        evaluation_b = yield from relay(evaluate_run(run_b, split, stop), Evaluation)
    if evaluation_b is None:
        return
    answers_a, answers_b = _answers(evaluation_a), _answers(evaluation_b)
    paths = [path for path in answers_a if path in answers_b]  # an image one run could not read is left out
    diff = RunDiff(run_a.name, run_b.name, split, classes, len(paths), _accuracy(answers_a, paths),
                   _accuracy(answers_b, paths), config_diff=config_changes(run_a, run_b))
    for path in paths:
        true, predicted_a, probability_a = answers_a[path]
        _, predicted_b, probability_b = answers_b[path]
        right_a, right_b = predicted_a == true, predicted_b == true
        if right_a != right_b:
            change = ImageChange(path, true, predicted_a, probability_a, predicted_b, probability_b)
            (diff.fixed if right_b else diff.broken).append(change)
        diff.both_wrong += int(not right_a and not right_b)
    for name in classes:
        own = [path for path in paths if answers_a[path][0] == name]
        accuracy_a, accuracy_b = _accuracy(answers_a, own), _accuracy(answers_b, own)
        diff.per_class.append(ClassChange(name, len(own), accuracy_a, accuracy_b,
                                          None if not own else accuracy_b - accuracy_a))
    yield diff


def _same_data(run_a: Path, run_b: Path, split: str) -> list[str]:
    """The classes of two runs whose `split` holds the same pictures of the same classes; DatasetError if not."""
    classes_a, items_a = RunFolder(run_a).split_items(split)
    classes_b, items_b = RunFolder(run_b).split_items(split)
    if sorted(classes_a) != sorted(classes_b):
        raise DatasetError(f"{run_a.name} and {run_b.name} were trained on different classes "
                           f"({', '.join(classes_a)} against {', '.join(classes_b)}), so they cannot be compared "
                           "picture by picture.")
    labelled_a = {(str(path), classes_a[y]) for path, y in items_a}
    labelled_b = {(str(path), classes_b[y]) for path, y in items_b}
    if labelled_a != labelled_b:
        raise DatasetError(f"{run_a.name} and {run_b.name} were checked on different {split} pictures "
                           f"({len(labelled_a - labelled_b)} only in the first, {len(labelled_b - labelled_a)} only "
                           "in the second), so they cannot be compared picture by picture.")
    return list(classes_a)


def _answers(evaluation: Evaluation) -> dict[str, tuple[str, str, float]]:
    """path -> (true class, predicted class, its calibrated probability), in the evaluation's order."""
    predictions, probs, predicted = evaluation.predictions, evaluation.probs, evaluation.predicted
    classes = predictions.classes
    return {path: (classes[predictions.labels[i]], classes[predicted[i]], float(probs[i, predicted[i]]))
            for i, path in enumerate(predictions.paths)}


def _accuracy(answers: dict[str, tuple[str, str, float]], paths: list[str]) -> float | None:
    """Share of `paths` whose predicted class is the true one; None for no paths."""
    if not paths:
        return None
    return sum(answers[path][0] == answers[path][1] for path in paths) / len(paths)
