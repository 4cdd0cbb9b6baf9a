"""Precision and recall of each evidence check on a labelled set of answers.

    .venv/bin/python scripts/evidence_accuracy.py                                   # the development set
    .venv/bin/python scripts/evidence_accuracy.py tests/data/evidence_holdout.yaml  # the held-out set
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import yaml

from bot.criteria import WARNING_CODES, load_criteria
from bot.evidence import check

CASES = Path(__file__).resolve().parent.parent / "tests" / "data" / "evidence_cases.yaml"


def main(path: Path) -> None:
    criteria = load_criteria()
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    true_pos, false_pos, false_neg = Counter(), Counter(), Counter()
    wrong = []
    for case in cases:
        question = criteria.question(case["question"])
        assert question is not None, case["id"]
        got = {w.code for w in check(question, case["text"] or "", case.get("attachments", 0))}
        expected = set(case["expected"])
        for code in got & expected:
            true_pos[code] += 1
        for code in got - expected:
            false_pos[code] += 1
        for code in expected - got:
            false_neg[code] += 1
        if got != expected:
            wrong.append(f"  {case['id']} {case['question']}: expected {sorted(expected)}, got {sorted(got)}")
    print(f"{len(cases)} labelled answers in {path.name}")
    print(f"{'code':26} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for code in WARNING_CODES:
        tp, fp, fn = true_pos[code], false_pos[code], false_neg[code]
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"{code:26} {precision:9.2f} {recall:7.2f} {tp:4} {fp:4} {fn:4}")
    print(f"answers judged exactly right: {len(cases) - len(wrong)}/{len(cases)}")
    if wrong:
        print("differences:")
        print("\n".join(wrong))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else CASES)
