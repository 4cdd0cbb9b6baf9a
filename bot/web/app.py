"""The web channel's server (aiohttp): the start page, personal links, the chat page and its API.

Every request that touches an application finds the person by their session cookie alone: a
message, file or document of anyone else is never found (404), whatever id is put in the URL.
"""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from bot.clock import local
from bot.criteria import Criteria
from bot.flows.events import FileReceived, Sender
from bot.reminders import current_deadline
from bot.storage import Storage
from bot.uploads import MAX_FILE_BYTES, check_declared, check_upload, refusal_text
from bot.validation import clean_text
from bot.web.channel import Handle, WebChannel
from bot.web.guard import (
    CSRF_HEADER,
    FORM_COOKIE,
    SESSION_COOKIE,
    UPLOAD_BODY,
    Bucket,
    client_address,
    csrf_for,
    csrf_ok,
    file_response,
    number,
    same_origin,
    security_headers,
)
from bot.web.office import Desk, OfficeSettings
from bot.web.qr import qr_svg
from bot.web.store import Shown, WebStore, Who, new_token
from bot.web.telegram_auth import telegram_user
from bot.wording import say

HERE = Path(__file__).parent
MAX_NAME_CHARS = 40
MAX_TEXT_CHARS = 60_000  # above the interview's own cap: it, not the page, says what is too long


@dataclass(frozen=True)
class WebSettings:
    base_url: str = ""  # the public address used in links; empty: the address the request came to
    registration: bool = True
    award_timezone: str = "Asia/Shanghai"
    default_deadline: datetime | None = None
    telegram_token: str = ""  # for the Mini App's sign-in (initData is signed with it); empty: no Mini App


def build_app(handle: Handle, storage: Storage, criteria: Criteria, settings: WebSettings,
              office: OfficeSettings | None = None) -> web.Application:
    # A body over the upload limit is refused (413) before it is read whole.
    app = web.Application(middlewares=[security_headers], client_max_size=UPLOAD_BODY)
    site = Site(handle, storage, criteria, settings)
    app.add_routes([
        web.get("/", site.start),
        web.post("/register", site.register),
        web.get("/k/{token}", site.link),
        web.get("/chat", site.chat),
        web.get("/api/messages", site.poll),
        web.post("/api/send", site.send),
        web.post("/api/press", site.press),
        web.post("/api/upload", site.upload),
        web.get("/files/{message_id}", site.file),
        web.get("/miniapp", site.miniapp),
        web.post("/miniapp/signin", site.miniapp_signin),
        web.static("/static", HERE / "static", append_version=True),
    ])
    if office is not None:
        app.add_routes(Desk(storage, criteria, office, site.page).routes())
    app[SITE] = site
    return app


class Site:
    def __init__(self, handle: Handle, storage: Storage, criteria: Criteria, settings: WebSettings) -> None:
        self.storage = storage
        self.criteria = criteria
        self.settings = settings
        self.store = WebStore(storage)
        self.channel = WebChannel(handle, self.store)
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
        self.templates.globals["say"] = say
        # Chinese as UTF-8 in the page's JSON: half the bytes of \uXXXX (tojson still escapes < > & ').
        self.templates.policies["json.dumps_kwargs"] = {"ensure_ascii": False}
        # Per address: registrations and links. A whole office behind one address scanning the poster's
        # QR code at a meeting must get in; a script trying links must not get far.
        self.sign_ins = Bucket(burst=60, rate=1.0)
        self.messages = Bucket(burst=10, rate=1.0)  # per person, like Telegram's pace for a chat

    # -- pages ---------------------------------------------------------------------------

    def page(self, template: str, status: int = 200, **context: Any) -> web.Response:
        html = self.templates.get_template(template).render(award=self.criteria.award, **context)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    async def start(self, request: web.Request) -> web.StreamResponse:
        if await self.session(request) is not None:
            raise web.HTTPSeeOther("/chat")
        form = request.cookies.get(FORM_COOKIE) or new_token()
        deadline = await current_deadline(self.storage, self.settings.default_deadline)
        response = self.page("start.html", registration=self.settings.registration, csrf=csrf_for(form),
                             questions=len(self.criteria.questions), fields=len(self.criteria.profile),
                             deadline=local(deadline, ZoneInfo(self.settings.award_timezone)))
        self._cookie(response, FORM_COOKIE, form)
        return response

    async def register(self, request: web.Request) -> web.StreamResponse:
        if not self.settings.registration:
            return self.page("message.html", 403, text=say("web_registration_closed"))
        # Refused before the body is read: a flood from one address costs nothing.
        if not same_origin(request, self.settings.base_url):
            return self.page("message.html", 400, text=say("web_form_expired"))
        if not self.sign_ins.take(client_address(request)):
            return self.page("message.html", 429, text=say("web_too_many_sign_ins"))
        data = await request.post()
        if not csrf_ok(request.cookies.get(FORM_COOKIE), str(data.get("csrf", ""))):
            return self.page("message.html", 400, text=say("web_form_expired"))
        name = " ".join(clean_text(str(data.get("name", ""))).split())[:MAX_NAME_CHARS]
        unit = " ".join(clean_text(str(data.get("unit", ""))).split())[:MAX_NAME_CHARS * 2]
        if not name:
            return self.page("message.html", 400, text=say("web_name_needed"), back=True)
        _who, token = await self.store.add_person(name, unit)
        # To the personal link itself: the address the applicant bookmarks or shares is the link,
        # and a reload or Back cannot register them twice.
        raise web.HTTPSeeOther(f"/k/{token}?new=1")

    async def link(self, request: web.Request) -> web.StreamResponse:
        if not self.sign_ins.take(client_address(request)):
            return self.page("message.html", 429, text=say("web_too_many_sign_ins"))
        token = request.match_info["token"]
        who = await self.store.holder(token, "link")
        if who is None:
            return self.page("message.html", 404, text=say("web_link_unknown"))
        session = await self.store.new_session(who)
        if request.query.get("new") == "1":
            # Just registered: the link to keep, and its QR code. (Drawing the code takes milliseconds
            # of pure Python: not on the loop everyone's replies share.)
            link = self.link_url(request, token)
            qr = await asyncio.to_thread(qr_svg, link, label=say("web_qr_label"))
            person = await self.store.person(who.user_id)
            response: web.StreamResponse = self.page("registered.html", link=link, qr=qr,
                                                     name=person["display_name"] if person else "")
            self._cookie(response, SESSION_COOKIE, session)
            return response
        redirect = web.HTTPSeeOther("/chat")
        self._cookie(redirect, SESSION_COOKIE, session)
        raise redirect

    async def chat(self, request: web.Request) -> web.StreamResponse:
        found = await self.session(request)
        if found is None:
            raise web.HTTPSeeOther("/")
        who, secret = found
        await self.channel.start_once(await self.sender(who), who)
        shown = await self.store.shown(who)
        return self.page("chat.html", csrf=csrf_for(secret), progress=await self.progress(who),
                         messages=[self.client_message(m) for m in shown],
                         last=shown[-1].id if shown else 0, words=_page_words())

    # -- the Telegram Mini App ----------------------------------------------------------------

    async def miniapp(self, request: web.Request) -> web.StreamResponse:
        if not self.settings.telegram_token:
            raise web.HTTPNotFound(text=say("web_miniapp_off"))
        return self.page("miniapp.html")

    async def miniapp_signin(self, request: web.Request) -> web.StreamResponse:
        """Signed in as the Telegram user whose chat this is: the same applicant, the same answers."""
        if not self.settings.telegram_token or not same_origin(request, self.settings.base_url):
            raise web.HTTPForbidden(text=say("web_form_expired"))
        if not self.sign_ins.take(client_address(request)):
            raise web.HTTPTooManyRequests(text=say("web_too_many_sign_ins"))
        try:
            body = await request.json()
        except ValueError as exc:
            raise web.HTTPBadRequest(text=say("web_bad_request")) from exc
        init_data = str(body.get("initData", "")) if isinstance(body, dict) else ""
        user = telegram_user(init_data[:4096], self.settings.telegram_token)
        if user is None:
            raise web.HTTPForbidden(text=say("web_miniapp_refused"))
        response = web.json_response({"next": "/chat"})
        self._cookie(response, SESSION_COOKIE, await self.store.new_session(Who("telegram", str(user.id))))
        return response

    # -- the API of the chat page ------------------------------------------------------------

    async def poll(self, request: web.Request) -> web.StreamResponse:
        who, _secret = await self.signed_in(request)
        after = number(request.query.get("after"))
        return await self.news(who, after)

    async def send(self, request: web.Request) -> web.StreamResponse:
        who, after, body = await self.posted(request)
        text = str(body.get("text", ""))[:MAX_TEXT_CHARS]
        if text.strip():
            await self.channel.say(await self.sender(who), who, text)
        return await self.news(who, after)

    async def press(self, request: web.Request) -> web.StreamResponse:
        who, after, body = await self.posted(request)
        data, label = str(body.get("data", ""))[:64], str(body.get("label", ""))[:80]
        if data:
            await self.channel.press(await self.sender(who), who, data, label)
        return await self.news(who, after)

    async def upload(self, request: web.Request) -> web.StreamResponse:
        who, after, body = await self.posted(request, multipart=True)
        upload = body.get("file")
        if not isinstance(upload, web.FileField):
            raise web.HTTPBadRequest(text=say("web_no_file"))
        data = await asyncio.to_thread(upload.file.read, MAX_FILE_BYTES + 1)
        name = Path(upload.filename or "file").name[:120]
        mime = upload.content_type if upload.content_type != "application/octet-stream" else \
            (mimetypes.guess_type(name)[0] or "")
        refused = check_declared(mime, len(data)) or await asyncio.to_thread(check_upload, data, mime)
        if refused is not None:
            await self.store.record(who, "bot", [{"text": refusal_text(refused, name, len(data))}])
            return await self.news(who, after)
        caption = clean_text(str(body.get("caption", "")))[:200]
        await self.channel.upload(who, FileReceived(await self.sender(who), name, mime, data, caption))
        return await self.news(who, after)

    async def file(self, request: web.Request) -> web.StreamResponse:
        who, _secret = await self.signed_in(request)
        shown = await self.store.message(who, number(request.match_info["message_id"]))
        document = (shown.payload.get("document") if shown else None) or {}
        path = Path(str(document.get("path", "")))
        if not document:
            raise web.HTTPNotFound(text=say("web_file_gone"))
        name = str(document.get("name", path.name))
        inline = request.query.get("view") == "1" and path.suffix.lower() == ".pdf"
        return await file_response(path, name, mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                                   inline=inline)

    # -- helpers -----------------------------------------------------------------------------

    async def session(self, request: web.Request) -> tuple[Who, str] | None:
        secret = request.cookies.get(SESSION_COOKIE, "")
        who = await self.store.holder(secret, "session")
        return (who, secret) if who else None

    async def signed_in(self, request: web.Request) -> tuple[Who, str]:
        found = await self.session(request)
        if found is None:
            raise web.HTTPUnauthorized(text=say("web_signed_out"))
        return found

    async def posted(self, request: web.Request, *, multipart: bool = False) -> tuple[Who, int, dict[str, Any]]:
        """The person behind a state-changing request, checked before anything is read or done."""
        who, secret = await self.signed_in(request)
        if not same_origin(request, self.settings.base_url) or \
                not csrf_ok(secret, request.headers.get(CSRF_HEADER)):
            raise web.HTTPForbidden(text=say("web_form_expired"))
        if not self.messages.take(f"{who.channel}:{who.user_id}"):
            raise web.HTTPTooManyRequests(text=say("web_too_fast"))
        if multipart:
            body: dict[str, Any] = dict(await request.post())
        else:
            try:
                raw = await request.json()
            except ValueError as exc:
                raise web.HTTPBadRequest(text=say("web_bad_request")) from exc
            body = raw if isinstance(raw, dict) else {}
        return who, number(str(body.get("after", request.query.get("after", "0")))), body

    async def sender(self, who: Who) -> Sender:
        person = await self.store.person(who.user_id) if who.channel == "web" else None
        if person is None and who.channel != "web":
            # A Telegram user in the Mini App: the name their chat already has.
            known = await self.storage.find_applicant(who.channel, who.user_id)
            return Sender(who.channel, who.user_id, known.display_name if known else "")
        return Sender(who.channel, who.user_id, person["display_name"] if person else "")

    async def news(self, who: Who, after: int) -> web.Response:
        farewell = self.channel.farewells.pop(who, None)
        if farewell is not None:
            response = web.json_response({"messages": [self.client_message(Shown(after + n, "bot", payload))
                                                        for n, payload in enumerate(farewell, start=1)],
                                          "progress": "", "erased": say("web_erased")})
            response.del_cookie(SESSION_COOKIE, path="/")
            return response
        shown = await self.store.shown(who, after)
        return web.json_response({"messages": [self.client_message(m) for m in shown],
                                  "progress": await self.progress(who)})

    async def progress(self, who: Who) -> str:
        """已答 12/39, and where they are (2.1a, 申报表): always in sight at the top of the page."""
        answered, step, status = await self.store.place(who)
        total = len(self.criteria.questions)
        if status == "submitted":
            return say("web_progress_submitted", answered=answered, total=total)
        if step.startswith("q:"):
            return say("web_progress_at", answered=answered, total=total, here=step[2:])
        if step.startswith("p:"):
            return say("web_progress_at", answered=answered, total=total, here=say("btn_profile"))
        return say("web_progress", answered=answered, total=total)

    def client_message(self, shown: Shown) -> dict[str, Any]:
        """A message as the page gets it: never a server path, a document by its URL and name."""
        payload = shown.payload
        message: dict[str, Any] = {"id": shown.id, "role": shown.role, "text": payload.get("text", ""),
                                   "buttons": payload.get("buttons", [])}
        document = payload.get("document")
        if document:
            name = str(document.get("name", ""))
            message["document"] = {"url": f"/files/{shown.id}", "name": name,
                                   "view": f"/files/{shown.id}?view=1" if name.lower().endswith(".pdf") else ""}
        return message

    def link_url(self, request: web.Request, token: str) -> str:
        base = self.settings.base_url.rstrip("/") or f"{request.scheme}://{request.host}"
        return f"{base}/k/{token}"

    def _cookie(self, response: web.StreamResponse, name: str, value: str) -> None:
        response.set_cookie(name, value, httponly=True, samesite="Lax", path="/", max_age=180 * 86400,
                            secure=self.settings.base_url.startswith("https://"))


SITE = web.AppKey("site", Site)


def _page_words() -> dict[str, str]:
    """The wording the page's script needs, from messages.yaml like every other sentence."""
    return {"chars": say("web_chars", chars="{chars}"), "sending": say("web_sending"), "failed": say("web_send_failed"),
            "too_fast": say("web_too_fast"), "signed_out": say("web_signed_out"), "view_pdf": say("web_view_pdf"),
            "wechat": say("web_wechat_download"), "wechat_docx": say("web_wechat_download_docx"),
            "uploading": say("web_uploading"), "restart": say("web_btn_restart")}

