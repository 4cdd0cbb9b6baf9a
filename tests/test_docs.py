"""The README is true: its commands are the ones CI runs, and every CLI verb is documented."""

from __future__ import annotations

import re

from bot.cli_parser import build_parser
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S)]


def test_ci_runs_exactly_the_test_command_the_readme_gives() -> None:
    install, test = readme_commands()[:2]
    assert "pip install" in install and "award-bot console" in install
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test in ci_lines


def test_every_award_bot_command_is_in_the_readme() -> None:
    verbs = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for verb in verbs:
        assert f"award-bot {verb}" in README, verb


def test_the_console_example_in_the_readme_exists() -> None:
    assert "examples/console-session.txt" in README
    assert (ROOT / "examples" / "console-session.txt").exists()
