"""The README's examples stay true: its bank validates and its policy runs on the sample bank."""

from __future__ import annotations

import re
import tomllib

import yaml

from engine.policy import check_policy, decode_policy
from engine.pool import compile_pool
from item_banks import decode_bank, read_bank
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
