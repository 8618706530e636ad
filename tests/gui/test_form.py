"""The form and the handlers that take it: one list of fields (gui.form.FIELDS) that every side follows."""
from dataclasses import fields

import pytest

from core.config import AUTO, BALANCE_MODES, FREEZE_MODES, TrainConfig
from gui.form import DEFAULTS, FIELDS


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from gui import AppContext, build_app

    root = tmp_path_factory.mktemp("form")
    return build_app(AppContext(data_root=root, runs_dir=root / "runs", initial_dataset=root))


def test_every_form_field_is_a_config_field_once():
    assert set(FIELDS) <= {f.name for f in fields(TrainConfig)} and len(set(FIELDS)) == len(FIELDS)


def test_the_train_endpoint_takes_exactly_the_forms_fields_by_name(app):
    """A field added to FIELDS (or to the Model tab) reaches /train under its own name, in the form's order."""
    parameters = app.get_api_info()["named_endpoints"]["/train"]["parameters"]
    assert [p["parameter_name"] for p in parameters] == ["dataset", "valid_percent", *FIELDS, "compare_scratch"]
    defaults = {p["parameter_name"]: p["parameter_default"] for p in parameters}
    assert defaults["freeze"] == DEFAULTS.freeze and defaults["batch"] == DEFAULTS.batch


def test_the_model_tab_has_one_input_per_field_and_the_automatic_recipe_first():
    from gui.tabs.model import BALANCE_CHOICES, FREEZE_CHOICES

    assert [value for _, value in FREEZE_CHOICES] == [AUTO, *FREEZE_MODES]
    assert [label for label, _ in FREEZE_CHOICES[1:]] == [m.description for m in FREEZE_MODES.values()]
    assert [value for _, value in BALANCE_CHOICES] == list(BALANCE_MODES)


def test_the_model_tab_builds_one_input_per_field(tmp_path):
    import gradio as gr

    from gui import AppContext
    from gui.tabs import model as model_tab

    ctx = AppContext(data_root=tmp_path, runs_dir=tmp_path / "runs", initial_dataset=tmp_path)
    with gr.Blocks():
        inputs = model_tab.build(ctx, gr.Textbox(), gr.Slider())
    assert sorted(inputs.components) == sorted(FIELDS) and list(inputs.by_field()) == list(FIELDS)
    assert {name: inputs[name].value for name in ("backbone", "head", "freeze", "batch")} == {
        name: getattr(DEFAULTS, name) for name in ("backbone", "head", "freeze", "batch")}
