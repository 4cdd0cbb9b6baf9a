"""The import contract: channels translate, flows decide, storage remembers; no import runs back up.

Layers, top to bottom: the channels and the program (`bot.cli*`, `bot.console`, `bot.telegram*`,
`bot.web`), the conversation (`bot.flows`), and the core (every other module of `bot`: storage,
criteria, evidence, documents, the outbox's senders). A module may import its own layer and the
ones below it. The conversation knows no platform: no Telegram, no SQLite driver, no Word library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

CHANNELS, FLOWS, CORE = 2, 1, 0
FORBIDDEN_IN_FLOWS = ("telegram", "aiosqlite", "sqlite3", "docxtpl", "docx", "aiohttp")


def layer(module: str) -> int:
    parts = module.split(".")
    if parts[:2] == ["bot", "flows"]:
        return FLOWS
    if parts[:2] == ["bot", "web"] or (len(parts) > 1 and parts[1].startswith(("cli", "console", "telegram"))):
        return CHANNELS
    return CORE


def module_name(path: Path) -> str:
    relative = path.relative_to(BOT.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved; TYPE_CHECKING ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            # `from bot import flows` / `from bot.flows import interview`: the names are modules too.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names
                      if base in ("bot", "bot.flows", "bot.web", "bot.storage")]
    return found


SOURCES = sorted(BOT.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(BOT)))
def test_no_import_runs_back_up_the_layers(path: Path) -> None:
    me = module_name(path)
    upward = [f"line {line}: {me} imports {name}" for line, name in imports(path)
              if name.startswith("bot") and layer(name) > layer(me)]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("path", sorted((BOT / "flows").glob("*.py")), ids=lambda p: p.name)
def test_the_conversation_knows_no_platform(path: Path) -> None:
    platform = [f"line {line}: {name}" for line, name in imports(path)
                if name.split(".")[0] in FORBIDDEN_IN_FLOWS]
    assert not platform, "\n".join(platform)


def test_the_contract_sees_a_backward_import(tmp_path: Path) -> None:
    # The checker itself: a core module importing the flows is caught.
    assert layer("bot.storage.answers") == CORE and layer("bot.flows.interview") == FLOWS
    assert layer("bot.telegram_send") == CHANNELS and layer("bot.web.office") == CHANNELS
    assert layer("bot.flows.events") > layer("bot.reminders")


def test_no_module_in_bot_is_much_over_400_lines() -> None:
    long = {str(p.relative_to(BOT)): n for p in SOURCES if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420}
    assert not long, long
