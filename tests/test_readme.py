"""The README's examples stay true: its bank validates and its policy runs on the sample bank."""

from __future__ import annotations

import re
import shlex
import tomllib

import yaml

from engine.policy import check_policy, decode_policy
from engine.pool import compile_pool
from item_banks import decode_bank, read_bank
from skillgauge.cli import build_parser
from tests.conftest import REPO, SAMPLE_BANK

README = (REPO / "README.md").read_text(encoding="utf-8")


def block(language: str) -> str:
    match = re.search(rf"```{language}\n(.*?)```", README, re.S)
    assert match, f"no {language} block in README.md"
    return match.group(1)


def test_readme_bank_example_is_valid() -> None:
    text = block("yaml")
    bank = decode_bank(text.encode(), source="README.md", fmt="yaml")
    assert bank.items[0].id == "st-001"
    assert yaml.safe_load(text)["items"][0]["irt"]["model"] == "2pl"


def test_readme_policy_example_runs_on_the_sample_bank() -> None:
    policy = decode_policy(tomllib.loads(block("toml")), "README.md")
    check_policy(policy, compile_pool(read_bank(SAMPLE_BANK)), "README.md")


def test_readme_command_lines_parse() -> None:
    """Every command shown in the README's command list is one the CLI accepts."""
    section = README.split("## Command line", 1)[1]
    lines = [
        line.split("#", 1)[0].strip()
        for line in section.split("```", 2)[1].splitlines()
        if line.startswith("skillgauge ")
    ]
    assert len(lines) >= 15
    parser = build_parser()
    for line in lines:
        plain = re.sub(r"\[[^\]]*\]", "", line).split(" | ")[0]
        plain = plain.replace("FILE...", "a.yaml b.yaml")
        args = shlex.split(plain)[1:]
        parsed = parser.parse_args(args)
        assert callable(parsed.handler), line
