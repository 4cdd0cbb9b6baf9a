"""Summaries of an application: progress by category, the full review, what is still empty."""

from __future__ import annotations

from dataclasses import dataclass

from bot import profile_view
from bot.criteria import Criteria, ProfileField, Question
from bot.validation import count_chars
from bot.wording import say


@dataclass(frozen=True)
class Gaps:
    """What is still empty: required profile fields (labels) and unanswered question ids."""

    fields: list[str]
    questions: list[str]

    @property
    def count(self) -> int:
        return len(self.fields) + len(self.questions)

    def describe(self) -> str:
        parts = []
        if self.fields:
            parts.append(say("gaps_fields", fields="、".join(self.fields)))
        if self.questions:
            parts.append(say("gaps_questions", questions="、".join(self.questions)))
        return "\n".join(parts)


def gaps(criteria: Criteria, profile: dict[str, str], answers: dict[str, str]) -> Gaps:
    return Gaps(
        fields=[f.label for f in criteria.profile if f.required and not profile.get(f.key)],
        questions=[q.id for q in criteria.questions if not answers.get(q.id)],
    )


def total_chars(answers: dict[str, str]) -> int:
    return sum(count_chars(text) for text in answers.values())


def bar(done: int, total: int, width: int = 6) -> str:
    filled = round(width * done / total) if total else 0
    return "■" * filled + "□" * (width - filled)


def progress_text(criteria: Criteria, profile: dict[str, str], answers: dict[str, str], here: str) -> str:
    answered = sum(1 for q in criteria.questions if answers.get(q.id))
    filled = sum(1 for f in criteria.profile if profile.get(f.key))
    lines = [
        say("progress_head", answered=answered, total=len(criteria.questions), chars=total_chars(answers)),
        say("progress_profile", filled=filled, total=len(criteria.profile)),
    ]
    for category in criteria.categories:
        questions = [q for item in category.items for q in item.questions]
        done = sum(1 for q in questions if answers.get(q.id))
        lines.append(say("progress_category", id=category.id, title=category.title,
                         bar=bar(done, len(questions)), done=done, total=len(questions)))
    if criteria.budget.report_max_chars:
        lines.append(say("progress_budget", max=criteria.budget.report_max_chars))
    lines.append(say("progress_here", here=here))
    return "\n".join(lines)


def question_label(criteria: Criteria, question: Question) -> str:
    """'1.1a（1 意识与素质 › 1.1 卓越意识）'."""
    item = criteria.item(question.item_id)
    category = criteria.category(question.category_id)
    assert item is not None and category is not None
    return say("question_label", id=question.id, category_id=category.id, category=category.title,
               item_id=item.id, item=item.title)


def value_text(field: ProfileField, value: str, empty: str) -> str:
    shown = profile_view.shown(field, value, office=False) or empty
    return "\n" + shown if field.type == "table" and value else shown  # a table's rows under its label


def review_texts(criteria: Criteria, profile: dict[str, str], answers: dict[str, str]) -> list[str]:
    """The whole application as a few long texts: the profile, then one per category."""
    empty = say("empty_value")
    profile_lines = [say("review_profile_head")]
    profile_lines += [f"{f.label}：{value_text(f, profile.get(f.key, ''), empty)}" for f in criteria.profile]
    texts = ["\n".join(profile_lines)]
    for category in criteria.categories:
        lines = [say("review_category_head", id=category.id, title=category.title)]
        for item in category.items:
            lines.append(say("review_item_head", id=item.id, title=item.title))
            for question in item.questions:
                answer = answers.get(question.id)
                lines.append(say("review_question", id=question.id, text=question.text,
                                 chars=count_chars(answer or "")))
                lines.append(answer or empty)
                lines.append("")
        texts.append("\n".join(lines).rstrip())
    return texts
