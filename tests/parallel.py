"""How the suite shares out over pytest-xdist's workers (pyproject.toml: `-n auto --dist loadfile`).

`auto` is two workers a core (see pytest_xdist_auto_num_workers below).

A test module goes to one worker whole: its module-scoped fixtures (a bot running for the whole
module, a LibreOffice profile, a rendered document) are set up once, and a module's last test that
checks the whole module's run (tests/test_hostile.py) sees all of it. (xdist's finer `loadgroup`
cannot be used: with pytest 9 it groups nothing.)

The longest modules go first, so that no worker is left with a long one at the end while the
others idle: how long each module took is kept in pytest's cache after every run; a fresh clone
(CI) has no cache and goes by tests/module_seconds.json, the times of a run committed with the
suite (rewrite it with `python -m tests.parallel` after a run when modules grow or move); a module
in neither goes after those, the ones with tests marked slow first.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

SECONDS = "award-bot/seconds-per-module"
_took: Counter[str] = Counter()


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: two workers a core. Much of the suite waits (on a bot process starting, a browser,
    LibreOffice, a retry_after) rather than computes; the spare workers fill those waits. Measured on
    the 2-core machine, from a fresh clone: 3 workers 93 s, 4 workers 85 s, 5 workers 96 s (and a
    timing test strained). PYTEST_XDIST_AUTO_NUM_WORKERS still decides where it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores * 2


SHIPPED = Path(__file__).with_name("module_seconds.json")


def _shipped() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(SHIPPED.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cache = getattr(config, "cache", None)  # None with -p no:cacheprovider
    known: dict[str, float] = {**_shipped(), **(cache.get(SECONDS, {}) if cache is not None else {})}
    slow = {_module(item.nodeid) for item in items if item.get_closest_marker("slow") is not None}
    first_seen = {module: n for n, module in reversed(list(enumerate(_module(item.nodeid) for item in items)))}

    def order(item: pytest.Item) -> tuple[float, bool, int]:
        module = _module(item.nodeid)
        return -known.get(module, 0.0), module not in slow, first_seen[module]

    items.sort(key=order)  # stable: a module's own tests keep their order


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _took[_module(report.nodeid)] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput") or not _took:
        return  # the controller keeps the record, once, for the next run
    known: dict[str, float] = cache.get(SECONDS, {})
    cache.set(SECONDS, {**known, **{module: round(seconds, 2) for module, seconds in _took.items()}})


if __name__ == "__main__":
    # Write tests/module_seconds.json from this checkout's cache (after a full run).
    cached = Path(__file__).resolve().parent.parent / ".pytest_cache" / "v" / SECONDS
    times = json.loads(cached.read_text(encoding="utf-8"))
    SHIPPED.write_text(json.dumps(dict(sorted(times.items())), indent=1) + "\n", encoding="utf-8")
    print(f"{SHIPPED}: {len(times)} modules")
