"""Everything the bot remembers, in one SQLite file, with all SQL in this package.

`Storage` is the one object the rest of the bot holds: the connection and its lock
(connection.py), with the methods of each concern mixed in from the module beside it.

    records.py       the rows handed out (Application, Attachment, Outgoing, …)
    connection.py    opening the database, its migrations, one unit of work at a time
    migrations.py    the schema, as forward migrations
    applications.py  applicants, applications, the 申报表; snapshot (all of an application at once)
    answers.py       answers, edited messages, every version an answer has had
    files.py         evidence files and generated documents
    outbox.py        messages queued to send, broadcasts, updates already handled
    office.py        settings, the office's overview rows, exports, the database's id
    rights.py        /mydata and /delete
    backup.py        award-bot backup
"""

from __future__ import annotations

from bot.storage.answers import AnswersMixin
from bot.storage.applications import ApplicationsMixin
from bot.storage.backup import backup_database
from bot.storage.connection import StorageError, now_utc
from bot.storage.files import FilesMixin
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION
from bot.storage.office import OfficeMixin
from bot.storage.outbox import OutboxMixin, queue_in
from bot.storage.records import (
    Applicant,
    ApplicantRow,
    Application,
    Attachment,
    Document,
    Edit,
    Erased,
    OutboxMessage,
    Outgoing,
    Revision,
    Snapshot,
)
from bot.storage.rights import RightsMixin

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Applicant",
    "ApplicantRow",
    "Application",
    "Attachment",
    "Document",
    "Edit",
    "Erased",
    "OutboxMessage",
    "Outgoing",
    "Revision",
    "Snapshot",
    "Storage",
    "StorageError",
    "backup_database",
    "now_utc",
    "queue_in",
]


class Storage(ApplicationsMixin, AnswersMixin, FilesMixin, OutboxMixin, OfficeMixin, RightsMixin):
    """The database: open it with `await Storage.open(path)`; each method is one unit of work."""
