"""The database's schema, as forward migrations in order; PRAGMA user_version is how many are applied.

Each migration is SQL run in one transaction by Storage.open. A migration, once released, is never
changed: a new one is added instead.
"""

from __future__ import annotations

import sqlite3

# Forward migrations, in order. The database's PRAGMA user_version is the number applied.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "initial schema",
        """
        CREATE TABLE applicants (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            external_id TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            last_active_at TEXT NOT NULL,
            blocked_at TEXT,
            UNIQUE (channel, external_id)
        );
        CREATE TABLE applications (
            id INTEGER PRIMARY KEY,
            applicant_id INTEGER NOT NULL UNIQUE REFERENCES applicants(id) ON DELETE CASCADE,
            criteria_id TEXT NOT NULL,
            criteria_version INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'consent'
                CHECK (status IN ('consent', 'active', 'submitted')),
            step TEXT NOT NULL DEFAULT 'consent',
            mode TEXT NOT NULL DEFAULT '',
            consent_at TEXT,
            submitted_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE profile_values (
            application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            field TEXT NOT NULL,
            value TEXT NOT NULL,
            message_ref TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (application_id, field)
        );
        CREATE TABLE answers (
            application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            question_id TEXT NOT NULL,
            text TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (application_id, question_id)
        );
        -- The messages an answer is made of, so that editing one message edits its part.
        -- A rewrite supersedes the earlier messages rather than deleting them.
        CREATE TABLE answer_segments (
            id INTEGER PRIMARY KEY,
            application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            question_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            message_ref TEXT,
            text TEXT NOT NULL,
            superseded INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX answer_segments_by_question ON answer_segments (application_id, question_id, position);
        CREATE INDEX answer_segments_by_message ON answer_segments (application_id, message_ref);
        -- Every state an answer has been in, oldest first; nothing an applicant wrote is ever lost.
        CREATE TABLE answer_revisions (
            id INTEGER PRIMARY KEY,
            application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            question_id TEXT NOT NULL,
            text TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('append', 'replace', 'edit')),
            created_at TEXT NOT NULL
        );
        CREATE INDEX answer_revisions_by_question ON answer_revisions (application_id, question_id, id);
        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            question_id TEXT NOT NULL,
            file_name TEXT NOT NULL,
            mime_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            path TEXT NOT NULL,
            caption TEXT NOT NULL DEFAULT '',
            message_ref TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('draft', 'final')),
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (application_id, version)
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            applicant_id INTEGER NOT NULL REFERENCES applicants(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            dedupe_key TEXT UNIQUE,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'uncertain', 'failed', 'blocked')),
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX outbox_due ON outbox (status, not_before);
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
    (
        "a PDF beside each generated document, and what it was made from",
        """
        ALTER TABLE documents ADD COLUMN pdf_path TEXT;
        ALTER TABLE documents ADD COLUMN source_sha256 TEXT;
        """,
    ),
    (
        "outbox addressed to anyone (coordinators too), grouped into broadcasts",
        # The first outbox was never written to by a released version: it is replaced, not migrated.
        """
        DROP TABLE outbox;
        CREATE TABLE broadcasts (
            id INTEGER PRIMARY KEY,
            coordinator_channel TEXT,
            coordinator_id TEXT,
            audience TEXT NOT NULL,
            created_at TEXT NOT NULL,
            reported_at TEXT
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            applicant_id INTEGER REFERENCES applicants(id) ON DELETE CASCADE,
            broadcast_id INTEGER REFERENCES broadcasts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            dedupe_key TEXT UNIQUE,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'uncertain', 'failed', 'blocked')),
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX outbox_due ON outbox (status, not_before);
        CREATE INDEX outbox_recipient ON outbox (applicant_id, kind, created_at);
        CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status);
        """,
    ),
    (
        "updates already handled, so a restart never handles one twice",
        """
        CREATE TABLE seen_updates (
            channel TEXT NOT NULL,
            update_id INTEGER NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (channel, update_id)
        );
        """,
    ),
    (
        "a reminder can be dropped unsent (its applicant submitted while it waited)",
        # SQLite cannot change a CHECK constraint in place: copy into a new table.
        """
        CREATE TABLE outbox_new (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            applicant_id INTEGER REFERENCES applicants(id) ON DELETE CASCADE,
            broadcast_id INTEGER REFERENCES broadcasts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            dedupe_key TEXT UNIQUE,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'uncertain', 'failed', 'blocked', 'dropped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        INSERT INTO outbox_new SELECT id, channel, recipient, applicant_id, broadcast_id, kind, payload, dedupe_key,
            status, attempts, not_before, last_error, created_at, sent_at FROM outbox;
        DROP TABLE outbox;
        ALTER TABLE outbox_new RENAME TO outbox;
        CREATE INDEX outbox_due ON outbox (status, not_before);
        CREATE INDEX outbox_recipient ON outbox (applicant_id, kind, created_at);
        CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status);
        """,
    ),
    (
        "attachments found by application without reading them all (read on every answer)",
        """
        CREATE INDEX attachments_by_application ON attachments (application_id, question_id);
        """,
    ),
    (
        "ids never reused after a deletion; files removed by their owner; exports and notices traced to people; "
        "revisions kept as differences; an id for the database, so its files folder is its own",
        # AUTOINCREMENT needs the tables rebuilt (SQLite cannot add it in place): an old 查看详情 button
        # must never open the next applicant who got a deleted applicant's id. Run with foreign keys
        # off (see FOREIGN_KEYS_OFF), so that dropping the old tables cascades to nothing.
        """
        CREATE TABLE applicants_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            channel TEXT NOT NULL,
            external_id TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            last_active_at TEXT NOT NULL,
            blocked_at TEXT,
            UNIQUE (channel, external_id)
        );
        INSERT INTO applicants_new (id, channel, external_id, display_name, created_at, last_active_at, blocked_at)
            SELECT id, channel, external_id, display_name, created_at, last_active_at, blocked_at FROM applicants;
        DROP TABLE applicants;
        ALTER TABLE applicants_new RENAME TO applicants;
        CREATE TABLE applications_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            applicant_id INTEGER NOT NULL UNIQUE REFERENCES applicants(id) ON DELETE CASCADE,
            criteria_id TEXT NOT NULL,
            criteria_version INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'consent'
                CHECK (status IN ('consent', 'active', 'submitted')),
            step TEXT NOT NULL DEFAULT 'consent',
            mode TEXT NOT NULL DEFAULT '',
            consent_at TEXT,
            submitted_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        INSERT INTO applications_new (id, applicant_id, criteria_id, criteria_version, status, step, mode,
                                      consent_at, submitted_at, created_at, updated_at)
            SELECT id, applicant_id, criteria_id, criteria_version, status, step, mode, consent_at, submitted_at,
                   created_at, updated_at FROM applications;
        DROP TABLE applications;
        ALTER TABLE applications_new RENAME TO applications;
        ALTER TABLE attachments ADD COLUMN removed_at TEXT;
        -- Whom a message is about (a submission notice names the applicant): erased with them.
        ALTER TABLE outbox ADD COLUMN subject_id INTEGER;
        CREATE INDEX outbox_subject ON outbox (subject_id);
        -- A revision older than the newest is kept as what differs from the next one: the next one's
        -- first keep_prefix and last keep_suffix characters around `text`. NULL: `text` is whole.
        ALTER TABLE answer_revisions ADD COLUMN keep_prefix INTEGER;
        ALTER TABLE answer_revisions ADD COLUMN keep_suffix INTEGER;
        -- Exports hold applicants' documents and rows: an applicant's /delete removes the ones with theirs.
        CREATE TABLE exports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            zip_path TEXT NOT NULL,
            xlsx_path TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE export_members (
            export_id INTEGER NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
            application_id INTEGER NOT NULL,
            PRIMARY KEY (export_id, application_id)
        );
        CREATE INDEX export_members_by_application ON export_members (application_id);
        INSERT INTO settings (key, value) VALUES ('database_id', lower(hex(randomblob(16))))
            ON CONFLICT (key) DO NOTHING;
        -- Submission notices queued before: whom they are about is the applicant of their 查看详情 button.
        UPDATE outbox SET subject_id = CAST(substr(json_extract(payload, '$.buttons[0][0][1]'), 6) AS INTEGER)
            WHERE kind = 'notice' AND json_extract(payload, '$.buttons[0][0][1]') LIKE 'co:d:%';
        -- Erasure notices from before named the person: they keep nothing now, and a pending one is not sent.
        UPDATE outbox SET payload = '{"text": ""}',
                          status = CASE WHEN status = 'pending' THEN 'dropped' ELSE status END
            WHERE kind = 'notice' AND subject_id IS NULL AND payload NOT LIKE '%co:d:%';
        -- Ids deleted before this version are unknown, except those the office still holds a button
        -- for: the next applicant comes after all of them.
        INSERT INTO sqlite_sequence (name, seq) SELECT 'applicants', 0
            WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'applicants');
        UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT COALESCE(MAX(subject_id), 0) FROM outbox))
            WHERE name = 'applicants';
        """,
    ),
    (
        "the buttons last shown to the applicant, so a typed button word or number does what the button does",
        """
        ALTER TABLE applications ADD COLUMN offered TEXT NOT NULL DEFAULT '';
        """,
    ),
    (
        "the web channel: people who registered or were invited, their links and sessions, their conversation",
        """
        CREATE TABLE web_people (
            user_id TEXT PRIMARY KEY,  -- the id the interview knows them by on channel 'web'
            display_name TEXT NOT NULL DEFAULT '',
            unit TEXT NOT NULL DEFAULT '',
            invited INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        -- Personal links and browser sessions; only a token's SHA-256 is kept. A session may belong
        -- to a Telegram user too (the Mini App): channel and user_id name whom it signs in as.
        CREATE TABLE web_tokens (
            token_hash TEXT PRIMARY KEY,
            purpose TEXT NOT NULL CHECK (purpose IN ('link', 'session')),
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX web_tokens_by_user ON web_tokens (channel, user_id);
        -- What the page shows: the person's messages and the bot's, in order.
        CREATE TABLE web_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('bot', 'me')),
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX web_messages_by_user ON web_messages (channel, user_id, id);
        """,
    ),
    (
        "the award office's desk on the web: one-time sign-in links and sessions of coordinators",
        """
        CREATE TABLE office_tokens (
            token_hash TEXT PRIMARY KEY,
            purpose TEXT NOT NULL CHECK (purpose IN ('link', 'session')),
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        );
        """,
    ),
    (
        "applications returned for changes (退回修改) with the office's comments, each on a question or the 申报表",
        # Returned is not a status of its own: a returned application is open ('active') with a return
        # not yet resolved by a resubmission. The answer as it was when returned is kept for the diff.
        """
        CREATE TABLE returns (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            coordinator_channel TEXT NOT NULL,
            coordinator_id TEXT NOT NULL,
            returned_at TEXT NOT NULL,
            resolved_at TEXT
        );
        CREATE INDEX returns_by_application ON returns (application_id, resolved_at);
        CREATE TABLE return_comments (
            return_id INTEGER NOT NULL REFERENCES returns(id) ON DELETE CASCADE,
            target TEXT NOT NULL,  -- a question id, or 'profile' for the 申报表
            comment TEXT NOT NULL,
            answer_then TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (return_id, target)
        );
        """,
    ),
    (
        "updates received by webhook, kept until handled: Telegram does not send one again once answered",
        """
        CREATE TABLE webhook_inbox (
            update_id INTEGER PRIMARY KEY,
            payload TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        """,
    ),
    (
        "a revision of what the interview reads of an application, counted by SQLite itself",
        # Storage keeps answers in memory and reads them again when this moved. Triggers count every
        # change, whoever makes it (bot, console, web), from one counter: numbers never repeat, so an
        # erased application and a new one given its id never look alike (0: never written to).
        # A migration that rebuilds profile_values, answers or attachments must create them again.
        """
        CREATE TABLE revision_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
        INSERT INTO revision_counter (id, value) SELECT 1, COALESCE(MAX(id), 0) FROM applications;
        ALTER TABLE applications ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
        UPDATE applications SET revision = id;
        """ + "".join(
            f"""CREATE TRIGGER {table}_{event.lower()}_revision AFTER {event} ON {table} BEGIN
                UPDATE revision_counter SET value = value + 1;
                UPDATE applications SET revision = (SELECT value FROM revision_counter) WHERE id = {row}.application_id;
            END;
            """
            for table in ("profile_values", "answers", "attachments")
            for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))),
    ),
]

# Migrations that rebuild a table others refer to: run with foreign keys off (outside the
# transaction, as SQLite requires), then checked with PRAGMA foreign_key_check.
FOREIGN_KEYS_OFF = {7}

SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """The script's statements, to run one by one in our transaction: sqlite3's executescript() would
    commit on its own. A statement ends at the first `;` that SQLite's own tokenizer says completes it,
    so a `;` in a string literal, a comment or a trigger's body stays inside its statement."""
    found: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece
        if sqlite3.complete_statement(pending + ";"):
            if pending.strip():
                found.append(pending.strip())
            pending = ""
        else:
            pending += ";"
    if pending:  # unfinished (an open string literal): executing it says what is wrong
        found.append(pending.removesuffix(";").strip())
    return found
