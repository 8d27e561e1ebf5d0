"""``skillgauge lti rotate-key``: the LTI tool's signing key from the command line."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add ``lti``."""
    lti = commands.add_parser("lti", help="the LTI 1.3 tool's signing key")
    sub = lti.add_subparsers(dest="lti_command", required=True, metavar="SUBCOMMAND")
    rotate = sub.add_parser(
        "rotate-key",
        help="make a new RS256 signing key; /lti/jwks publishes it beside the previous one",
    )
    rotate.set_defaults(handler=_rotate)


def _rotate(args: argparse.Namespace) -> int:
    from web.lti.tool_key import previous_key, rotate_tool_key
    from web.settings import load_settings

    del args
    data_dir = load_settings().data_dir
    key = rotate_tool_key(data_dir)
    before = previous_key(data_dir)
    print(f"signing key {key.kid}")
    if before is not None:
        print(f"previous key {before.kid} (still published until the next rotation)")
    return 0
