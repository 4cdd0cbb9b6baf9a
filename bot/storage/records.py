"""What storage hands out: one frozen dataclass per kind of row, and the functions that read them from rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite


@dataclass(frozen=True)
class Applicant:
    id: int
    channel: str
    external_id: str
    display_name: str
    last_active_at: str
    blocked_at: str | None


@dataclass(frozen=True)
class Application:
    id: int
    applicant_id: int
    criteria_id: str
    criteria_version: int
    status: str
    step: str
    mode: str
    submitted_at: str | None
    # The buttons of the latest reply that had any, as JSON (bot/flows/typed.py reads it).
    offered: str = ""


@dataclass(frozen=True)
class Snapshot:
    """An application with everything the interview reads of it, all as of one moment."""

    application: Application
    profile: dict[str, str]  # the 申报表: field → value
    answers: dict[str, str]  # question id → answer (questions with an empty answer left out)
    files: dict[str, int]  # question id → how many files it has now (questions without any left out)


@dataclass(frozen=True)
class Revision:
    text: str
    action: str
    created_at: str


@dataclass(frozen=True)
class Edit:
    """What an edited message did: the answer it changed, or None if a rewrite had replaced it."""

    question_id: str
    answer: str | None
    too_long: bool = False  # not applied: the answer would pass the per-question limit


@dataclass(frozen=True)
class Attachment:
    id: int
    question_id: str
    file_name: str
    mime_type: str
    size: int
    sha256: str
    path: str
    caption: str


@dataclass(frozen=True)
class Document:
    version: int
    kind: str
    path: str
    sha256: str
    created_at: str
    pdf_path: str | None = None
    source_sha256: str | None = None  # digest of the answers it was made from: an unchanged draft is reused


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    channel: str
    recipient: str
    applicant_id: int | None
    broadcast_id: int | None
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: who gets it and what it says."""

    channel: str
    recipient: str
    kind: str
    payload: dict[str, Any]
    applicant_id: int | None = None
    dedupe_key: str | None = None
    not_before: str | None = None
    subject_id: int | None = None  # the applicant a notice is about: erased with them


@dataclass(frozen=True)
class ApplicantRow:
    """One line of the coordinators' overview."""

    applicant_id: int
    application_id: int
    channel: str
    external_id: str
    display_name: str
    name: str
    unit: str
    status: str
    answered: int
    last_active_at: str
    submitted_at: str | None
    blocked_at: str | None
    returned: bool = False  # returned for changes (退回修改) and not resubmitted since
    email: str = ""  # the 申报表's e-mail address, where reminders also go when AWARD_SMTP_URL is set


@dataclass(frozen=True)
class Erased:
    files: list[str]
    exports: int  # exports that held the applicant's data, removed with it


def _applicant(row: aiosqlite.Row) -> Applicant:
    return Applicant(row["id"], row["channel"], row["external_id"], row["display_name"],
                     row["last_active_at"], row["blocked_at"])


def _application(row: aiosqlite.Row) -> Application:
    return Application(row["id"], row["applicant_id"], row["criteria_id"], row["criteria_version"],
                       row["status"], row["step"], row["mode"], row["submitted_at"], row["offered"])


def _attachment(r: aiosqlite.Row) -> Attachment:
    return Attachment(r["id"], r["question_id"], r["file_name"], r["mime_type"], r["size"], r["sha256"], r["path"],
                      r["caption"])


def _document(r: aiosqlite.Row) -> Document:
    return Document(r["version"], r["kind"], r["path"], r["sha256"], r["created_at"], r["pdf_path"],
                    r["source_sha256"])


def _outbox(r: aiosqlite.Row) -> OutboxMessage:
    return OutboxMessage(r["id"], r["channel"], r["recipient"], r["applicant_id"], r["broadcast_id"], r["kind"],
                         json.loads(r["payload"]), r["status"], r["attempts"])
