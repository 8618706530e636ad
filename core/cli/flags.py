"""The flags of `train`, `plan` and `lr-find`: one per TrainConfig field, built from the field's own metadata, so
that the CLI and the GUI cannot drift apart."""
from __future__ import annotations

import argparse
from dataclasses import MISSING, Field, fields

from core.config import TrainConfig

FIELDS: dict[str, Field] = {f.name: f for f in fields(TrainConfig)}


class _Given(argparse.Action):
    """Store the value, and note that the flag was given (a continued run refuses the settings it cannot change)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        namespace.given = (*getattr(namespace, "given", ()), self.dest)


def flag(name: str) -> str:
    """The CLI flag of a TrainConfig field: its own, else --the-field-name."""
    return FIELDS[name].metadata.get("flag") or "--" + name.replace("_", "-")


def field_help(name: str) -> str:
    return FIELDS[name].metadata["help"]


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, with its default, help and choices, in the config's groups."""
    for title, names in TrainConfig.groups().items():
        group = parser.add_argument_group(title)
        for name in names:
            f = FIELDS[name]
            meta = f.metadata
            kwargs = {"help": meta.get("help"), "choices": meta.get("choices"), "action": _Given}
            if f.default is MISSING:
                group.add_argument(flag(name), dest=name, required=True, **kwargs)
            else:
                parse = meta.get("parse") or type(f.default)
                group.add_argument(flag(name), dest=name, type=parse, default=f.default, **kwargs)


def given(args: argparse.Namespace) -> list[str]:
    """The TrainConfig fields whose flags the command line gave, in its order, each once."""
    return list(dict.fromkeys(getattr(args, "given", ())))


def config_arguments(config: TrainConfig) -> list[str]:
    """The `train` flags that give `config`: data, out, and every field that differs from its default."""
    defaults = TrainConfig(data=config.data)
    args: list[str] = []
    for name in FIELDS:
        value = getattr(config, name)
        if name in ("data", "out") or (value is not None and value != getattr(defaults, name)):
            args += [flag(name), str(value)]
    return args


def config_from(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the parsed flags give."""
    return TrainConfig(**{name: getattr(args, name) for name in FIELDS})
