"""Evidence files per question: kept when they arrive on a question, listed, removed by their owner.

A file is written to disk only here, once the interview has decided to keep it: one sent before
consent or on the 申报表 never touches the disk. Each application's files are in a folder of its
own (attachments/<application id>/<sha256>), once per content: two applicants who send the same
certificate have a copy each, so one removing or erasing theirs can never take the other's away,
and the applicant's lane (one event at a time) is all the locking there is. A removed file's row
stays as history (name, size, when added and removed); its bytes go.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.criteria import Question
from bot.document_images import EMBEDDABLE_TYPES
from bot.files import keep_by_content, remove_files
from bot.flows import callbacks as cb
from bot.flows.events import Button, FileReceived, Reply, keyboard
from bot.storage import Application, Attachment, Storage
from bot.uploads import SUFFIXES
from bot.validation import clean_text
from bot.wording import say

log = logging.getLogger(__name__)


class Materials:
    def __init__(self, storage: Storage, folder: Path) -> None:
        self.storage = storage
        self.folder = folder

    async def receive(self, app: Application, question: Question, event: FileReceived) -> tuple[str, int | None]:
        """Keep the file as evidence for `question`: the text that confirms it (or says it failed) and
        the number of files the question now has (None when it failed)."""
        try:
            digest, path = await asyncio.to_thread(keep_by_content, self.folder_of(app), event.data,
                                                   SUFFIXES.get(event.mime_type, ""))
        except OSError as error:
            log.error("a received file could not be stored for application %s: %s", app.id,
                      error.strerror or type(error).__name__)
            return say("file_not_stored", name=event.file_name), None
        await self.storage.add_attachment(
            app.id, question.id, file_name=event.file_name, mime_type=event.mime_type, size=event.size,
            sha256=digest, path=str(path), caption=clean_text(event.caption), message_ref=event.message_ref,
        )
        count = (await self.storage.attachment_counts(app.id)).get(question.id, 0)
        text = say("file_saved", name=event.file_name, id=question.id, count=count)
        # Word shows only some image formats; say so now, not when the office prints the 申报书.
        if event.mime_type == "application/pdf":
            text += "\n" + say("file_listed_pdf")
        elif event.mime_type not in EMBEDDABLE_TYPES:
            text += "\n" + say("file_listed_only")
        return text, count

    def folder_of(self, app: Application) -> Path:
        return self.folder / str(app.id)

    async def listing(self, app: Application, question: Question) -> Reply:
        files = await self.storage.attachments(app.id, question.id)
        back = Button(say("btn_back_to_question"), cb.encode(cb.HERE))
        if not files:
            # Nothing here; where the applicant's files are, if anywhere, is what they want to know.
            elsewhere = await self.overview(app)
            text = say("files_none", id=question.id)
            if await self.storage.attachments(app.id):
                text += "\n\n" + elsewhere.text
            return Reply(text, keyboard([back]))
        lines = [say("files_head", id=question.id, count=len(files))]
        lines += [_line(n, a) for n, a in enumerate(files, start=1)]
        lines.append(say("files_how_to_remove"))
        buttons = [Button(say("btn_remove_file", n=n), cb.encode(cb.FILE_ASK, question.id, a.id))
                   for n, a in enumerate(files, 1)]
        return Reply("\n".join(lines), keyboard(*[buttons[i:i + 3] for i in range(0, len(buttons), 3)], [back]))

    async def overview(self, app: Application) -> Reply:
        """Every file of the application by question, for /files away from a question."""
        files = await self.storage.attachments(app.id)
        if not files:
            return Reply(say("files_none_at_all"))
        lines = [say("files_all_head", count=len(files))]
        lines += [f"{a.question_id}　{_line(n, a)}" for n, a in enumerate(files, start=1)]
        lines.append(say("files_go_to_question"))
        return Reply("\n".join(lines))

    async def ask(self, app: Application, question: Question, attachment_id: int) -> Reply | None:
        found = await self._find(app, question, attachment_id)
        if found is None:
            return None
        return Reply(say("file_remove_confirm", name=found.file_name, id=question.id),
                     keyboard([Button(say("btn_remove_file_yes"),
                                      cb.encode(cb.FILE_REMOVE, question.id, attachment_id))],
                              [Button(say("btn_remove_file_no"), cb.encode(cb.FILES, question.id))]),
                     choice_only=True)

    async def remove(self, app: Application, question: Question, attachment_id: int) -> tuple[str, int] | None:
        """Remove one of the question's files: what to say, and how many files it has left."""
        removed = await self.storage.remove_attachment(app.id, attachment_id)
        if removed is None:
            return None
        attachment, still_used = removed
        if not still_used:
            await asyncio.to_thread(remove_files, [attachment.path])
        left = (await self.storage.attachment_counts(app.id)).get(question.id, 0)
        log.info("application %s removed a file from %s", app.id, question.id)
        return say("file_removed", name=attachment.file_name, id=question.id, count=left), left

    async def _find(self, app: Application, question: Question, attachment_id: int) -> Attachment | None:
        files = await self.storage.attachments(app.id, question.id)
        return next((a for a in files if a.id == attachment_id), None)


def _line(number: int, attachment: Attachment) -> str:
    caption = f"（{attachment.caption}）" if attachment.caption else ""
    return say("files_line", n=number, name=attachment.file_name, caption=caption,
               kb=max(1, round(attachment.size / 1024)))
