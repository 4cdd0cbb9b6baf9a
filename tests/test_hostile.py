"""Hostile input (#7, part 3): every entry of tests/data/hostile_inputs.yaml through the real stack.

One python-telegram-bot Application (the Router of the interview and the award office) polls a
local Bot API server for the whole module. Each corpus entry is sent by its own applicant (or a
newcomer, or the coordinator), and must get a clear reply or be ignored safely, leave nothing
changed that should not change, log no error and no answer text, and leave the bot running.
A "victim" applicant with a secret answer and a certificate is set up first: no entry may change
her data, write to her, or show her answer to anyone. After the corpus, the last test checks the
whole run: the bot still answers, the database is intact, nothing leaked across chats or into the
logs, and nothing was written outside the data folder.

An entry that exposes a bug in bot/ carries `xfail: <reason>` in the corpus (strict: once fixed,
the entry fails until the mark is removed).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import docx
import pytest
import pytest_asyncio
import yaml
from telegram import Update
from telegram.ext import Application, TypeHandler

from bot import telegram_updates
from bot.flows.coordinator import Coordinator, Coordinators
from bot.flows.interview import Interview
from bot.flows.router import Router
from bot.reminders import ReminderPolicy
from bot.storage import Storage
from bot.telegram import build_application, start_polling, stop_polling
from tests.conftest import jpeg, pdf, png
from tests.fake_telegram import FakeTelegram, Sent

pytestmark = pytest.mark.asyncio(loop_scope="module")

FAST = 1000.0  # messages a second: no pacing here

CORPUS_FILE = Path(__file__).parent / "data" / "hostile_inputs.yaml"
CORPUS: list[dict[str, Any]] = yaml.safe_load(CORPUS_FILE.read_text(encoding="utf-8"))["entries"]

VICTIM, BOSS = 5001, 9000
FIRST_APPLICANT = 70_000
VICTIM_NAME = "王芳"
VICTIM_SECRET = "受害者的机密回答VICTIM-SECRET-7731：2023年起本人负责产线的一次交检合格率由95.2%提升至99.1%。"
BASELINE = "本题原有的回答ATTACKER-BASELINE，2023年起每月复盘一次。"
JPEG = jpeg("the victim's certificate")
LEAK_MIN_CHARS = 12  # typed texts at least this long must never reach another chat or the logs
LEAK_PROBE = 40  # how much of a typed text is looked for

# What the corpus must cover, by the `category` of its entries.
CATEGORIES = {"oversized", "empty", "control", "zero-width", "bidi", "injection", "sql", "template", "emoji",
              "callback", "file", "group", "missing-fields", "command", "unicode", "burst", "profile", "edit",
              "office"}


class HostileTelegram(FakeTelegram):
    """The local Bot API server, with raw updates, forged callbacks and files of any shape."""

    handled = 0  # the latest update the bot has finished with (see world), replies included

    def push_raw(self, kind: str | None, body: Any, chat_id: int | None = None) -> int:
        """Queue any update, also one without a chat or of a type the bot has never heard of."""
        self._update_id += 1
        if chat_id is not None:
            self._pushed[chat_id] = (self._update_id, time.monotonic())
        update: dict[str, Any] = {"update_id": self._update_id}
        if kind is not None:
            update[kind] = body
        try:
            Update.de_json(json.loads(json.dumps(update)), None)
        except Exception as error:
            # python-telegram-bot retries an update it cannot parse forever, and every poll of
            # the whole bot with it: a corpus mistake must not stall the module.
            self._update_id -= 1
            raise AssertionError(f"python-telegram-bot cannot parse this update: {error}") from error
        self.updates.append(update)
        self._new_update.set()
        return self._update_id

    def next_message_id(self) -> int:
        self._message_id += 1
        return self._message_id

    def tap(self, user_id: int, name: str, data: str | None, *, chat: dict[str, Any] | None = None,
            with_message: bool = True, inaccessible: bool = False, game: bool = False) -> None:
        """A callback query with any data, on the newest message the bot sent to the chat."""
        chat = chat or self.chat(user_id, name)
        body: dict[str, Any] = {"id": f"cb{self._update_id + 1}", "from": self.user(user_id, name),
                                "chat_instance": "ci"}
        if data is not None:
            body["data"] = data
        if game:
            body["game_short_name"] = "quiz"
        if with_message:
            last = next((s for s in reversed(self.sent) if s.chat_id == chat["id"]), None)
            message: dict[str, Any] = {"message_id": last.message_id if last else 1, "chat": chat,
                                       "date": 0 if inaccessible else int(time.time())}
            if not inaccessible:
                message["text"] = (last.text if last else "") or "旧消息"
            body["message"] = message
        else:
            body["inline_message_id"] = "AAAAinline"
        self.push_raw("callback_query", body, chat["id"] if with_message else None)

    def file_message(self, user_id: int, name: str, **content: Any) -> int:
        message_id = self.next_message_id()
        self.push_raw("message", {"message_id": message_id, "date": int(time.time()),
                                  "from": self.user(user_id, name), "chat": self.chat(user_id, name), **content},
                      user_id)
        return message_id

    async def idle(self, application: Application, quiet: float = 0.1, limit: float = 25.0) -> None:
        """Wait until every update was fetched and handled, and the bot then said nothing for `quiet`."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            # `handled`: an update taken off the queue may not have begun yet on a loaded machine.
            busy = (self._fetched < self._update_id or not application.update_queue.empty()
                    or application.update_processor.current_concurrent_updates > 0 or self.handled < self._fetched)
            last = max([self._fetched_at, *self._last_call.values()])
            if not busy and time.monotonic() - last >= quiet:
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"the bot did not become idle (a hang?); last calls: {[m for m, _ in self.calls[-5:]]}")


class Collector(logging.Handler):
    """Every log record of the module, for the final check (caplog only sees one test)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


@dataclass
class World:
    server: HostileTelegram
    storage: Storage
    application: Application
    criteria: Any
    root: Path
    data_dir: Path
    db_path: Path
    logs: Collector
    victim_applicant: int = 0
    victim_before: dict[str, Any] = field(default_factory=dict)
    typed: dict[int, list[str]] = field(default_factory=dict)  # what each user typed, for the leak checks
    next_user: int = FIRST_APPLICANT
    previous_applicant: int = 0  # the applicant id of the latest entry's applicant

    def new_user(self) -> int:
        self.next_user += 1
        return self.next_user

    def typed_by(self, user_id: int, text: str) -> None:
        self.typed.setdefault(user_id, []).append(text)

    async def idle(self, quiet: float = 0.1) -> None:
        await self.server.idle(self.application, quiet)


@dataclass
class Actor:
    user_id: int
    name: str
    last_message_id: int | None = None
    sent: list[int] = field(default_factory=list)  # ids of the messages sent in this entry
    # Whether what they type is answer text (which no one else may see); 申报表 values such as
    # the name are shown to the office by design.
    answering: bool = True


# -- the running bot, for the whole module -------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, criteria) -> AsyncIterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    data_dir = root / "data"
    logs = Collector()
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.INFO)
    root_logger.addHandler(logs)
    server = HostileTelegram()
    await server.start()
    # An album's one reply waits this long after its last file: shortened, as in tests/test_telegram.py
    # (the entries' `quiet` covers it).
    album_quiet, telegram_updates.ALBUM_QUIET_SECONDS = telegram_updates.ALBUM_QUIET_SECONDS, 0.2
    storage = await Storage.open(root / "award.db")
    coordinators = Coordinators.parse(str(BOSS))
    interview = Interview(storage, criteria, data_dir=data_dir, coordinators=coordinators)
    never_quiet = clock(0, 0)  # quiet hours from midnight to midnight: none
    coordinator = Coordinator(storage, criteria, coordinators,
                              ReminderPolicy(ZoneInfo("Asia/Shanghai"), quiet_start=never_quiet, quiet_end=never_quiet),
                              refuse=interview.handle)
    # No pacing is measured here (tests/test_pacing.py does): the 200-message burst is answered as
    # fast as the bot goes, not at Telegram's 30 a second.
    application = build_application(Router(interview, coordinator), storage, server.token,
                                     f"http://127.0.0.1:{server.port}", rate=FAST, per_chat_rate=FAST)

    async def finished(update: Update, _context: object) -> None:  # after the bot's own handler (group 0)
        server.handled = max(server.handled, update.update_id)

    application.add_handler(TypeHandler(Update, finished), group=1)
    try:
        async with application:
            await start_polling(application, poll_timeout=1)
            w = World(server, storage, application, criteria, root, data_dir, root / "award.db", logs)
            await set_up_victim(w)
            yield w
            await stop_polling(application)
    finally:
        telegram_updates.ALBUM_QUIET_SECONDS = album_quiet
        await storage.close()
        await server.stop()
        root_logger.removeHandler(logs)
        root_logger.setLevel(level)


async def set_up_victim(w: World) -> None:
    """The applicant whose data every entry must leave alone, set up through the real stack."""
    server, name = w.server, VICTIM_NAME
    server.send_text(VICTIM, "/start", name)
    await w.idle()
    server.tap(VICTIM, name, "consent:yes")
    await w.idle()
    server.send_text(VICTIM, name, name)  # 申报表 1: 姓名
    await w.idle()
    server.send_text(VICTIM, "/jump 1.1a", name)
    await w.idle()
    server.send_text(VICTIM, VICTIM_SECRET, name)
    await w.idle()
    w.typed_by(VICTIM, VICTIM_SECRET)
    server.send_photo(VICTIM, "victim-certificate", JPEG, caption="王芳的证书", name=name)
    await w.idle()
    found = await w.storage.find_applicant("telegram", str(VICTIM))
    assert found is not None, "the victim could not even start"
    w.victim_applicant = found.id
    w.victim_before = await snapshot(w.storage, VICTIM)
    assert w.victim_before["answers"] == {"1.1a": VICTIM_SECRET}, w.victim_before
    assert len(w.victim_before["attachments"]) == 1 and w.victim_before["profile"]["name"] == name


async def consented_applicant(w: World, step: str, name: str = "申报人") -> Actor:
    """A fresh applicant who agreed, is on `step`, and has answered 1.1a (so changes would show)."""
    actor = Actor(w.new_user(), name)
    person = await w.storage.applicant("telegram", str(actor.user_id), actor.name)
    w.previous_applicant = person.id
    app = await w.storage.create_application(person.id, w.criteria.id, w.criteria.version)
    await w.storage.update_application(app.id, status="active", step=step, mode="")
    await w.storage.set_profile_value(app.id, "name", "攻击者", None)
    await w.storage.append_answer(app.id, "1.1a", BASELINE, None)
    return actor


async def snapshot(storage: Storage, user_id: int) -> dict[str, Any]:
    """Everything stored about one user that an entry might change."""
    found = await storage.find_applicant("telegram", str(user_id))
    if found is None:
        return {}
    app = await storage.application(found.id)
    if app is None:
        return {"applicant": found.id}
    answers = await storage.answers(app.id)
    return {
        "applicant": found.id, "status": app.status, "step": app.step, "mode": app.mode,
        "answers": answers, "profile": await storage.profile(app.id),
        "attachments": [(a.question_id, a.sha256, a.file_name, a.caption) for a in await storage.attachments(app.id)],
        "history": {q: [r.text for r in await storage.history(app.id, q)] for q in sorted(answers)},
    }


def database_dump(db_path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, read beside the bot's own connection."""
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: connection.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    finally:
        connection.close()


OUTBOX_RECIPIENT, OUTBOX_KIND = 2, 5  # columns of an outbox row in database_dump


def queued_beyond_advice(dump: dict[str, list[tuple]], actor_id: int) -> list[tuple]:
    """The outbox, but for the advice on the actor's own answers (bot/flows/advice.py queues it)."""
    return [row for row in dump.get("outbox", [])
            if not (row[OUTBOX_KIND] == "advice" and row[OUTBOX_RECIPIENT] in ("", str(actor_id)))]


def advice_owners(db_path: Path) -> list[tuple[tuple, str]]:
    """Each advice row with the Telegram id of the applicant whose answer it is about."""
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return [(row[:-1], row[-1]) for row in connection.execute(
            "SELECT o.*, a.external_id FROM outbox o JOIN applicants a ON a.id = o.applicant_id "
            "WHERE o.kind = 'advice'")]
    finally:
        connection.close()


def stored_anywhere(dump: dict[str, list[tuple]], marker: str) -> list[str]:
    return [f"{table}: {row!r}"[:200] for table, rows in dump.items() for row in rows
            if any(isinstance(value, str) and marker in value for value in row)]


# -- sending an entry ----------------------------------------------------------------------------


def _tokens(value: Any, w: World, actor: Actor) -> Any:
    """Fill in what the corpus cannot know in advance: ids, the time, fresh message ids."""
    if isinstance(value, dict):
        return {k: _tokens(v, w, actor) for k, v in value.items()}
    if isinstance(value, list):
        return [_tokens(v, w, actor) for v in value]
    if isinstance(value, str):
        exact = {"$USER": actor.user_id, "$NOW": int(time.time()), "$VICTIM_CHAT": VICTIM}
        if value in exact:
            return exact[value]
        if value == "$MSG":
            return w.server.next_message_id()
        if value == "$LAST":
            return actor.last_message_id
        return value.replace("$VICTIM_APPLICANT", str(w.victim_applicant)).replace(
            "$PREV_APPLICANT", str(w.previous_applicant))
    return value


def _text(payload: dict[str, Any]) -> str:
    repeated = payload.get("text", "") * int(payload.get("repeat", 1))
    return payload.get("prefix", "") + repeated + payload.get("suffix", "")


_MADE = {"$JPEG": jpeg, "$PNG": png, "$PDF": pdf}


def _bytes(payload: dict[str, Any]) -> bytes:
    """The file: `data` in latin-1 escapes, or a whole file made here ($JPEG:marker, $PNG:…, $PDF:…),
    of which `keep` bytes are kept (negative: all but the last ones), padded to `pad_to`."""
    raw = payload.get("data", "")
    kind, _, marker = raw.partition(":")
    data = _MADE[kind](marker) if kind in _MADE else raw.encode("latin-1")
    if "keep" in payload:
        data = data[:int(payload["keep"])]
    pad_to = int(payload.get("pad_to", 0))
    return data + b"A" * max(0, pad_to - len(data))


def _chat(w: World, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    if "chat_id" in payload:
        return w.server.chat(int(payload["chat_id"]), "某群", payload.get("chat_type", "group"))
    return w.server.chat(actor.user_id, actor.name)


async def perform(w: World, actor: Actor, kind: str, payload: dict[str, Any]) -> None:
    server = w.server
    name = actor.name

    def typed(text: str) -> None:
        if actor.answering:
            w.typed_by(actor.user_id, text)
    if kind in ("text", "command"):
        text = _text(payload)
        for _ in range(int(payload.get("times", 1))):
            actor.last_message_id = server.send_text(actor.user_id, text, name,
                                                     chat_type=payload.get("chat_type", "private"),
                                                     chat_id=payload.get("chat_id"))
            actor.sent.append(actor.last_message_id)
        if not text.startswith("/"):
            typed(text)
    elif kind == "burst":
        for n in range(int(payload["count"])):
            text = payload["template"].format(n=n)
            server.send_text(actor.user_id, text, name)
            typed(text)
    elif kind == "callback":
        for _ in range(int(payload.get("times", 1))):
            server.tap(actor.user_id, name, payload.get("data"), chat=_chat(w, actor, payload),
                       with_message=payload.get("with_message", True),
                       inaccessible=payload.get("inaccessible", False), game=payload.get("game", False))
    elif kind == "document":
        data = _bytes(payload)
        file_id = f"doc-{server.next_message_id()}"
        if not payload.get("unknown_file"):
            server.add_file(file_id, data)
        document: dict[str, Any] = {"file_id": file_id, "file_unique_id": file_id + "u"}
        for key in ("file_name", "mime_type"):
            if payload.get(key) is not None:
                document[key] = _text({"text": payload[key], "repeat": payload.get(key + "_repeat", 1)})
        document["file_size"] = int(payload.get("size", len(data)))
        content: dict[str, Any] = {"document": document}
        if payload.get("caption"):
            content["caption"] = _text({"text": payload["caption"], "repeat": payload.get("caption_repeat", 1)})
            typed(content["caption"])
        actor.last_message_id = server.file_message(actor.user_id, name, **content)
    elif kind == "photo":
        data = _bytes(payload)
        file_id = f"photo-{server.next_message_id()}"
        server.add_file(file_id, data)
        size: dict[str, Any] = {"file_id": file_id, "file_unique_id": file_id + "u", "width": 800, "height": 600}
        if payload.get("size", len(data)) is not None:
            size["file_size"] = int(payload.get("size", len(data)))
        content = {"photo": [size]}
        for key in ("caption", "media_group_id"):
            if payload.get(key):
                content[key] = _text({"text": payload[key], "repeat": payload.get(key + "_repeat", 1)})
        if "caption" in content:
            typed(content["caption"])
        actor.last_message_id = server.file_message(actor.user_id, name, **content)
    elif kind == "album":
        for n, item in enumerate(payload["photos"]):
            file_id, data = f"album-{actor.user_id}-{n}", _bytes(item)
            server.add_file(file_id, data)
            media: dict[str, Any] = {"file_id": file_id, "file_unique_id": file_id + "u", "file_size": len(data)}
            if "file_name" in item:  # a group of documents
                content = {"document": {**media, "file_name": item["file_name"], "mime_type": item["mime_type"]}}
            else:
                content = {"photo": [{**media, "width": 800, "height": 600}]}
            server.file_message(actor.user_id, name, media_group_id=f"album-{actor.user_id}", **content)
    elif kind == "edited":
        targets = actor.sent if payload.get("every_message") else [payload.get("message_id", actor.last_message_id)]
        for message_id in targets:
            message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                       "edit_date": int(time.time()), "from": server.user(actor.user_id, name),
                                       "chat": _chat(w, actor, payload)}
            if "photo" in payload:
                message["photo"] = [{"file_id": "edited-photo", "file_unique_id": "edited-photo-u", "width": 1,
                                     "height": 1}]
                message["caption"] = payload["photo"]
            else:
                message["text"] = _text(payload)
                typed(message["text"])
            server.push_raw("edited_message", message, message["chat"]["id"])
    elif kind == "other":
        actor.last_message_id = server.file_message(actor.user_id, name, **payload["content"])
    elif kind == "raw":
        server.push_raw(payload["update"], payload["body"], payload.get("chat_id"))
    else:
        raise AssertionError(f"unknown kind {kind!r} in the corpus")


# -- the corpus ----------------------------------------------------------------------------------


def _param(entry: dict[str, Any]) -> Any:
    marks = [pytest.mark.xfail(reason=entry["xfail"], strict=True)] if entry.get("xfail") else []
    return pytest.param(entry, id=entry["id"], marks=marks)


async def test_the_corpus_is_well_formed_and_covers_every_kind_of_hostile_input() -> None:
    ids = [e["id"] for e in CORPUS]
    assert len(ids) >= 60 and len(set(ids)) == len(ids), "at least 60 entries, with unique ids"
    for entry in CORPUS:
        assert {"id", "description", "category", "kind", "payload", "expect"} <= entry.keys(), entry["id"]
        assert entry["category"] in CATEGORIES, entry["id"]
        assert entry["expect"], f"{entry['id']}: no expected outcome"
    assert {e["category"] for e in CORPUS} == CATEGORIES


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _baseline(value: Any) -> Any:
    """$BASELINE in an expected answer: the answer every applicant starts with."""
    if isinstance(value, dict):
        return {k: _baseline(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_baseline(v) for v in value]
    return value.replace("$BASELINE", BASELINE) if isinstance(value, str) else value


def _visible(messages: list[Sent]) -> str:
    return "\n".join(m.text for m in messages)


def _docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


@pytest.mark.parametrize("entry", [_param(e) for e in CORPUS])
async def test_hostile_input(world: World, entry: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    w, server = world, world.server
    expect = entry["expect"]
    who = entry.get("user", "applicant")
    if who == "boss":
        actor = Actor(BOSS, "办公室")
    elif who == "newcomer":
        actor = Actor(w.new_user(), entry.get("name", "新人"))
    else:
        step = entry.get("setup", {}).get("step", "q:1.1a")
        actor = await consented_applicant(w, step, entry.get("name", "申报人"))
        actor.answering = not step.startswith("p:")
    before = await snapshot(w.storage, actor.user_id)
    dump_before = await asyncio.to_thread(database_dump, w.db_path)
    sent_from, calls_from = len(server.sent), len(server.calls)
    try:
        steps = entry["payload"] if entry["kind"] == "sequence" else [{"kind": entry["kind"],
                                                                        "payload": entry["payload"]}]
        for step in steps:
            await perform(w, actor, step["kind"], _tokens(step.get("payload", {}), w, actor))
            await w.idle(float(entry.get("quiet", 0.03)))
        after = await snapshot(w.storage, actor.user_id)
        dump_after = await asyncio.to_thread(database_dump, w.db_path)
        sent = server.sent[sent_from:]
        chat = int(expect.get("chat", actor.user_id))
        mine = [m for m in sent if m.chat_id == chat]
        shown = _visible(mine)
        problems: list[str] = []

        # -- what the entry says should happen
        for wanted in _as_list(expect.get("reply_contains")):
            if wanted not in shown:
                problems.append(f"no reply contains {wanted!r}; replies: {shown[:600]!r}")
        for unwanted in _as_list(expect.get("reply_not_contains")):
            if unwanted in shown:
                problems.append(f"a reply contains {unwanted!r}")
        if expect.get("no_reply") and sent:
            problems.append(f"expected no reply, got {[(m.chat_id, m.text[:80]) for m in sent]}")
        if "reply_count" in expect and len([m for m in mine if m.document is None]) != expect["reply_count"]:
            problems.append(f"expected {expect['reply_count']} messages, got {len(mine)}")
        if expect.get("document") or expect.get("document_contains"):
            documents = [m for m in mine if m.document is not None]
            if not documents:
                problems.append("no document was sent")
            docx_files = [m for m in documents if (m.file_name or "").endswith(".docx")]
            for wanted in _as_list(expect.get("document_contains")):
                if not any(wanted in _docx_text(m.document or b"") for m in docx_files):
                    problems.append(f"no .docx sent contains {wanted!r}")
        if expect.get("stored_answer_unchanged"):
            for key in ("answers", "profile", "attachments", "history"):
                if before.get(key) != after.get(key):
                    problems.append(f"stored {key} changed: {str(before.get(key))[:300]} -> "
                                    f"{str(after.get(key))[:300]}")
        if expect.get("state_unchanged"):
            for key in ("status", "step", "mode"):
                if before.get(key) != after.get(key):
                    problems.append(f"{key} changed: {before.get(key)!r} -> {after.get(key)!r}")
        if "step" in expect and after.get("step") != expect["step"]:
            problems.append(f"step is {after.get('step')!r}, expected {expect['step']!r}")
        if "status" in expect and after.get("status") != expect["status"]:
            problems.append(f"status is {after.get('status')!r}, expected {expect['status']!r}")
        for marker in _as_list(expect.get("not_stored")):
            found = stored_anywhere(dump_after, marker)
            if found:
                problems.append(f"{marker!r} was stored: {found[:3]}")
        if expect.get("applicants_unchanged") and len(dump_after["applicants"]) != len(dump_before["applicants"]):
            problems.append(f"applicants {len(dump_before['applicants'])} -> {len(dump_after['applicants'])}")
        if "applicants_added" in expect:
            added = len(dump_after["applicants"]) - len(dump_before["applicants"])
            if added != expect["applicants_added"]:
                problems.append(f"{added} applicants added, expected {expect['applicants_added']}")
        if "attachments_added" in expect:
            added = len(after.get("attachments", [])) - len(before.get("attachments", []))
            if added != expect["attachments_added"]:
                problems.append(f"{added} attachments added, expected {expect['attachments_added']}")
        answer_rule = _baseline(expect.get("answer"))
        if answer_rule:
            question = answer_rule.get("question", "1.1a")
            stored = after.get("answers", {}).get(question, "")
            for wanted in _as_list(answer_rule.get("contains")):
                if wanted not in stored:
                    problems.append(f"{question} does not contain {wanted!r}: {stored[:200]!r}")
            for unwanted in _as_list(answer_rule.get("not_contains")):
                if unwanted in stored:
                    problems.append(f"{question} contains {unwanted!r}")
            if "max_chars" in answer_rule and len(stored) > answer_rule["max_chars"]:
                problems.append(f"{question} has {len(stored)} characters, over {answer_rule['max_chars']}")
            if "equals" in answer_rule and stored != answer_rule["equals"]:
                problems.append(f"{question} is {stored[:200]!r}")
            if answer_rule.get("in_order"):
                positions = [stored.find(part) for part in answer_rule["in_order"]]
                if -1 in positions or positions != sorted(positions):
                    problems.append(f"{question} lost or reordered parts: {positions[:20]}")
        for key, value in (expect.get("profile") or {}).items():
            if after.get("profile", {}).get(key) != value:
                problems.append(f"profile {key} is {after.get('profile', {}).get(key)!r}, expected {value!r}")
        if expect.get("callbacks_answered"):
            taps = [p for m, p in server.calls[calls_from:] if m == "answerCallbackQuery"]
            if len(taps) < int(expect["callbacks_answered"]):
                problems.append(f"{len(taps)} button taps answered, expected {expect['callbacks_answered']}")

        # -- what must hold for every entry
        if who != "boss" and dump_after.get("settings") != dump_before.get("settings"):
            problems.append("settings changed")
        if who != "boss" and queued_beyond_advice(dump_after, actor.user_id) != \
                queued_beyond_advice(dump_before, actor.user_id):
            problems.append("something was queued in the outbox")
        if await snapshot(w.storage, VICTIM) != w.victim_before:
            problems.append("the victim's stored data changed")
        for message in sent:
            if message.chat_id == VICTIM:
                problems.append(f"the victim was written to: {message.text[:80]!r}")
            if VICTIM_SECRET[:LEAK_PROBE] in message.text:
                problems.append(f"the victim's answer was shown to chat {message.chat_id}")
            if who != "boss" and message.chat_id == BOSS:
                problems.append(f"the office was written to: {message.text[:80]!r}")
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        for record in errors:
            problems.append(f"logged {record.levelname} from {record.name}: {record.getMessage()[:300]}"
                            + (" (with a traceback)" if record.exc_info else ""))
        for text in w.typed.get(actor.user_id, []):
            if len(text.strip()) >= LEAK_MIN_CHARS and text[:LEAK_PROBE] in caplog.text:
                problems.append(f"the log holds typed text {text[:40]!r}")
        if not (w.application.running and w.application.updater and w.application.updater.running):
            problems.append("the bot stopped")
        assert not problems, f"{entry['id']}: {entry['description']}\n  " + "\n  ".join(problems)
    finally:
        if who == "boss":
            await w.storage.set_setting("deadline", None)  # whatever the office set, the next entry starts clean


# -- after the whole corpus ----------------------------------------------------------------------


async def test_after_the_whole_corpus_the_bot_is_intact(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    w, server = world, world.server
    # It still answers a normal /where, for a fresh applicant and for the victim.
    actor = await consented_applicant(w, "q:1.1a")
    start = len(server.sent)
    server.send_text(actor.user_id, "/where", actor.name)
    server.send_text(VICTIM, "/where", VICTIM_NAME)
    await w.idle()
    replies = server.sent[start:]
    assert any(m.chat_id == actor.user_id and "1.1a" in m.text for m in replies), replies
    assert any(m.chat_id == VICTIM and "1.1a" in m.text for m in replies), replies
    assert w.application.running and w.application.updater and w.application.updater.running

    # The victim's stored answers did not change: not by the corpus, not by her /where.
    assert await snapshot(w.storage, VICTIM) == w.victim_before
    found = await w.storage.find_applicant("telegram", str(VICTIM))
    assert found is not None
    app = await w.storage.application(found.id)
    assert app is not None and await w.storage.answers(app.id) == {"1.1a": VICTIM_SECRET}

    # The database is whole: every table there, integrity intact, nothing queued for anyone.
    dump = await asyncio.to_thread(database_dump, w.db_path)
    assert {"applicants", "applications", "answers", "answer_segments", "answer_revisions", "attachments",
            "profile_values", "outbox", "settings"} <= dump.keys()
    connection = sqlite3.connect(f"file:{w.db_path}?mode=ro", uri=True)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()
    assert [row for row in dump["outbox"] if row[OUTBOX_KIND] != "advice"] == [], \
        "nobody submitted or was reminded, so nothing but an applicant's own advice may be queued"
    assert all(row[OUTBOX_RECIPIENT] in ("", str(row_owner)) for row, row_owner in advice_owners(w.db_path)), \
        "advice goes only to the applicant whose answer it is about"

    # No text typed by one user appears in a message to another chat.
    leaks = []
    for user, texts in w.typed.items():
        probes = {t[:LEAK_PROBE] for t in texts if len(t.strip()) >= LEAK_MIN_CHARS}
        for message in server.sent:
            if message.chat_id != user:
                leaks += [(user, message.chat_id, p[:30]) for p in probes if p in message.text]
    assert not leaks, leaks[:10]

    # Nothing was written outside the data folder: no file named x (from '../../x') anywhere above it,
    # nor where '../../x' leads from the bot's folders or its working directory.
    for folder in [w.data_dir, *w.data_dir.parents]:
        assert not (folder / "x").exists(), folder / "x"
        if folder == w.root.parent.parent:
            break
    for base in (w.data_dir / "attachments", w.data_dir / "documents", w.data_dir, Path.cwd()):
        for name in ("../../x", "../../x.jpg", "../../x.pdf"):
            assert not (base / name).resolve().exists(), base / name
    strays = [p for p in w.root.rglob("*") if p.name.startswith(("x", "passwd")) or "\x00" in p.name]
    assert not strays, strays
    for path in w.data_dir.rglob("*"):
        relative = path.relative_to(w.data_dir).parts
        assert relative[0] in ("attachments", "documents"), path
        if relative[0] == "attachments" and path.is_file():
            assert len(path.stem) == 64 and all(c in "0123456789abcdef" for c in path.stem), path

    # The logs hold no answer text and no token (every record of the module, at INFO).
    everything = w.logs.text() + "\n" + caplog.text
    assert server.token not in everything
    typed_in_logs = [p[:30] for texts in w.typed.values() for p in {t[:LEAK_PROBE] for t in texts}
                     if len(p.strip()) >= LEAK_MIN_CHARS and p in everything]
    assert not typed_in_logs, typed_in_logs[:10]
    assert VICTIM_SECRET[:LEAK_PROBE] not in everything
