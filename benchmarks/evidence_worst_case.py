"""Worst-case time of the evidence checks: answers made to defeat the patterns, at 10k, 50k and 100k characters.

    .venv/bin/python benchmarks/evidence_worst_case.py             # 5 runs per text, question and length
    .venv/bin/python benchmarks/evidence_worst_case.py --runs 3

The checks run on the bot's event loop, so one slow answer freezes every applicant (review
#11: a 10,000-digit answer took 16 s). Each text below once made a pattern scan from every
position of a run to its end, or split a run of spaces every way, or copy the rest of the
answer per match. Each is checked against every question whose checks differ: 7.1a (figures,
trend), 7.1c (past, benchmark), 7.2a (figures, attachment), 7.4a (a claim needs an attachment)
and 2.1a (a process answer: check() and process_hint()). A figure is the median of the runs of
the slowest question, in ms. Linear growth: 100k takes about twice 50k. Target: under 50 ms at 50k.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import Any

from _common import rel, table, write_results

from bot.criteria import load_criteria
from bot.evidence import check, process_hint

LENGTHS = (10_000, 50_000, 100_000)
TARGET_MS = 50  # at 50,000 characters
QUESTIONS = ("7.1a", "7.1c", "7.2a", "7.4a", "2.1a")
# What the patterns care about: digits, separators, numerals, units, years, the words they look for.
PATTERN_CHARACTERS = ("0123456789０１２３４５６７８９零〇一二两三四五六七八九十百千万亿.．,，%％年来近第由从至到"
                      "提升降低同比较与相标杆名次项人余多《》“”「」—-~ \n，。暂无不清楚")


def repeated(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def padded(head: str, length: int, fill: str = " ") -> str:
    """head, then fill, ending in a letter (an answer is stripped before it is checked)."""
    return head + fill * (length - len(head) - 1) + "x"


def mixed(length: int, seed: int = 1) -> str:
    chance = random.Random(seed)
    return "".join(chance.choice(PATTERN_CHARACTERS) for _ in range(length))


TEXTS = {  # named in ASCII (pinyin): the table pads by len(), and a Chinese character is two columns wide
    "digits 1111": lambda n: "1" * n,
    "full-width digits": lambda n: "１" * n,
    "yi yi yi": lambda n: "一" * n,
    "shi shi shi": lambda n: "十" * n,
    "yi shi wan": lambda n: repeated("一十万", n),
    "1.1.1.1": lambda n: repeated("1.", n),
    "1,1,1,1": lambda n: repeated("1,", n),
    "yi 1 yi 1": lambda n: repeated("一1", n),
    "2020 2020 2020": lambda n: repeated("2020 ", n),
    "2020 + spaces": lambda n: padded("2020", n),
    "2020 nian + spaces": lambda n: padded("2020年", n),
    "2020 dash + spaces": lambda n: padded("2020—", n),
    "tisheng le + spaces": lambda n: padded("提升了", n),
    "biaogan": lambda n: repeated("标杆", n),
    "biaogan bu zhidao": lambda n: repeated("标杆不知道", n),
    "rongyu bu zhidao": lambda n: repeated("荣誉不知道", n),
    "you you you": lambda n: "由" * n,
    "you tisheng": lambda n: repeated("由提升", n),
    "di di di": lambda n: "第" * n,
    "jin jin jin": lambda n: "近" * n,
    "nian nian nian": lambda n: "年" * n,
    "book title opened": lambda n: "《" * n,
    # The assessor's reading (#17): periods with values, frames, numbering, clauses parted by spaces.
    "2020 nian 1%": lambda n: repeated("2020年1%", n),
    "2020 nian dou 1%": lambda n: repeated("2020年都1%", n),
    "22 nian 1% spaces": lambda n: repeated("22年1% ", n),
    "you 1% dao 2%": lambda n: repeated("由1%到2%", n),
    "zai gongsi li pai di yi": lambda n: repeated("在公司里排第一", n),
    "circled numbers": lambda n: repeated("①②", n),
    "qiannian 1": lambda n: repeated("前年1，", n),
    "banzu zuigao": lambda n: repeated("班组最高", n),
    "random mix": mixed,
}


def time_text(questions: list[Any], text: str, runs: int) -> tuple[float, str]:
    """Median seconds of the slowest question, and its id."""
    slowest = (0.0, "")
    for question in questions:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            check(question, text)
            process_hint(question, text)
            times.append(time.perf_counter() - started)
        slowest = max(slowest, (statistics.median(times), question.id))
    return slowest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per text, question and length (default 5)")
    parser.add_argument("--output", type=Path, default=None,
                        help="results file (default benchmarks/results/evidence_worst_case.json)")
    args = parser.parse_args()
    criteria = load_criteria()
    questions = [criteria.question(q) for q in QUESTIONS]
    results: dict[str, Any] = {}
    rows = []
    for name, make in TEXTS.items():
        entry: dict[str, Any] = {}
        for length in LENGTHS:
            text = make(length)
            assert len(text) == length, name
            seconds, question_id = time_text(questions, text, args.runs)
            entry[str(length)] = {"median_ms": round(seconds * 1000, 2), "slowest_question": question_id}
        growth = entry["100000"]["median_ms"] / max(entry["50000"]["median_ms"], 0.01)
        entry["growth_50k_to_100k"] = round(growth, 2)
        results[name] = entry
        rows.append([name, *(entry[str(n)]["median_ms"] for n in LENGTHS), round(growth, 2),
                     entry["50000"]["slowest_question"]])
        print(f"… {name}", flush=True)
    print()
    print(table(["text", "10k ms", "50k ms", "100k ms", "100k/50k", "slowest at 50k"], rows))
    worst = max(results, key=lambda n: results[n]["50000"]["median_ms"])
    worst_ms = results[worst]["50000"]["median_ms"]
    print(f"\nslowest at 50k: {worst} ({worst_ms:.1f} ms); under {TARGET_MS} ms (review #11's target): "
          f"{'yes' if worst_ms < TARGET_MS else 'NO'}")
    path = write_results("evidence_worst_case", {
        "settings": {"runs": args.runs, "lengths": list(LENGTHS), "questions": list(QUESTIONS),
                     "target_ms_at_50k": TARGET_MS},
        "slowest_at_50k": {"text": worst, "median_ms": worst_ms}, "texts": results}, args.output)
    print(f"written: {rel(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
