import pytest

from gui.context import AppContext, OutsideServedFolders


@pytest.fixture
def ctx(tmp_path):
    data = tmp_path / "data"
    (data / "shapes" / "train").mkdir(parents=True)
    return AppContext(data_root=data, runs_dir=tmp_path / "runs", initial_dataset=data / "shapes")


def test_paths_inside_the_data_folder_resolve(ctx):
    assert ctx.resolve_dataset("shapes") == ctx.data_root / "shapes"
    assert ctx.resolve_dataset(str(ctx.data_root / "shapes")) == ctx.data_root / "shapes"


@pytest.mark.parametrize("text", ["/etc", "../", "shapes/../../..", "~"])
def test_paths_outside_the_served_folders_are_refused(ctx, text):
    with pytest.raises(OutsideServedFolders, match="outside the folders this app serves"):
        ctx.resolve_dataset(text)


def test_missing_folder_inside_is_explained(ctx):
    with pytest.raises(OutsideServedFolders, match="does not exist"):
        ctx.resolve_dataset("nothing-here")


def test_run_ids_are_names_not_paths(ctx):
    with pytest.raises(LookupError, match="No trained run"):
        ctx.run_by_id("../../etc")
