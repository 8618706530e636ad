"""`python -m core …`: the headless twin of the GUI, with the same TrainConfig and defaults.

The parser and its table of subcommands are in `parser`, the flags each TrainConfig field gets in `flags`, the
commands in `training` (train, plan, lr-find), `tools` (data and runs) and `field` (pictures kept from use).
"""
from __future__ import annotations

import sys

from core.cli.flags import config_arguments
from core.cli.parser import COMMANDS, build_parser
from core.errors import BackboneUnavailable, DatasetError, DiskFull
from core.system import configure_torch

__all__ = ["build_parser", "config_arguments", "main"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = COMMANDS[args.command]
    try:
        if command.torch:  # once per process: threads for its share of the cores
            configure_torch()
        return command.run(args)
    except (DatasetError, BackboneUnavailable, ValueError, FileNotFoundError, DiskFull) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped by the user; the best checkpoint so far is kept", file=sys.stderr)
        return 130
