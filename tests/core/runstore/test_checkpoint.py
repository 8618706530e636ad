"""A model file is untrusted input: only weights load, and a format this version cannot read is named as such."""
import os

import pytest
import torch

from core.errors import CheckpointError
from core.runstore.checkpoint import FORMAT_VERSION, CheckpointMeta, load_checkpoint, save_checkpoint
from core.system import atomic_write

META = CheckpointMeta(classes=["a", "b"], backbone="efficientnet_lite0", head="linear", hidden=512, dropout=0.2,
                      image_size=64, mean=[0.5] * 3, std=[0.5] * 3, freeze="frozen", stage=1, frozen=True, epoch=3,
                      valid_acc=0.9, valid_loss=0.3)


def test_a_checkpoint_round_trips_with_its_metadata(tmp_path):
    model = torch.nn.Linear(3, 2)
    save_checkpoint(tmp_path / "best.pt", model, META)
    ckpt = load_checkpoint(tmp_path / "best.pt")
    assert ckpt["format_version"] == FORMAT_VERSION and CheckpointMeta.from_payload(ckpt) == META
    assert torch.equal(ckpt["state_dict"]["weight"], model.weight)


def test_a_checkpoint_without_what_prediction_needs_names_the_missing_field(tmp_path):
    payload = {"format_version": FORMAT_VERSION, "state_dict": {}, **META.to_payload()}
    del payload["preprocess"]
    with pytest.raises(CheckpointError, match="preprocess"):
        CheckpointMeta.from_payload(payload)


def test_a_model_this_version_cannot_rebuild_is_refused_in_words_and_a_missing_file_is_named(tmp_path):
    from core.inference.predict import load_predictor

    unknown = CheckpointMeta(**{**META.__dict__, "backbone": "resnet9000"})
    save_checkpoint(tmp_path / "run" / "best.pt", torch.nn.Linear(3, 2), unknown)
    with pytest.raises(CheckpointError, match="cannot rebuild"):
        load_predictor(tmp_path / "run")
    with pytest.raises(FileNotFoundError, match="train a run first"):
        load_predictor(tmp_path / "nothing-here")


@pytest.mark.parametrize("version, words", [(FORMAT_VERSION + 1, "update the app"), (None, "train the run again")])
def test_another_format_version_is_refused_with_what_to_do(tmp_path, version, words):
    torch.save({"format_version": version, "state_dict": {}}, tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint(tmp_path / "best.pt")


def test_a_file_that_would_run_code_or_is_not_a_model_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"format_version": FORMAT_VERSION, "state_dict": {}, "x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="not a model file"):
        load_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="not a model file"):
        load_checkpoint(tmp_path / "text.pt")


def test_an_interrupted_atomic_write_leaves_the_old_file_whole_and_no_temporary_file(tmp_path):
    target = atomic_write(tmp_path / "summary.json", b"old")

    def broken(f):
        f.write(b"half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["summary.json"]
