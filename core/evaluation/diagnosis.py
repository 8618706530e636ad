"""What an evaluation suggests doing next, as findings (a kind and its figures); the GUI words them."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.data.scan import class_counts
from core.errors import DatasetError
from core.evaluation.metrics import Evaluation
from core.runstore.folder import RunFolder
from core.runstore.log import events

LOW_RECALL = 0.8
OVERFIT_GAP = 0.15
OVERCONFIDENT_ECE = 0.05
CARRIED_WARNINGS = ("leakage", "label_conflict", "duplicates", "near_duplicates")  # from the data check


@dataclass(frozen=True)
class Finding:
    """One thing worth doing something about: `kind` names it, `values` fill its sentence."""

    kind: str
    values: dict = field(default_factory=dict)


def diagnose(evaluation: Evaluation, run_dir: str | Path) -> list[Finding]:
    """Low-recall classes with their training counts, pairs confused both ways or often, memorising, and
    confidence that needed calibrating."""
    run_dir = Path(run_dir)
    metrics, classes = evaluation.metrics(), evaluation.predictions.classes
    train_counts = _train_counts(run_dir, classes)
    findings = [Finding("low_recall", {"name": name, "recall": m["recall"], "train": train_counts.get(name, 0),
                                       "more": max(10, train_counts.get(name, 0))})
                for name, m in metrics["per_class"].items() if m["support"] and m["recall"] < LOW_RECALL]
    matrix = evaluation.confusion()
    both = {tuple(sorted((a, b))) for a in range(len(classes)) for b in range(len(classes))
            if a != b and matrix[a, b] and matrix[b, a]}
    findings += [Finding("confused_both", {"a": classes[a], "b": classes[b]}) for a, b in sorted(both)]
    findings += [Finding("confused_one", {"true": t, "predicted": p, "count": n})
                 for t, p, n in evaluation.most_confused(3)
                 if n >= 2 and tuple(sorted((classes.index(t), classes.index(p)))) not in both]
    train_acc = _best_train_accuracy(run_dir)
    if train_acc is not None and train_acc - metrics["accuracy"] > OVERFIT_GAP:
        findings.append(Finding("overfit", {"train": train_acc, "valid": metrics["accuracy"]}))
    if _deeper_would_pay(run_dir, metrics["accuracy"], metrics["images"]):
        findings.insert(0, Finding("deeper", {"valid": metrics["accuracy"]}))  # the step that usually gains the most
    findings += [Finding("data_check", {"message": w["message"]}) for w in _data_warnings(run_dir)]
    if evaluation.calibration.ece_before > OVERCONFIDENT_ECE:
        findings.append(Finding("overconfident", {"ece": evaluation.calibration.ece_before}))
    return findings


# freezing modes that leave most of the backbone as pretrained (and "deep" where its deeper stage did not run)
SHALLOW = ("frozen", "top", "deep")


def _deeper_would_pay(run_dir: Path, accuracy: float, pictures: int) -> bool:
    """Whether training more of the backbone (Best quality) is the step to name: the run left the deeper layers as
    they were, its backbone has them, and it is well below the ceiling where the automatic recipe goes deeper."""
    from core.models.backbones import BACKBONES
    from core.training.escalation import CEILING, MIN_WRONG

    folder = RunFolder(run_dir)
    config = folder.read_config()  # {} when missing or unreadable: nothing to say
    spec = BACKBONES.get(config.get("backbone"))
    if config.get("freeze") not in SHALLOW or spec is None or spec.deep is None:
        return False
    if any(e.get("stage") == 3 for e in events(folder, {"StageStarted"})):
        return False
    return accuracy < CEILING and round((1 - accuracy) * pictures) >= MIN_WRONG


def _data_warnings(run_dir: Path) -> list[dict]:
    """The data check's warnings about duplicates and leakage in the run's split, when the check remembers it."""
    from core.data.health import remembered_report

    try:
        index = RunFolder(run_dir).dataset_index()
    except DatasetError:
        return []
    report = remembered_report(index)
    return [w for w in report.warnings if w["kind"] in CARRIED_WARNINGS] if report else []


def _train_counts(run_dir: Path, classes: list[str]) -> dict[str, int]:
    try:
        record = RunFolder(run_dir).read_split_record()
    except DatasetError:
        return {}
    return class_counts((label for _, label in record["splits"].get("train", [])), classes)


def _best_train_accuracy(run_dir: Path) -> float | None:
    """Training accuracy in the epoch whose checkpoint was kept (from metrics.jsonl)."""
    best = [e.get("train_acc") for e in events(RunFolder(run_dir), {"EpochDone"}) if e.get("is_best")]
    return best[-1] if best else None
