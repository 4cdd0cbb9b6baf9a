"""A local Bot API server for the tests: loopback only, Telegram's limits and error texts.

The bot under test talks to it over real HTTP (python-telegram-bot's `base_url`), so the
tests exercise the real `Application`, request encoding, retries and error handling.

Updates reach the bot one of two ways. A bot in another process (or one that should poll) fetches
them with getUpdates, as from Telegram. A bot in the test's own process may be `attach`ed: each
update is then put straight into its update queue, where polling would put it, and goes through
the same update processor and handlers; the server also learns when the bot has finished with
each update, so a test waits for exactly that (`settle`) instead of for a quiet moment.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import ClientSession, web
from telegram import Update
from telegram.ext import Application

BOT_ID = 7000000001
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "tg-spoiler",
                "blockquote", "span"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class Sent:
    """One message the bot sent (or edited into existence)."""

    chat_id: int
    message_id: int
    text: str = ""
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    document: bytes | None = None
    file_name: str | None = None
    parse_mode: str | None = None
    at: float = field(default_factory=time.monotonic)  # when the server took it


class _EntityChecker(HTMLParser):
    """Reproduces Telegram's 'can't parse entities' for the HTML parse mode."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in ALLOWED_TAGS:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}"')

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            raise ApiError(400, f"Bad Request: can't parse entities: Unsupported entity &{name};")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def visible_text(text: str, parse_mode: str | None) -> str:
    if parse_mode != "HTML":
        return text
    if re.search(r"&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)", text):
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset")
    if re.search(r"<(?![a-zA-Z/])", text):
        raise ApiError(400, "Bad Request: can't parse entities: Unexpected end of name token")
    checker = _EntityChecker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
                            + checker.stack[-1])
    return "".join(checker.text)


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-TOKEN", *, chat_limit: tuple[int, float] | None = None) -> None:
        """`chat_limit` (burst, seconds): strict about messages to one chat, as Telegram is. A chat may get
        `burst` messages at once, then one per `seconds`; more is answered 429 (see `too_many`)."""
        self.token = token
        self.chat_limit = chat_limit
        self._chat_tokens: dict[int, tuple[float, float]] = {}  # chat -> (tokens, when counted)
        self.too_many: list[tuple[str, int]] = []  # (method, chat) refused by chat_limit
        self.conflict = False  # another program polls this bot: getUpdates answers 409
        self.updates: list[dict[str, Any]] = []
        self._update_id = 0
        self._fetched = 0
        self._fetched_at = 0.0
        self._pushed: dict[int, tuple[int, float]] = {}
        self._last_call: dict[int, float] = {}
        self._message_id = 1000
        self._new_update = asyncio.Event()
        self._stopping = False
        # Attached (see `attach`): the bot in this process that updates are handed to, and which of
        # the updates pushed (update id -> chat) it has not finished with yet.
        self.application: Application | None = None
        self._attached: Any = None  # the attached bot's update processor
        self._open: dict[int, int | None] = {}
        self._changed = asyncio.Event()  # set (and replaced) whenever a message is sent or an update handled
        self.callback_queries: list[str] = []  # ids of the taps pushed, for "each answered once"
        self._delivered: dict[int, dict[str, Any]] = {}  # every update pushed, by id (see hand_out_again)
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.commands: list[dict[str, str]] = []
        self.chat_commands: dict[int, list[dict[str, str]]] = {}  # menus set for one chat (scope "chat")
        self.callback_answers: list[str] = []
        self.files: dict[str, bytes] = {}
        self.blocked: set[int] = set()
        # setWebhook: (url, secret token). While set, updates are POSTed there, one after another, as
        # Telegram does, instead of waiting for getUpdates; each answer's status is kept.
        self.webhook: tuple[str, str] | None = None
        self.webhook_statuses: list[int] = []
        self._posting: asyncio.Lock | None = None
        self.faults: list[tuple[str, int | None, ApiError]] = []
        self.delays: dict[str, float] = {}  # method -> seconds, to play a slow Telegram
        # Play a crash at the worst moment: take the hold_at-th sendMessage, then never answer it.
        self.hold_at: int | None = None
        self.held = asyncio.Event()
        self._release = asyncio.Event()
        self._sends = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- life cycle -----------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)  # its lines would be the server's, not the bot's
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._release.set()
        self._stopping = True
        self._new_update.set()  # a long poll still waiting answers now, not after its timeout
        self.detach()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- what tests do ----------------------------------------------------------------

    def fail_next(self, method: str, chat_id: int | None, code: int, description: str,
                  retry_after: int | None = None) -> None:
        self.faults.append((method, chat_id, ApiError(code, description, retry_after)))

    # -- a bot in this process --------------------------------------------------------------

    def attach(self, application: Application, *, feed: bool = True) -> None:
        """Learn when `application` (initialised, started) has finished with each update; with `feed`,
        hand it the updates directly instead of waiting for getUpdates (it then must not poll)."""
        self.application = application if feed else None
        processor = application.update_processor
        handle = processor.do_process_update

        async def tracked(update: object, coroutine: Any) -> None:
            try:
                await handle(update, coroutine)
            finally:
                if isinstance(update, Update):
                    self._open.pop(update.update_id, None)
                    self._notify()

        processor.do_process_update = tracked  # type: ignore[method-assign]
        self._attached = processor

    def detach(self) -> None:
        processor = self._attached
        if processor is not None:
            del processor.do_process_update  # the class's own again
            self._attached = None
        self.application = None

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _push(self, kind: str, payload: dict[str, Any]) -> None:
        self._update_id += 1
        chat = payload.get("chat") or payload["message"]["chat"]
        self._pushed[chat["id"]] = (self._update_id, time.monotonic())
        if kind == "callback_query":
            self.callback_queries.append(payload["id"])
        self._deliver({"update_id": self._update_id, kind: payload}, chat["id"])

    @property
    def last_update_id(self) -> int:
        return self._update_id

    def hand_out_again(self, update_id: int) -> None:
        """Deliver an update once more, as Telegram does after a crash with what the bot had fetched
        but not confirmed."""
        update = self._delivered[update_id]
        chat = update.get("message", update.get("edited_message", {})).get("chat") \
            or update["callback_query"]["message"]["chat"]
        self._deliver(update, chat["id"])

    def _deliver(self, update: dict[str, Any], chat_id: int | None) -> None:
        self._delivered[update["update_id"]] = update
        if self.webhook is not None:
            asyncio.get_running_loop().create_task(self.post_to_webhook(update))
            return
        if self._attached is not None:
            self._open[update["update_id"]] = chat_id
        if self.application is None:
            self.updates.append(update)
            self._new_update.set()
            return
        # As getUpdates hands it over: JSON, read by python-telegram-bot into an Update.
        self._fetched = update["update_id"]
        self._fetched_at = time.monotonic()
        self.application.update_queue.put_nowait(Update.de_json(json.loads(json.dumps(update)),
                                                                self.application.bot))

    def user(self, user_id: int, name: str) -> dict[str, Any]:
        # "雪梅|赵": a first and a last name, as Telegram's profile asks for them.
        first, _, last = name.partition("|")
        return {"id": user_id, "is_bot": False, "first_name": first, "language_code": "zh-hans",
                **({"last_name": last} if last else {})}

    def chat(self, chat_id: int, name: str, kind: str = "private") -> dict[str, Any]:
        if kind == "private":
            return {"id": chat_id, "type": "private", "first_name": name}
        return {"id": chat_id, "type": kind, "title": name}

    def _message(self, user_id: int, name: str, chat_type: str, chat_id: int | None, **content: Any) -> dict:
        self._message_id += 1
        return {"message_id": self._message_id, "date": int(time.time()), "from": self.user(user_id, name),
                "chat": self.chat(chat_id or user_id, name, chat_type), **content}

    def send_text(self, user_id: int, text: str, name: str = "用户", *, chat_type: str = "private",
                  chat_id: int | None = None) -> int:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        message = self._message(user_id, name, chat_type, chat_id, **content)
        self._push("message", message)
        return message["message_id"]

    def edit_text(self, user_id: int, message_id: int, text: str, name: str = "用户") -> None:
        message = {"message_id": message_id, "date": int(time.time()), "edit_date": int(time.time()),
                   "from": self.user(user_id, name), "chat": self.chat(user_id, name), "text": text}
        self._push("edited_message", message)

    def send_other(self, user_id: int, name: str = "用户", **content: Any) -> int:
        message = self._message(user_id, name, "private", None, **content)
        self._push("message", message)
        return message["message_id"]

    def add_file(self, file_id: str, data: bytes) -> None:
        self.files[file_id] = data

    def send_photo(self, user_id: int, file_id: str, data: bytes, *, caption: str = "",
                   media_group_id: str | None = None, name: str = "用户") -> int:
        self.add_file(file_id, data)
        photo = [{"file_id": file_id, "file_unique_id": file_id + "u", "width": 800, "height": 600,
                  "file_size": len(data)}]
        extra: dict[str, Any] = {"photo": photo}
        if caption:
            extra["caption"] = caption
        if media_group_id:
            extra["media_group_id"] = media_group_id
        return self.send_other(user_id, name, **extra)

    def send_document(self, user_id: int, file_id: str, data: bytes, file_name: str, mime_type: str,
                      *, size: int | None = None, caption: str = "", name: str = "用户") -> int:
        self.add_file(file_id, data)
        document = {"file_id": file_id, "file_unique_id": file_id + "u", "file_name": file_name,
                    "mime_type": mime_type, "file_size": size if size is not None else len(data)}
        extra: dict[str, Any] = {"document": document}
        if caption:
            extra["caption"] = caption
        return self.send_other(user_id, name, **extra)

    def press(self, user_id: int, message: Sent, data: str, name: str = "用户", *, forged: bool = False) -> None:
        """Tap a button of `message`; `forged` sends callback data the message never offered."""
        assert forged or any(b.get("callback_data") == data for row in message.buttons for b in row), data
        self._push("callback_query", {
            "id": f"cb{self._update_id + 1}", "from": self.user(user_id, name), "chat_instance": "ci",
            "data": data, "message": {"message_id": message.message_id, "date": int(time.time()),
                                      "chat": self.chat(message.chat_id, name), "text": message.text},
        })

    def to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    async def until(self, condition, limit: float = 30, what: str = "the expected") -> None:
        """Wait until `condition()` holds, looking again whenever a message is sent or an update handled."""
        deadline = time.monotonic() + limit
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{what} never happened; last calls: {[m for m, _ in self.calls[-5:]]}")
            changed = self._changed
            try:
                # A short look-again too: not everything worth waiting for is a message (a database row).
                await asyncio.wait_for(changed.wait(), min(remaining, 0.05))
            except TimeoutError:
                pass

    async def settle(self, chat_id: int | None = None, quiet: float = 0.15, limit: float = 15) -> None:
        """Wait until the bot has finished with every update pushed so far (to the chat, or to anyone).

        Attached, that is known exactly and `quiet` is not used. A bot in another process is
        taken to be finished once it fetched the updates, answered the chat, and then said
        nothing to it for `quiet` seconds.
        """
        if self._attached is not None:
            await self.until(lambda: not any(chat_id in (None, chat) for chat in self._open.values()), limit,
                             f"handling the updates to {chat_id}")
            return
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            pushed = self._pushed.get(chat_id, (0, 0.0)) if chat_id is not None else (self._update_id, 0.0)
            last = self._last_call.get(chat_id, 0.0) if chat_id is not None else max(self._last_call.values(),
                                                                                        default=0.0)
            now = time.monotonic()
            # Settled: the update was fetched, the bot has answered this chat since, and then went quiet.
            answered = chat_id is None or last > pushed[1]
            if self._fetched >= pushed[0] and answered and now - max(last, self._fetched_at) >= quiet:
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"the bot did not settle; calls: {[m for m, _ in self.calls[-5:]]}")

    async def wait_for(self, chat_id: int, wanted, limit: float = 30) -> Sent:
        """Wait for the first message to the chat (from now on) that `wanted` accepts."""
        start = len(self.to(chat_id))
        found: list[Sent] = []

        def arrived() -> bool:
            found[:] = [m for m in self.to(chat_id)[start:] if wanted(m)][:1]
            return bool(found)

        await self.until(arrived, limit, f"such a message to {chat_id}")
        return found[0]

    async def nothing_more(self, chat_id: int | None = None, within: float = 0.3) -> None:
        """The one wait that cannot be for something: that nothing more is sent (to the chat) for a moment."""
        before = len(self.sent) if chat_id is None else len(self.to(chat_id))
        await asyncio.sleep(within)
        after = self.sent[before:] if chat_id is None else self.to(chat_id)[before:]
        assert not after, f"sent after all: {[m.text[:60] for m in after]}"

    # -- the API ------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        try:
            chat_id = int(params["chat_id"]) if "chat_id" in params else None
            if chat_id is not None:
                self._last_call[chat_id] = time.monotonic()
            for n, (fault_method, fault_chat, error) in enumerate(self.faults):
                if fault_method == method and fault_chat in (None, chat_id):
                    del self.faults[n]
                    raise error
            if chat_id is not None and chat_id in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id is not None and self.chat_limit and method.startswith("send") and method != "sendChatAction":
                self._spend_chat_token(method, chat_id)
            if method in self.delays:
                await asyncio.sleep(self.delays[method])
            handler = getattr(self, "_m_" + method, None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
        except ApiError as error:
            return self._error(error)
        return web.json_response({"ok": True, "result": result})

    def _spend_chat_token(self, method: str, chat_id: int) -> None:
        assert self.chat_limit is not None
        burst, seconds = self.chat_limit
        now = time.monotonic()
        tokens, then = self._chat_tokens.get(chat_id, (float(burst), now))
        tokens = min(float(burst), tokens + (now - then) / seconds)
        if tokens < 1:
            self._chat_tokens[chat_id] = (tokens, now)
            self.too_many.append((method, chat_id))
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self._chat_tokens[chat_id] = (tokens - 1, now)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if hasattr(value, "file"):
                params[key] = {"filename": value.filename, "data": value.file.read()}
            else:
                params[key] = value
        return params

    def _error(self, error: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
        if error.retry_after is not None:
            body["parameters"] = {"retry_after": error.retry_after}
        return web.json_response(body, status=error.code if error.code != 404 else 404)

    async def _m_getMe(self, params: dict) -> dict:
        return {"id": BOT_ID, "is_bot": True, "first_name": "质量奖申报助手", "username": "award_test_bot",
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _m_deleteWebhook(self, params: dict) -> bool:
        self.webhook = None
        return True

    async def _m_setWebhook(self, params: dict) -> bool:
        self.webhook = (params["url"], params.get("secret_token", ""))
        self._notify()
        return True

    async def post_to_webhook(self, update: dict[str, Any], secret: str | None = None) -> int:
        """POST one update to the webhook as Telegram does (in order: one at a time); its status."""
        assert self.webhook is not None, "no webhook set"
        if self._posting is None:
            self._posting = asyncio.Lock()
        url, token = self.webhook
        async with self._posting, ClientSession() as session, session.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": token if secret is None else secret},
        ) as answer:
            self.webhook_statuses.append(answer.status)
        self._notify()
        return answer.status

    async def _m_setMyCommands(self, params: dict) -> bool:
        commands = json.loads(params["commands"]) if isinstance(params["commands"], str) else params["commands"]
        scope = params.get("scope")
        scope = json.loads(scope) if isinstance(scope, str) else scope
        if scope and scope.get("type") == "chat":
            self.chat_commands[int(scope["chat_id"])] = commands
        else:
            self.commands = commands
        return True

    async def _m_deleteMyCommands(self, params: dict) -> bool:
        scope = params.get("scope")
        scope = json.loads(scope) if isinstance(scope, str) else scope
        if scope and scope.get("type") == "chat":
            self.chat_commands.pop(int(scope["chat_id"]), None)
        else:
            self.commands = []
        return True

    async def _m_getUpdates(self, params: dict) -> list[dict]:
        if self.conflict:
            raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot "
                                "instance is running")
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        if not self.updates and timeout and not self._stopping:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), min(timeout, 1.0))
            except TimeoutError:
                pass
        limit = int(params.get("limit") or 100)
        batch = self.updates[:limit]
        if batch:
            self._fetched = max(self._fetched, batch[-1]["update_id"])
            self._fetched_at = time.monotonic()
        return batch

    def _markup(self, params: dict) -> list[list[dict[str, str]]]:
        raw = params.get("reply_markup")
        if not raw:
            return []
        markup = json.loads(raw) if isinstance(raw, str) else raw
        rows = markup.get("inline_keyboard", [])
        for row in rows:
            for button in row:
                if "web_app" in button:
                    # Telegram opens a Mini App only from an https address.
                    if not str(button["web_app"].get("url", "")).startswith("https://"):
                        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                    continue
                if len(button.get("callback_data", "").encode()) > 64 or not button.get("callback_data"):
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return rows

    def _checked_text(self, params: dict, key: str = "text", limit: int = 4096) -> str:
        text = params.get(key, "")
        shown = visible_text(text, params.get("parse_mode"))
        if key == "text" and not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(shown.encode("utf-16-le")) // 2 > limit:
            raise ApiError(400, "Bad Request: message is too long" if key == "text"
                           else "Bad Request: message caption is too long")
        return shown

    async def _m_sendMessage(self, params: dict) -> dict:
        text = self._checked_text(params)
        self._message_id += 1
        sent = Sent(int(params["chat_id"]), self._message_id, text, self._markup(params),
                    parse_mode=params.get("parse_mode"))
        self.sent.append(sent)
        self._notify()
        self._sends += 1
        if self.hold_at is not None and self._sends == self.hold_at:
            self.held.set()
            await self._release.wait()  # delivered, but the answer never comes (until the server stops)
        return {"message_id": sent.message_id, "date": int(time.time()), "chat": self.chat(sent.chat_id, "用户"),
                "text": text, "from": {"id": BOT_ID, "is_bot": True, "first_name": "bot"}}

    async def _m_editMessageText(self, params: dict) -> dict:
        text = self._checked_text(params)
        for sent in self.sent:
            if sent.chat_id == int(params["chat_id"]) and sent.message_id == int(params["message_id"]):
                if sent.text == text and sent.buttons == self._markup(params):
                    raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                        "reply markup are exactly the same as a current content and reply markup "
                                        "of the message")
                sent.text, sent.buttons = text, self._markup(params)
                return {"message_id": sent.message_id, "date": int(time.time()),
                        "chat": self.chat(sent.chat_id, "用户"), "text": text}
        raise ApiError(400, "Bad Request: message to edit not found")

    async def _m_editMessageReplyMarkup(self, params: dict) -> dict | bool:
        for sent in self.sent:
            if sent.chat_id == int(params["chat_id"]) and sent.message_id == int(params["message_id"]):
                markup = self._markup(params)
                if markup == sent.buttons:
                    raise ApiError(400, "Bad Request: message is not modified")
                sent.buttons = markup
                return {"message_id": sent.message_id, "date": int(time.time()),
                        "chat": self.chat(sent.chat_id, "用户"), "text": sent.text}
        raise ApiError(400, "Bad Request: message to edit not found")

    async def _m_answerCallbackQuery(self, params: dict) -> bool:
        self.callback_answers.append(params["callback_query_id"])
        return True

    async def _m_sendChatAction(self, params: dict) -> bool:
        return True

    async def _m_sendDocument(self, params: dict) -> dict:
        document = params.get("document")
        if not isinstance(document, dict):
            raise ApiError(400, "Bad Request: there is no document in the request")
        caption = self._checked_text(params, "caption", 1024) if params.get("caption") else ""
        self._message_id += 1
        sent = Sent(int(params["chat_id"]), self._message_id, caption, self._markup(params),
                    document=document["data"], file_name=document["filename"])
        self.sent.append(sent)
        self._notify()
        return {"message_id": sent.message_id, "date": int(time.time()), "chat": self.chat(sent.chat_id, "用户"),
                "document": {"file_id": f"doc{sent.message_id}", "file_unique_id": f"u{sent.message_id}",
                             "file_name": sent.file_name, "file_size": len(sent.document or b"")}}

    async def _m_getFile(self, params: dict) -> dict:
        file_id = params["file_id"]
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": file_id + "u", "file_size": len(self.files[file_id]),
                "file_path": f"files/{file_id}"}

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].removeprefix("files/")
        if request.match_info["token"] != self.token or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])
