"""All user-facing wording lives in messages.yaml; this module only looks it up and fills it in."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

MESSAGES_FILE = Path(__file__).with_name("messages.yaml")


@cache
def messages() -> dict[str, str]:
    data = yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{MESSAGES_FILE}: every entry must be `key: text`")
    return {key: value.rstrip("\n") for key, value in data.items()}


def say(key: str, /, **params: Any) -> str:
    """The wording for `key` with its {placeholders} filled in."""
    return messages()[key].format(**params)
