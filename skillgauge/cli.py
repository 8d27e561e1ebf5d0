"""The ``skillgauge`` command: parses arguments and dispatches to a command module.

Each command module registers its subcommands with ``register(subparsers)`` and returns an
exit status: 0 success, 1 the input was refused (with located messages on stderr), 2 usage.
Errors the packages raise for bad input are printed as plain lines, never as tracebacks.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from engine.errors import EngineError
from item_banks.errors import BankValidationError, ItemBankError
from skillgauge import (
    bank_commands,
    calibration_commands,
    credential_commands,
    engine_commands,
    integrity_commands,
    lti_commands,
    org_commands,
    web_commands,
)
from web.errors import WebError


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="skillgauge",
        description="Adaptive skill assessment: item banks, the IRT engine, simulation.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        bank_commands,
        engine_commands,
        calibration_commands,
        integrity_commands,
        web_commands,
        org_commands,
        credential_commands,
        lti_commands,
    ):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except BankValidationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except (ItemBankError, EngineError, WebError) as exc:
        print(f"skillgauge: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return status
