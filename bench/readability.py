"""Reading ease of the main path's words (the page, Data, Model, Train, Predict), before and after the plain-words
rewrite: textstat's Flesch reading ease (higher is easier; 60-70 is plain English) and Flesch-Kincaid grade (school
years) of the sentences a newcomer reads, every format field filled with a sample value.

Before: gui/words.py at BEFORE_COMMIT (read with `git show`, run as a module in memory) and the recipe sentence of
that time (core/training/recipes.py's sentence of that commit, run the same way; core's sentence now sits under the
Model tab's "Details" fold). After: the working tree's words
and the recipe sentence the Model tab shows now. The recipe is the real one for the demo shapes (generated in a
temporary folder unless --data names a dataset).

    python bench/readability.py [--before a7a42c3] [--data DIR]
    # prints a table, writes bench/results/readability.json
"""
from __future__ import annotations

import argparse
import json
import re
import string
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import textstat  # noqa: E402

BEFORE_COMMIT = "a7a42c3"
RECIPE = "<recipe>"  # the Model tab's recipe sentence, rendered (not a words constant)
# The main path's words by section, by constant name ("NAME[key]" for one entry of a dict).
BEFORE = {
    "Page": ["APP_INTRO"],
    "Data": ["CHECK_INTRO", "DATASET_FOLDER", "VALID_SHARE", "VALID_SHARE_INFO", "FOUND", "NO_PROBLEMS",
             "IMAGES_PER_CLASS", "THUMBNAILS"],
    "Model": ["MODEL_INTRO", RECIPE, "BACKBONE", "BACKBONE_INFO", "HEAD", "WHAT_TRAINS", "FREEZE_AUTO", "EPOCHS",
              "STAGE1_EPOCHS", "LEARNING_RATE"],
    "Train": ["START_TRAINING", "STOP", "COMPARE_SCRATCH", "RUN_STARTED", "READING", "EPOCH_STEP", "HEAD_ON_CACHED",
              "RUN_ETA", "EPOCH_LINE", "RUN_ENDED", "STOPPED_UNCHECKED", "TRAINING_FAILED"],
    "Predict": ["TRAINED_RUN", "DROP_IMAGES", "PASTE_IMAGE", "PREDICTION"],
}
# After: the Start here line and the glosses joined the main path; the head-only epochs moved under Advanced.
AFTER = {
    "Page": ["APP_INTRO", "START_HERE"],
    "Data": BEFORE["Data"],
    "Model": ["MODEL_INTRO", RECIPE, "BACKBONE", "BACKBONE_INFO", "HEAD", "HEAD_INFO", "WHAT_TRAINS",
              "WHAT_TRAINS_INFO", "FREEZE_AUTO", "EPOCHS", "EPOCHS_INFO", "LEARNING_RATE", "LEARNING_RATE_INFO"],
    "Train": BEFORE["Train"],
    "Predict": BEFORE["Predict"],
}
# Measured with this script (the words at BEFORE_COMMIT, the real recipe of the demo shapes): main path 68.8 before,
# 84.6 after. The test asks the current words to read at least MARGIN points easier than before.
BEFORE_EASE = 68.8
MARGIN = 13.0

UNKNOWN = 3  # a field with no sample
SAMPLES = {
    "run_id": "shapes-1", "classes": "circle, square, star, triangle", "count": 4, "train": 176, "valid": 44,
    "images": 176, "files": 220, "seconds": 42.0, "pct": "20%", "seed": 0, "epoch": 3, "epochs": 10, "step": 5,
    "total": 20, "done": 80, "acc": 0.96, "train_acc": 0.97, "valid_acc": 0.96, "train_loss": 0.123,
    "valid_loss": 0.145, "best_epoch": 3, "kind": "RuntimeError", "error": "out of memory", "duration": "1:23",
    "root": "data", "remembered": "", "pictures": 220, "changed": "epochs",
}
# Samples made of other words of the same module (before and after each read their own).
WORDED = {
    "verb": lambda w: getattr(w, "DONE", w.FINISHED),
    "mode": lambda w: getattr(w, "MODE_WORDS", {}).get("top", "top layers fine-tuned"),
    "device": lambda w: getattr(w, "DEVICE_WORDS", {}).get("cpu", "cpu"),
    "best": lambda w: w.BEST_SO_FAR,
    "cached": lambda w: w.FROM_CACHE.format(cached=40),
    "stage": lambda w: w.IN_STAGE.format(stage=2, name="top layers"),
    "layout": lambda w: w.LAYOUT_WORDS["flat"].format(pct="20%", seed=0),
    "totals": lambda w: " · ".join(w.SPLIT_TOTAL.format(split=getattr(w, "SPLIT_WORDS", {}).get(s, s), images=n)
                                   for s, n in (("train", 176), ("valid", 44))),
    "skipped": lambda w: w.NO_FILE_SKIPPED,
    "data": lambda w: w.START_HERE_DATA[True],
    "data_tab": lambda w: w.TAB_DATA, "train_tab": lambda w: w.TAB_TRAIN, "predict_tab": lambda w: w.TAB_PREDICT,
    "model_tab": lambda w: w.TAB_MODEL, "start": lambda w: w.START_TRAINING,
    "machine": lambda w: w.MACHINES["cpu"],
}
OVERRIDES = {"RUN_STARTED": {"classes": 4}}  # a field that means something else in one template


def module_at(commit: str, path: str) -> ModuleType:
    """A module of the repository as it was at `commit` (gui/words.py, core/training/recipes.py), run in memory."""
    source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    module = sys.modules[f"{Path(path).stem}_at_{commit}"] = ModuleType(f"{Path(path).stem}_at_{commit}")  # dataclasses
    exec(compile(source, f"{commit}:{path}", "exec"), module.__dict__)
    return module


def fill(template: str, module: ModuleType, name: str = "") -> str:
    """The template with each field given its sample (a known one, one made of the module's words, else 3)."""
    fields = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    values = {f: OVERRIDES.get(name, {}).get(f, WORDED[f](module) if f in WORDED else SAMPLES.get(f, UNKNOWN))
              for f in fields}
    return template.format(**values)


def constant(module: ModuleType, name: str) -> str:
    """A words constant by name, or one entry of a dict constant ("NAME[key]")."""
    base, _, key = name.partition("[")
    value = getattr(module, base)
    return value[key.rstrip("]")] if key else value


def plain(text: str) -> str:
    """What a reader reads: no Markdown or HTML marks, no emoji, and a full stop after a label."""
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"[*`#]|⚠️|✅|…", "", text).strip()
    text = re.sub(r"\s*·\s*", ", ", text)
    text = re.sub(r"(?<![.!?:\s])\s*\n+\s*", ". ", text)  # a title or a line without its full stop ends a sentence
    text = re.sub(r"\s+", " ", text)
    return text if text.endswith((".", "!", "?")) else f"{text}."


def main_path_texts(module: ModuleType, sections: dict[str, list[str]], recipe: str) -> dict[str, list[str]]:
    """The main path's sentences by section, filled and plain."""
    return {section: [plain(recipe if name == RECIPE else fill(constant(module, name), module, name))
                      for name in names] for section, names in sections.items()}


def reading_ease(texts: list[str]) -> float:
    """Flesch reading ease of the texts read one after the other."""
    return float(textstat.flesch_reading_ease(" ".join(texts)))


def grade(texts: list[str]) -> float:
    """Flesch-Kincaid grade of the texts read one after the other."""
    return float(textstat.flesch_kincaid_grade(" ".join(texts)))


def sample_recipe(module: ModuleType) -> str:
    """The recipe sentence from its template, for a quick measure without a dataset (the test's)."""
    return fill(module.RECIPE_AUTO.replace("{duration}", module.DURATIONS[0][1]), module)


def recipes(data: Path, commit: str) -> tuple[str, str]:
    """(before, after) recipe sentences of the demo shapes with every setting automatic: core's sentence of
    `commit` (core/training/recipes.py as it was), which the Model tab showed then, and the sentence it shows now,
    without its closed fold."""
    from core.data.scan import scan_dataset
    from gui import AppContext
    from gui.form import DEFAULTS, FIELDS, config_from_inputs
    from gui.tabs.model_tools import _planned, recipe_markdown

    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext(data_root=data.parent, runs_dir=Path(tmp) / "runs", initial_dataset=data,
                         cache_dir=Path(tmp) / "cache")
        settings = {name: getattr(DEFAULTS, name) for name in FIELDS}
        now = _planned(ctx, str(data), 20, settings)
        config = config_from_inputs(str(data), 20, str(ctx.runs_dir), settings)
        index = scan_dataset(config.data, config.valid_fraction, config.seed)
        old = module_at(commit, "core/training/recipes.py")
        before = old.plan(config, old.train_counts(index), now.device, now.valid).reason
        after = recipe_markdown(ctx, str(data), 20, *settings.values()).split("<details>")[0]
    return before, after


def measure(module: ModuleType, sections: dict[str, list[str]], recipe: str) -> dict:
    """Reading ease and grade of each section and of the whole main path, with the texts measured."""
    texts = main_path_texts(module, sections, recipe)
    everything = [t for section in texts.values() for t in section]
    rows = {section: {"ease": reading_ease(t), "grade": grade(t), "words": textstat.lexicon_count(" ".join(t))}
            for section, t in texts.items()}
    rows["main path"] = {"ease": reading_ease(everything), "grade": grade(everything),
                         "words": textstat.lexicon_count(" ".join(everything))}
    return {"scores": rows, "texts": texts}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE_COMMIT, help="the commit whose gui/words.py is 'before'")
    parser.add_argument("--data", type=Path, help="dataset for the recipe sentence (default: fresh demo shapes)")
    args = parser.parse_args(argv)
    from core.data.demo import ensure_demo_dataset
    from gui import words

    with tempfile.TemporaryDirectory() as tmp:
        data = (args.data or ensure_demo_dataset(Path(tmp) / "data")).resolve()
        recipe_before, recipe_after = recipes(data, args.before)
    result = {"before_commit": args.before, "data": str(args.data or "demo shapes"),
              "before": measure(module_at(args.before, "gui/words.py"), BEFORE, recipe_before),
              "after": measure(words, AFTER, recipe_after)}
    print(f"{'section':<10} {'ease before':>11} {'ease after':>10} {'grade before':>12} {'grade after':>11} "
          f"{'words':>11}")
    for section, old in result["before"]["scores"].items():
        new = result["after"]["scores"][section]
        print(f"{section:<10} {old['ease']:>11.1f} {new['ease']:>10.1f} {old['grade']:>12.1f} {new['grade']:>11.1f} "
              f"{old['words']:>5} -> {new['words']:<4}")
    out = ROOT / "bench" / "results" / "readability.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(f"wrote {out.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
