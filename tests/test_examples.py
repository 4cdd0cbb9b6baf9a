"""The bot's own examples pass its own checks (#12).

An applicant is shown each question's example as the way to answer; the README points at the
sample application and at the console session as what a complete application looks like. If the
bot then told that applicant the example lacks a comparison, or that every answer of its own
demonstration is 偏短, nobody would trust the checks. So: every example, run through the same
evidence checks an applicant's answer gets, draws no warning.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date

import pytest

from bot.answers_file import load_answers_file
from bot.criteria import Criteria, load_criteria
from bot.evidence import check, check_application
from bot.flows.review import total_chars
from bot.storage import Storage
from bot.validation import count_chars
from tests.conftest import ROOT, award_bot

SAMPLE = ROOT / "examples" / "answers.sample.json"
SESSION = ROOT / "examples" / "console-session.txt"
PHOTOS = ROOT / "examples" / "photos"
QUESTIONS = load_criteria().questions

# A hint example is one sentence and comes with no file: only length and proof are beyond it.
NOT_FOR_A_ONE_SENTENCE_EXAMPLE = {"too_short", "missing_attachment"}

# Where the console session's answer names a certificate or an honour, 王芳 sends its photo from
# the terminal (/attach) right after the answer, as she would in Telegram: question, file, caption.
ATTACHED_IN_THE_TERMINAL = {
    "7.2a": ("wangfang-black-belt-2024.jpg", "2024年中国质量协会六西格玛黑带注册证书"),
    "7.3a": ("wangfang-qc-award-2023.jpg", "2023年连云港市优秀QC成果证书（降低注塑件缩痕不良）"),
    "7.4a": ("wangfang-honour-2024.jpg", "2024年度连云港经济技术开发区“优秀质量工作者”荣誉证书"),
}


def codes(found: list) -> list[str]:
    return [warning.code for warning in found]


def within_budgets(criteria: Criteria, answers: dict[str, str]) -> None:
    for question in criteria.questions:
        limit = criteria.max_chars(question)
        assert not limit or count_chars(answers[question.id]) <= limit, question.id
    assert criteria.budget.report_max_chars is None or total_chars(answers) <= criteria.budget.report_max_chars


@pytest.mark.parametrize("question", QUESTIONS, ids=[q.id for q in QUESTIONS])
def test_the_example_shown_with_a_question_passes_the_checks_its_answer_gets(question) -> None:
    # The applicant reads the example under the question, writes an answer just like it, and is
    # not told that it lacks figures, a trend, a comparison with the past or with a benchmark.
    found = [code for code in codes(check(question, question.example)) if code not in NOT_FOR_A_ONE_SENTENCE_EXAMPLE]
    assert found == [], f"{question.id} 的示例：{question.example}"


def test_the_sample_application_draws_no_warning_at_all(criteria: Criteria) -> None:
    # The office opens the demo 申报书 (award-bot demo): 39 answers with their proof, nothing for an
    # assessor to miss, nothing over a budget, and the answers file itself raises no 提示.
    sample = load_answers_file(SAMPLE, criteria, today=date.today())
    assert sample.notes == []
    assert set(sample.answers) == {q.id for q in criteria.questions}
    files = Counter(attachment.question_id for attachment in sample.attachments)
    warnings = check_application(criteria, sample.answers, dict(files))
    assert {qid: codes(found) for qid, found in warnings.items() if found} == {}
    within_budgets(criteria, sample.answers)


async def test_the_console_session_replayed_in_the_terminal_draws_no_warning_at_all(
    criteria: Criteria, tmp_path
) -> None:
    # 王芳 pipes the README's session into award-bot console: the 申报表, one answer per question,
    # her three certificates sent with /attach, /finish. What is stored is what the office gets;
    # each answer, with the files it has, is checked as the review and the finish check it.
    db = tmp_path / "award.db"
    result = award_bot("console", "--user", "wangfang", "--name", "王芳",
                       stdin=SESSION.read_text(encoding="utf-8"), env={"AWARD_DB": str(db), "AWARD_PDF": "false"})
    assert result.returncode == 0, result.stderr
    assert "缺证明材料" not in result.stdout
    storage = await Storage.open(db)
    try:
        applicant = await storage.find_applicant("console", "wangfang")
        assert applicant is not None
        application = await storage.application(applicant.id)
        assert application is not None and application.status == "submitted"
        answers = await storage.answers(application.id)
        attachments = await storage.attachments(application.id)
    finally:
        await storage.close()
    assert set(answers) == {q.id for q in criteria.questions}
    assert {a.question_id: (a.file_name, a.caption) for a in attachments} == ATTACHED_IN_THE_TERMINAL
    assert len(attachments) == len(ATTACHED_IN_THE_TERMINAL)
    for attachment in attachments:
        # The very file in examples/photos, sent as a photo.
        assert attachment.mime_type == "image/jpeg"
        assert attachment.sha256 == hashlib.sha256((PHOTOS / attachment.file_name).read_bytes()).hexdigest()
    files = Counter(attachment.question_id for attachment in attachments)
    warnings = {q.id: codes(check(q, answers[q.id], files[q.id])) for q in criteria.questions}
    assert {qid: found for qid, found in warnings.items() if found} == {}
    within_budgets(criteria, answers)
