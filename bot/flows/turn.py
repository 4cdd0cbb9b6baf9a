"""One event's view of the applicant, and the services every room of the interview shares.

An event reads the application once (`Storage.snapshot`: the application, the 申报表, the answers
and the number of files per question); each write hands back what it wrote and the turn keeps it,
so nothing is read twice in one event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import clock
from bot.criteria import Criteria
from bot.flows import advice as advice_room
from bot.flows.data_rights import DataRights
from bot.flows.documents import Documents
from bot.flows.events import Sender
from bot.flows.materials import Materials
from bot.flows.transitions import Steps
from bot.returns import Return, Returns
from bot.storage import Application, Snapshot, Storage

_UNREAD = object()


@dataclass
class Turn:
    """The applicant and their application for the event being handled, kept current by each write."""

    sender: Sender
    app: Application
    profile: dict[str, str]
    answers: dict[str, str]
    files: dict[str, int]
    _back: object = field(default=_UNREAD, repr=False)

    @classmethod
    def of(cls, sender: Sender, snap: Snapshot) -> Turn:
        return cls(sender, snap.application, dict(snap.profile), dict(snap.answers), dict(snap.files))

    def answer(self, question_id: str) -> str:
        return self.answers.get(question_id, "")

    @property
    def submitted(self) -> bool:
        return self.app.status == "submitted"


@dataclass
class Context:
    """What every room of the interview works with."""

    storage: Storage
    criteria: Criteria
    steps: Steps
    tz: ZoneInfo
    advice: advice_room.Advice
    returns: Returns
    documents: Documents
    materials: Materials
    rights: DataRights
    coordinators: tuple[tuple[str, str], ...]

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def local(self, stamp: str | None) -> str:
        return clock.local(stamp, self.tz)

    async def back(self, turn: Turn) -> Return | None:
        """The return the applicant still has to answer: read once per event, when first needed."""
        if turn._back is _UNREAD:
            turn._back = await self.returns.open(turn.app.id)
        return turn._back  # type: ignore[return-value]

    async def move(self, turn: Turn, *, step: str | None = None, mode: str | None = None,
                   status: str | None = None) -> Application:
        turn.app = await self.storage.update_application(turn.app.id, step=step, mode=mode, status=status)
        return turn.app
