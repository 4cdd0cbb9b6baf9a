"""The answers of the applicants writing now, kept in memory and read again only when they changed.

Each application has a revision that SQLite's triggers move on every change to its 申报表, answers
or files, whichever program makes it (migration 13): what is kept at a revision is what the
database holds while the revision is the same. Revisions come from one counter and never repeat.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

# The least recently read go first once there are more than MOST applications or MOST_CHARS
# characters in all (a complete application has about 16,000; one answer may have 50,000).
MOST = 256
MOST_CHARS = 4_000_000


@dataclass(frozen=True)
class Kept:
    """What an application held at a revision. Shared by every snapshot read at that revision:
    never changed, only replaced."""

    revision: int
    profile: dict[str, str]
    answers: dict[str, str]
    files: dict[str, int]

    @property
    def chars(self) -> int:
        return sum(map(len, self.answers.values())) + sum(map(len, self.profile.values()))


class Memory:
    def __init__(self, most: int = MOST, most_chars: int = MOST_CHARS) -> None:
        self.most, self.most_chars = most, most_chars
        self._kept: OrderedDict[int, Kept] = OrderedDict()  # by application id, least recently read first
        self.chars = 0

    def at(self, application_id: int, revision: int) -> Kept | None:
        """What is kept of the application if it is as of this revision."""
        kept = self._kept.get(application_id)
        if kept is None or kept.revision != revision:
            return None
        self._kept.move_to_end(application_id)
        return kept

    def has(self, application_id: int) -> bool:
        return application_id in self._kept

    def remember(self, application_id: int, kept: Kept) -> None:
        self.forget(application_id)
        self._kept[application_id] = kept
        self.chars += kept.chars
        while len(self._kept) > self.most or (self.chars > self.most_chars and len(self._kept) > 1):
            self.forget(next(iter(self._kept)))

    def forget(self, application_id: int) -> None:
        kept = self._kept.pop(application_id, None)
        if kept is not None:
            self.chars -= kept.chars

    def answered(self, application_id: int, before: int, after: int, question_id: str, answer: str) -> None:
        """This program wrote the answer in one transaction that moved the revision from `before` to
        `after`: what is kept at `before` becomes what is at `after`, without reading it again."""
        kept = self._kept.get(application_id)
        if kept is None or kept.revision != before:
            return
        answers = {**kept.answers, question_id: answer} if answer else \
            {q: a for q, a in kept.answers.items() if q != question_id}
        self.remember(application_id, Kept(after, kept.profile, answers, kept.files))

    def values(self) -> list[Kept]:
        return list(self._kept.values())
