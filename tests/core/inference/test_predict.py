"""The app's predictor cache: one loaded model per checkpoint file, reloaded when the file is replaced."""
import os
import shutil
from pathlib import Path

from core.inference.predict import PredictorCache
from core.runstore.folder import BEST as CHECKPOINT_NAME


def test_predictor_cache_reloads_a_replaced_checkpoint_even_with_the_same_modification_time(frozen_run, tmp_path):
    run_dir = frozen_run.copy_into(tmp_path / "runs")  # its checkpoint is replaced below
    cache = PredictorCache()
    first = cache.get(run_dir)
    assert cache.get(run_dir) is first, "a second request reuses the loaded model"
    checkpoint = Path(run_dir) / CHECKPOINT_NAME
    before = checkpoint.stat()
    shutil.copy(checkpoint, tmp_path / "new.pt")
    os.replace(tmp_path / "new.pt", checkpoint)  # how a checkpoint is saved: a new file renamed into place
    os.utime(checkpoint, ns=(before.st_atime_ns, before.st_mtime_ns))
    second = cache.get(run_dir)
    assert second is not first and second.classes == first.classes
