"""A folder of pictures through a run's model into one CSV: a row per picture, unreadable files with their reason."""
from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from core.data.images import UnreadableImage, has_image_extension, not_an_image_file
from core.data.scan import walk_files
from core.events import FolderProgress
from core.inference.predict import Answer, Predictor

COLUMNS = ["path", "top1", "confidence", "not_sure", "top_k", "error"]


@dataclass
class FolderTable:
    """The CSV text and its counts."""

    csv: str
    predicted: int
    unreadable: int


def predict_folder(predictor: Predictor, folder: str | Path, k: int = 3, stop=None,
                   on_answer: Callable[[Path, Answer], None] | None = None) -> Iterator[FolderProgress | FolderTable]:
    """Yield progress while every file under `folder` is predicted (the same numbers as one picture at a time),
    then the table; paths in it are relative to the folder. `on_answer(path, answer)` sees each answer (the app
    keeps them when the owner asked it to)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    files = walk_files(folder)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    predicted = unreadable = 0
    start = time.perf_counter()
    for n, path in enumerate(files, 1):
        if stop is not None and stop.is_set():
            return
        name = path.relative_to(folder).as_posix()
        try:
            if not has_image_extension(path):
                raise UnreadableImage(not_an_image_file(path))
            answer = predictor.answer([path], k=k)[0]
            if on_answer is not None:
                on_answer(path, answer)
            writer.writerow([name, answer.top[0][0], f"{answer.top[0][1]:.6f}", "yes" if not answer.sure else "no",
                             " ".join(f"{label}:{p:.6f}" for label, p in answer.top), ""])
            predicted += 1
        except UnreadableImage as err:
            writer.writerow([name, "", "", "", "", err.reason])
            unreadable += 1
        rate = n / max(time.perf_counter() - start, 1e-9)
        yield FolderProgress(n, len(files), rate, (len(files) - n) / max(rate, 1e-9))
    yield FolderTable(out.getvalue(), predicted, unreadable)
