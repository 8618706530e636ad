"""`Evaluation`: a run's predictions on a split as an object to query (fastai's ClassificationInterpretation):
scikit-learn's metrics, the confusion matrix and the files behind each cell, the mistakes by loss. `evaluate_run`
computes one, with its calibration, or reads it back from the run folder when nothing changed."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from core.calibration import Calibration, calibrate, softmax
from core.evaluation.predictions import EvaluationProgress, SplitPredictions, predict_split
from core.events import relay
from core.runstore.folder import RunFolder
from core.system import atomic_write, write_json_atomic

TOP_K = 3


@dataclass
class Evaluation:
    """What a run's model said about every image of one split, with calibrated probabilities."""

    run_id: str
    predictions: SplitPredictions
    calibration: Calibration

    @property
    def probs(self) -> np.ndarray:
        return softmax(self.predictions.logits, self.calibration.temperature)

    @property
    def predicted(self) -> np.ndarray:
        return self.predictions.logits.argmax(axis=1)

    def losses(self) -> np.ndarray:
        """Cross-entropy of each image under the calibrated probabilities."""
        p = self.probs[np.arange(len(self.predictions.labels)), self.predictions.labels]
        return -np.log(np.clip(p, 1e-12, 1.0))

    def metrics(self) -> dict:
        """Accuracy, balanced accuracy, top-k accuracy and each class's precision, recall, F1 and support."""
        from sklearn.metrics import (
            accuracy_score,
            balanced_accuracy_score,
            precision_recall_fscore_support,
            top_k_accuracy_score,
        )

        y, pred, classes = self.predictions.labels, self.predicted, self.predictions.classes
        labels = list(range(len(classes)))
        precision, recall, f1, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
        k = min(TOP_K, len(classes) - 1)
        return {
            "images": int(len(y)), "accuracy": float(accuracy_score(y, pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
            f"top{k}_accuracy": float(top_k_accuracy_score(y, self.probs, k=k, labels=labels)) if k > 1 else None,
            "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                                 "support": int(support[i])} for i, name in enumerate(classes)},
        }

    def confusion(self, normalize: bool = False) -> np.ndarray:
        """Rows: true class, columns: predicted class; counts, or each row's shares."""
        from sklearn.metrics import confusion_matrix

        return confusion_matrix(self.predictions.labels, self.predicted,
                                labels=list(range(len(self.predictions.classes))),
                                normalize="true" if normalize else None)

    def cell(self, true: int, predicted: int) -> list[tuple[str, float]]:
        """The files behind one cell of the matrix, with the predicted class's confidence, most confident first."""
        hits = np.flatnonzero((self.predictions.labels == true) & (self.predicted == predicted))
        confidence = self.probs[hits, predicted]
        return [(self.predictions.paths[i], float(c)) for i, c in sorted(zip(hits, confidence), key=lambda t: -t[1])]

    def most_confused(self, n: int = 5) -> list[tuple[str, str, int]]:
        """(true, predicted, count) for the off-diagonal cells, largest first."""
        matrix, classes = self.confusion(), self.predictions.classes
        pairs = [(classes[t], classes[p], int(matrix[t, p])) for t in range(len(classes)) for p in range(len(classes))
                 if t != p and matrix[t, p]]
        return sorted(pairs, key=lambda r: -r[2])[:n]

    def mistakes(self, n: int = 24) -> list[dict]:
        """The wrong images, then the least confident right ones, highest loss first."""
        losses, probs, y = self.losses(), self.probs, self.predictions.labels
        order = np.argsort(-losses)[:n]
        return [{"path": self.predictions.paths[i], "true": self.predictions.classes[y[i]],
                 "predicted": self.predictions.classes[self.predicted[i]], "confidence": float(probs[i].max()),
                 "loss": float(losses[i]), "wrong": bool(self.predicted[i] != y[i])} for i in order]

    def to_dict(self, key: str) -> dict:
        """evaluation.json: the metrics, the matrix and the calibration, with what they were computed from."""
        return {"run_id": self.run_id, "split": self.predictions.split, "key": key, "classes": self.predictions.classes,
                "metrics": self.metrics(), "confusion": self.confusion().tolist(),
                "most_confused": self.most_confused(), "calibration": self.calibration.to_dict(),
                "skipped": [{"path": p, "reason": r} for p, r in self.predictions.skipped]}

    def table(self) -> str:
        """predictions.csv: one row per image (file, true, predicted, confidence, loss, top-k)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["path", "true", "predicted", "confidence", "loss", "top_k"])
        classes, probs, losses = self.predictions.classes, self.probs, self.losses()
        for i, path in enumerate(self.predictions.paths):
            top = np.argsort(-probs[i])[:TOP_K]
            writer.writerow([path, classes[self.predictions.labels[i]], classes[self.predicted[i]],
                             f"{probs[i].max():.6f}", f"{losses[i]:.6f}",
                             " ".join(f"{classes[c]}:{probs[i, c]:.6f}" for c in top)])
        return out.getvalue()


def evaluate_run(run_dir: str | Path, split: str = "valid", stop=None) -> Iterator[EvaluationProgress | Evaluation]:
    """Yield progress, then the run's Evaluation on `split`; read back from the run folder while the checkpoint and
    the split are unchanged, else computed and saved (evaluation.json, predictions.csv, evaluation.npz).

    The temperature is always fitted on the validation split, never on test/.
    """
    run_dir = Path(run_dir)
    files = RunFolder(run_dir).evaluation(split)
    key = RunFolder(run_dir).evaluation_key(split)
    cached = _read(run_dir, split, key)
    if cached is not None:
        yield cached
        return
    predictions = yield from relay(predict_split(run_dir, split, stop), SplitPredictions)
    if predictions is None:
        return
    calibration = calibrate(predictions.logits, predictions.labels) if split == "valid" else _valid_calibration(run_dir)
    evaluation = Evaluation(run_dir.name, predictions, calibration)
    if split == "valid":  # prediction answers "not sure" from now on, also for a run trained before calibration
        RunFolder(run_dir).write_calibration(calibration.temperature, calibration.threshold)
    write_json_atomic(files.results, evaluation.to_dict(key))
    atomic_write(files.table, evaluation.table().encode())
    buffer = io.BytesIO()
    np.savez(buffer, logits=predictions.logits, labels=predictions.labels, paths=np.asarray(predictions.paths))
    atomic_write(files.arrays, buffer.getvalue())
    if split == "test":
        RunFolder(run_dir).remove_old_test_evaluation()
    yield evaluation


def evaluation_of(run_dir: str | Path, split: str = "valid") -> Evaluation | None:
    """`evaluate_run` without its progress: the run's Evaluation on `split` (read back when unchanged)."""
    return next((item for item in evaluate_run(run_dir, split) if isinstance(item, Evaluation)), None)


def _valid_calibration(run_dir: Path) -> Calibration:
    """The calibration fitted on the run's validation split (evaluated first if it has not been)."""
    return evaluation_of(run_dir, "valid").calibration


def _read(run_dir: Path, split: str, key: str) -> Evaluation | None:
    """The saved evaluation of this split, if it was computed from the same checkpoint and files."""
    files = RunFolder(run_dir).evaluation(split)
    try:
        saved = json.loads(files.results.read_text())
        if saved.get("key") != key:
            return None
        arrays = np.load(files.arrays, allow_pickle=False)
        predictions = SplitPredictions(split, saved["classes"], arrays["paths"].tolist(), arrays["labels"],
                                       arrays["logits"], [(s["path"], s["reason"]) for s in saved["skipped"]])
        return Evaluation(saved["run_id"], predictions, Calibration(**saved["calibration"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
