"""Shared helpers of the benchmarks: machine facts, percentiles, tables, results files, seeding.

Not a benchmark itself. Every script in this folder imports it first, which also puts the
project root on sys.path (so `bot` and `tests.fake_telegram` import without installing).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
LOAD_AT_START = os.getloadavg()  # other work on the machine makes every figure slower and noisier
SAMPLE = ROOT / "examples" / "answers.sample.json"
TOKEN = "123456:BENCH-TOKEN"
COORDINATOR_ID = 9000


def machine_info() -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": memory_gib,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": {p: version(p) for p in ("python-telegram-bot", "aiosqlite", "aiohttp", "httpx", "docxtpl",
                                             "python-docx", "lxml")},
        "libreoffice": shutil.which("soffice") is not None,
        "load_average_at_start": [round(x, 2) for x in LOAD_AT_START],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (0–100), linear between closest ranks, as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float | None, digits: int = 1) -> float | None:
    return None if seconds is None else round(seconds * 1000, digits)


def latency_summary(seconds: list[float]) -> dict[str, Any]:
    return {"n": len(seconds), "p50_ms": ms(percentile(seconds, 50)), "p95_ms": ms(percentile(seconds, 95)),
            "p99_ms": ms(percentile(seconds, 99)), "max_ms": ms(max(seconds) if seconds else None),
            "mean_ms": ms(sum(seconds) / len(seconds) if seconds else None)}


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain aligned table (numbers right-aligned)."""
    def cell(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:.2f}" if abs(value) < 10 else f"{value:,.1f}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in rows) for i in range(len(headers))]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def write_results(name: str, data: dict[str, Any], output: Path | None = None) -> Path:
    path = output or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"benchmark": name, "command": " ".join([Path(sys.executable).name, *sys.argv]),
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine_info(), **data}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


# -- a database with applicants already in it ------------------------------------------------

async def create_database(path: Path) -> None:
    """An empty database at the current schema, made by the bot's own Storage (its migrations)."""
    from bot.storage import Storage

    storage = await Storage.open(path)
    await storage.close()


def seed_applicants(path: Path, count: int, *, first_id: int, profile: dict[str, str] | None = None,
                    answers: dict[str, str] | None = None, step: str = "q:1.1a",
                    criteria_id: str = "lyg-etdz-individual", criteria_version: int = 1,
                    channel: str = "telegram") -> list[int]:
    """Telegram applicants who consented and stand on `step`, with the given profile and answers.

    Written in one transaction with sqlite3 (the Storage API would take a transaction per
    answer, a minute for 1,000 full applications). The rows are what Storage writes for an
    answer sent as one message: one segment, the answer, one 'append' revision.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    conn = sqlite3.connect(path)
    try:
        conn.execute("BEGIN")
        ids = []
        for n in range(count):
            user = first_id + n
            cursor = conn.execute(
                "INSERT INTO applicants (channel, external_id, display_name, created_at, last_active_at) "
                "VALUES (?, ?, ?, ?, ?)", (channel, str(user), f"申报人{n}", now, now))
            applicant_id = cursor.lastrowid
            cursor = conn.execute(
                "INSERT INTO applications (applicant_id, criteria_id, criteria_version, status, step, mode, "
                "consent_at, created_at, updated_at) VALUES (?, ?, ?, 'active', ?, '', ?, ?, ?)",
                (applicant_id, criteria_id, criteria_version, step, now, now, now))
            app_id = cursor.lastrowid
            # Table fields (工作经历, 荣誉) are lists in the answers file and JSON rows when stored.
            values = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                      for k, v in (profile or {}).items()}
            values["name"] = f"申报人{n}"
            conn.executemany(
                "INSERT INTO profile_values (application_id, field, value, updated_at) VALUES (?, ?, ?, ?)",
                [(app_id, k, v, now) for k, v in values.items()])
            if answers:
                conn.executemany(
                    "INSERT INTO answer_segments (application_id, question_id, position, message_ref, text) "
                    "VALUES (?, ?, 0, ?, ?)",
                    [(app_id, q, f"{user}:{i}", t) for i, (q, t) in enumerate(answers.items())])
                conn.executemany(
                    "INSERT INTO answers (application_id, question_id, text, updated_at) VALUES (?, ?, ?, ?)",
                    [(app_id, q, t, now) for q, t in answers.items()])
                conn.executemany(
                    "INSERT INTO answer_revisions (application_id, question_id, text, action, created_at) "
                    "VALUES (?, ?, ?, 'append', ?)", [(app_id, q, t, now) for q, t in answers.items()])
            ids.append(user)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return ids


# -- the bot in a process of its own ----------------------------------------------------------

def proc_cpu_seconds(pid: int) -> float | None:
    """user + system CPU time of a process so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def proc_memory_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in MB (Linux /proc)."""
    found: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                found[key] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return found


class BotProcess:
    """Runs benchmarks/_bot.py (our bot or an echo bot) as a child process against a local server."""

    def __init__(self, kind: str, api_url: str, workdir: Path, *, db: Path | None = None,
                 profile: Path | None = None, env: dict[str, str] | None = None, label: str | None = None) -> None:
        self.kind = kind
        label = label or kind
        self.report_path = workdir / f"{label}-report.json"
        self.log_path = workdir / f"{label}-bot.log"
        command = [sys.executable, str(ROOT / "benchmarks" / "_bot.py"), kind, "--api-url", api_url,
                   "--token", TOKEN, "--report", str(self.report_path)]
        if profile:
            command += ["--profile", str(profile)]
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "HOME": str(workdir),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api_url,
            "AWARD_DB": str(db or workdir / "award.db"),
            "AWARD_DATA_DIR": str(workdir / f"{label}-data"),  # each database its own folder
            "AWARD_PDF": "false",
            "AWARD_COORDINATORS": str(COORDINATOR_ID),
            "AWARD_DEADLINE": "",
            "AWARD_LOG_LEVEL": "INFO",  # the default, as in production
            # A simulated applicant writes the moment a reply arrives, far faster than a person: at
            # Telegram's one message a second per chat the benchmark would measure only that pace
            # (tests/test_pacing.py holds the bot to it). Here it measures the bot's own cost.
            "AWARD_CHAT_RATE": "100",
            **(env or {}),
        }
        self._log = open(self.log_path, "wb")  # closed in stop()
        # cwd: a folder without a .env, so only the settings above count.
        self.process = subprocess.Popen(command, cwd=workdir, env=environment, stdout=self._log,
                                        stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 90) -> dict[str, Any]:
        """SIGTERM, as a service manager stops it; a graceful stop first sends what is queued (at 30/s)."""
        if self.alive():
            self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        try:
            return json.loads(self.report_path.read_text())
        except (OSError, ValueError):
            return {}

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def wait_until(predicate, limit: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(interval)
