"""One definition per idea: the freezing modes, the choices and the flag groups live in TrainConfig's module."""
from dataclasses import fields

import pytest

from core.cli import build_parser
from core.config import AUTO, FIELD_GROUPS, FREEZE_MODES, TrainConfig


@pytest.mark.parametrize("name", [f.name for f in fields(TrainConfig) if f.metadata.get("choices")])
def test_every_field_with_choices_refuses_a_value_outside_them_naming_them(name):
    config = TrainConfig(data="x", **{name: "nonsense"})
    with pytest.raises(ValueError, match=f"must be one of .*{fields_choice(name)[0]}"):
        config.validate()


def fields_choice(name: str) -> list:
    return next(f.metadata["choices"] for f in fields(TrainConfig) if f.name == name)


def test_every_field_is_in_exactly_one_help_group():
    grouped = [name for names in FIELD_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(f.name for f in fields(TrainConfig))


def test_the_cli_help_lists_the_flags_in_groups():
    text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    listing = text[text.index("\noptions:"):]  # after the usage line, which names every flag once
    positions = [listing.index(f"\n{group}:\n") for group in ("data", "model", "training", "engine")]
    assert positions == sorted(positions)
    assert listing.index("  --engine") > positions[3] and positions[1] < listing.index("  --backbone") < positions[2]


def test_the_freeze_modes_table_drives_the_cli_choices_and_the_scratch_rule():
    assert fields_choice("freeze") == [AUTO, *FREEZE_MODES]
    starts_frozen = [name for name, mode in FREEZE_MODES.items() if mode.starts_frozen]
    assert starts_frozen == ["deep", "frozen", "top", "two_stage"]
    for name in starts_frozen:
        with pytest.raises(ValueError, match="nothing to freeze"):
            TrainConfig(data="x", backbone="scratch_cnn", freeze=name).validate()
    TrainConfig(data="x", backbone="scratch_cnn", freeze="finetune").validate()
