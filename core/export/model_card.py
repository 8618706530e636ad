"""MODEL_CARD.md of an exported run: its classes, data, recipe, results per class, and what it is (not) good for."""
from __future__ import annotations

import datetime
from pathlib import Path

from core.models.onnx import ONNX_OPSET
from core.runstore.checkpoint import CheckpointMeta
from core.runstore.folder import RunFolder
from core.system import read_json_object

APP_VERSION = "0.1.0"  # Transfer Studio's version, written into every export


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _data_section(split: dict, classes: list[str]) -> tuple[list[str], int, int]:
    """The data table (images per class and split) from split.json, and the train and valid totals."""
    splits = split.get("splits", {})
    names = [s for s in ("train", "valid", "test") if s in splits]
    counts = {s: [0] * len(classes) for s in names}
    for s in names:
        for _, label in splits[s]:
            if 0 <= int(label) < len(classes):
                counts[s][int(label)] += 1
    held_out = (f"{split['valid_fraction']:.0%} of each class held out for validation (seed {split.get('seed')})"
                if split.get("layout") != "split" and split.get("valid_fraction") else "its own valid/ folder")
    lines = [f"Dataset folder: `{Path(split.get('root', '?')).name}`; validation pictures: {held_out}.", "",
             "| class | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [f"| {c} | " + " | ".join(str(counts[s][i]) for s in names) + " |" for i, c in enumerate(classes)]
    lines.append("| **total** | " + " | ".join(f"**{sum(counts[s])}**" for s in names) + " |")
    return lines, sum(counts.get("train", [0])), sum(counts.get("valid", [0]))


def _recipe_section(meta: CheckpointMeta, config: dict, summary: dict) -> list[str]:
    from core.config import FREEZE_MODES

    freeze = summary.get("freeze") or meta.freeze
    head = meta.head + (f" (hidden {meta.hidden}, dropout {meta.dropout})" if meta.head != "linear" else "")
    rows = [("backbone", meta.backbone), ("what trained", FREEZE_MODES[freeze].title if freeze in FREEZE_MODES
                                           else freeze), ("head", head),
            ("epochs run", f"{summary.get('epochs_run', '?')} (best: epoch {summary.get('best_epoch', meta.epoch)})"),
            ("image size", f"{meta.image_size} px"),
            ("optimizer", (f"{config.get('optimizer', '?')}, learning rate {config.get('lr', '?')}, "
                          f"schedule {config.get('scheduler', '?')}")),
            ("augmentations", config.get("augment", "?")), ("batch", config.get("batch", "?")),
            ("seed", config.get("seed", "?")), ("status", summary.get("status", "?"))]
    return ["| setting | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]


def _metrics_section(metrics: dict, calibration: tuple[float, float] | None) -> list[str]:
    top = next(((k, v) for k, v in metrics.items() if k.startswith("top") and v is not None), None)
    top_k = f", top-{top[0][3:].split('_')[0]} accuracy {_pct(top[1])}" if top else ""
    lines = [(f"Accuracy {_pct(metrics['accuracy'])}, balanced accuracy {_pct(metrics['balanced_accuracy'])}{top_k} "
             f"on {metrics['images']} pictures."),
             "", "| class | precision | recall | F1 | pictures |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {_pct(m['precision'])} | {_pct(m['recall'])} | {_pct(m['f1'])} | {m['support']} |"
              for name, m in metrics["per_class"].items()]
    if calibration:
        lines += ["", (f"Probabilities are calibrated (temperature {calibration[0]:.3f}); below a top probability of "
                      f"{calibration[1]:.1%} the answer is marked \"not sure\" (calibration.json).")]
    return lines


def _limits_section(classes: list[str], trained: int, validated: int, threshold: float | None) -> list[str]:
    not_sure = (f"the \"not sure\" flag (top probability under {threshold:.0%}) catches many such pictures, not all"
                if threshold is not None else "this export has no \"not sure\" threshold, so check such answers")
    return [
        (f"- It knows only these {len(classes)} classes: {', '.join(classes)}. Any other picture still gets one of "
        f"them, often with a high probability; {not_sure}."),
        f"- It was trained on {trained} pictures; its validation accuracy was measured on {validated} pictures, "
        "so that figure is a rough estimate" + (" (a few pictures more or less right move it by whole percents)."
                                                 if validated < 500 else "."),
        ("- Pictures unlike the training ones (other cameras, lighting, backgrounds, framing) can do worse: try it on "
        "your own pictures before relying on it."),
        "- It sees a centre square of each picture: something important near an edge of a long picture may be cut.",
        "- It is not made for decisions about people or for anything where a wrong answer causes harm.",
    ]


def model_card(run_dir: Path, meta: CheckpointMeta, metrics: dict, parity: dict, formats: list[str],
               calibration: tuple[float, float] | None, when: datetime.datetime | None = None) -> str:
    """The Markdown model card of an export, from the run folder's files and the evaluation and parity figures."""
    run_dir = Path(run_dir)
    run = RunFolder(run_dir)
    config, summary = run.read_config(), run.read_summary()
    data_lines, trained, validated = _data_section(read_json_object(run.split), meta.classes)
    when = when or datetime.datetime.now(datetime.UTC)
    files = {"onnx": f"`model.onnx` (ONNX, opset {ONNX_OPSET})", "torchscript": "`model.torchscript.pt` (TorchScript)"}
    checks = "; ".join(f"{name}: top class the same on {p['top1_agreement']:.2%} of {p['images']} pictures, "
                       f"probabilities within {p['max_abs_prob_diff']:.1e}" for name, p in parity["formats"].items())
    lines = [
        f"# Model card: {run_dir.name}", "",
        f"Exported {when.strftime('%Y-%m-%d %H:%M UTC')} by Transfer Studio {APP_VERSION}.", "",
        "## Classes", "", f"{len(meta.classes)} classes, in the model's output order (labels.json): "
        + ", ".join(meta.classes) + ".", "",
        "## Data", "", *data_lines, "",
        "## Recipe", "", *_recipe_section(meta, config, summary), "",
        "## Results on the validation pictures", "", *_metrics_section(metrics, calibration), "",
        "## Intended use and limits", "", *_limits_section(meta.classes, trained, validated,
                                                           calibration[1] if calibration else None), "",
        "## Files and use", "",
        (f"Model files: {', '.join(files[f] for f in formats)}. The model takes uint8 RGB pixels "
        f"(batch, {meta.image_size}, {meta.image_size}, 3) after resizing the short side to "
        "`resize_short_side` and cropping the centre (preprocessing.json); it normalises them itself and returns "
        "one logit per class. Probabilities: softmax(logits / temperature)."),
        *(["", ("`pip install onnxruntime pillow numpy`, then `python predict.py picture.jpg` prints the app's JSON "
               "line for each picture.")] if "onnx" in formats else []),
        *(["", ("TorchScript: `torch.jit.load('model.torchscript.pt')(torch.from_numpy(pixels))`, with `pixels` made "
               "by predict.py's `load_rgb` and `pixels` (the same decoding, resizing and cropping).")]
          if "torchscript" in formats else []),
        "", f"Checked against the app's own PyTorch model on every validation picture (parity.json): {checks}.", "",
    ]
    return "\n".join(lines)
