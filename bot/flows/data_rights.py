"""The applicant's rights over their data: everything stored, as a file (/mydata), and erasure (/delete).

Erasure means everywhere: the database rows (with secure_delete), the documents, received files
nobody else has, every export that holds their document or row, and the office's notices about
them (which keep only the application's number afterwards).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from bot.clock import MINUTE
from bot.files import remove_files, remove_folder, write_private
from bot.flows.events import UNREACHABLE, Reply, Sender
from bot.storage import Application, Outgoing, Storage
from bot.wording import say

log = logging.getLogger(__name__)


class DataRights:
    def __init__(self, storage: Storage, folders: Callable[[Application], list[Path]],
                 coordinators: Iterable[tuple[str, str]] = ()) -> None:
        self.storage = storage
        # An application's own folders (documents first, then received files): /mydata is written to
        # the first, and erasure removes them all.
        self.folders = folders
        self.coordinators = tuple(coordinators)

    async def mydata(self, app: Application, sender: Sender, now: datetime) -> list[Reply]:
        data = await self.storage.personal_data(app.applicant_id)
        data["exported_at"] = now.isoformat(timespec="seconds")
        path = self.folders(app)[0] / "mydata.json"
        await asyncio.to_thread(write_private, path, json.dumps(data, ensure_ascii=False, indent=2))
        log.info("personal data sent to applicant %s", sender.key)
        return [Reply(say("mydata_caption"), document=path, document_name=say("mydata_file_name") + ".json")]

    async def erase(self, app: Application, sender: Sender, now: datetime) -> list[Reply]:
        # The application's number is all the office keeps: it finds the person in older lists by it.
        erased = await self.storage.delete_applicant(app.applicant_id, {"text": say("co_notice_erased", number=app.id)})
        left = await asyncio.to_thread(_remove, erased.files, self.folders(app))
        if left:
            # Said loudly: the applicant was told everything is gone; an operator must finish the job.
            log.error("erasure of application %s left %d file(s) on disk that could not be removed", app.id, left)
        log.info("applicant %s erased their data (%d files, %d exports)", sender.key, len(erased.files),
                 erased.exports)
        text = say("co_deleted_notice", number=app.id, when=now.strftime(MINUTE))
        if erased.exports:
            text += "\n" + say("co_deleted_exports", count=erased.exports)
        for channel, user in self.coordinators:
            if channel == UNREACHABLE:
                continue
            await self.storage.enqueue(Outgoing(channel, user, "notice", {"text": text}))
        return [Reply(say("deleted"))]


def _remove(files: list[str], folders: list[Path]) -> int:
    """Remove the files and folders; returns how many files are still there."""
    remove_files(files)
    return sum(remove_folder(folder) for folder in folders) + sum(1 for name in files if Path(name).exists())
