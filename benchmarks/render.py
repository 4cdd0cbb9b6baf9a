"""Rendering time and size of the 申报书: the complete example and a large application.

    .venv/bin/python benchmarks/render.py                 # .docx, and PDF where LibreOffice is installed
    .venv/bin/python benchmarks/render.py --pdf-runs 0    # .docx only

Cases:
  example  examples/answers.sample.json as it is: 39 answers (15,978 字), 4 photos
  large    every one of the 39 answers at 1,500 characters (several paragraphs each, 58,500 in
           all), the full 申报表, and 20 photos: the three example photos over and over, each copy
           made different (bytes after a JPEG's end marker, a text chunk in a PNG), since
           python-docx stores identical images only once

Each .docx run is what the bot does when an applicant asks for a 申报书 (bot.document.render_application:
build the context, fill the template, write the file, read it back and verify every line and
photo). The answers file is loaded once, outside the timing. A PDF run is bot.pdf.PdfConverter.convert
(LibreOffice opens the .docx, refreshes the table of contents, exports); one conversion before
the timed ones sets LibreOffice's profile up and is not counted. Two ways are timed (#18): the
one-off conversion, which starts LibreOffice for each PDF (`award-bot render`), and the bot's
bot.pdf_server.PdfServer, which keeps one LibreOffice running (where python3-uno is installed);
its first conversion, not counted either, includes starting that LibreOffice.
"""

from __future__ import annotations

import argparse
import struct
import tempfile
import time
import zlib
from datetime import date
from pathlib import Path
from typing import Any

from _common import ROOT, SAMPLE, latency_summary, ms, percentile, rel, table, write_results

from bot.answers_file import load_answers_file
from bot.criteria import Criteria, load_criteria
from bot.document import render_application
from bot.document_context import EvidenceFile
from bot.pdf import PdfConverter
from bot.pdf_server import PdfServer

ANSWER_CHARS = 1500
PHOTOS = 20


def distinct_copy(source: Path, target: Path, number: int) -> None:
    """A copy of a photo with different bytes but the same picture."""
    data = source.read_bytes()
    marker = f"award-bot benchmark copy {number}".encode()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        # A tEXt chunk just before IEND (the last 12 bytes): readers skip it.
        body = b"Comment\x00" + marker
        chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
        data = data[:-12] + chunk + data[-12:]
    elif data.startswith(b"\xff\xd8\xff"):
        data += marker  # after the end-of-image marker: ignored by every reader
    else:
        raise ValueError(f"{source}: neither PNG nor JPEG")
    target.write_bytes(data)


def long_answer(base: str, question_id: str, chars: int) -> str:
    """An answer of exactly `chars` characters, in paragraphs, made from the example's answer."""
    paragraphs = [p for p in base.split("\n") if p.strip()]
    out: list[str] = []
    total, n = 0, 0
    while total < chars:
        paragraph = paragraphs[n % len(paragraphs)]
        if n >= len(paragraphs):
            paragraph = f"（{question_id} 补充{n // len(paragraphs)}）" + paragraph
        out.append(paragraph)
        total += len(paragraph) + 1
        n += 1
    return "\n".join(out)[:chars].rstrip("\n")


def large_case(criteria: Criteria, folder: Path) -> tuple[dict[str, str], dict[str, str], list[EvidenceFile]]:
    loaded = load_answers_file(SAMPLE, criteria, today=date.today())
    answers = {q.id: long_answer(loaded.answers.get(q.id) or q.example or q.text, q.id, ANSWER_CHARS)
               for q in criteria.questions}
    assert all(len(a) == ANSWER_CHARS for a in answers.values())
    photos = sorted((ROOT / "examples" / "photos").iterdir())
    # Spread over the results questions, where evidence belongs, and a few others.
    targets = [q.id for q in criteria.questions if q.id.startswith("7.")] + [q.id for q in criteria.questions[:6]]
    files = []
    for n in range(PHOTOS):
        source = photos[n % len(photos)]
        target = folder / f"photo-{n:02d}{source.suffix}"
        distinct_copy(source, target, n)
        files.append(EvidenceFile(targets[n % len(targets)], target, f"证明材料照片 {n + 1}：{source.stem}",
                                  target.name))
    return loaded.profile, answers, files


def time_docx(criteria: Criteria, profile: dict[str, str], answers: dict[str, str], files: list[EvidenceFile],
              out: Path, runs: int) -> tuple[list[float], list[float], Any]:
    wall, cpu = [], []
    rendered = None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        rendered = render_application(criteria, profile, answers, out, attachments=files, day=date(2026, 11, 20))
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu, rendered


def pdf_pages(path: Path) -> int | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return len(PdfReader(str(path)).pages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help=".docx renders per case (default 20)")
    parser.add_argument("--pdf-runs", type=int, default=3, help="PDF conversions per case (default 3; 0: none)")
    parser.add_argument("--output", type=Path, default=None,
                        help="results file (default benchmarks/results/render.json)")
    args = parser.parse_args()
    criteria = load_criteria()
    results: dict[str, Any] = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-render-") as name:
        folder = Path(name)
        example = load_answers_file(SAMPLE, criteria, today=date.today())
        cases = {
            "example": (example.profile, example.answers, list(example.attachments)),
            "large": large_case(criteria, folder),
        }
        converters: dict[str, PdfConverter] = {}
        if args.pdf_runs:
            one_off = PdfConverter.find(folder / "libreoffice")
            running = PdfServer.find(folder / "libreoffice-server")
            if one_off is None:
                print("LibreOffice is not installed: no PDF timings")
            else:
                converters["PDF one-off"] = one_off
            if isinstance(running, PdfServer):
                converters["PDF running"] = running
            elif one_off is not None:
                print("python3-uno is not installed: no timings of a running LibreOffice")
        for case, (profile, answers, files) in cases.items():
            out = folder / f"{case}.docx"
            print(f"… {case}: {args.runs} .docx renders", flush=True)
            wall, cpu, rendered = time_docx(criteria, profile, answers, files, out, args.runs)
            chars = sum(len(a) for a in answers.values())
            entry: dict[str, Any] = {
                "answers": len(answers), "answer_characters": chars,
                "answer_zi": sum(len("".join(a.split())) for a in answers.values()),  # 字: without whitespace
                "photos": len(files),
                "photos_embedded": rendered.images,
                "docx": {**latency_summary(wall), "cpu_median_ms": ms(percentile(cpu, 50)),
                         "size_kb": round(out.stat().st_size / 1024, 1)},
            }
            rows.append([case, ".docx", len(answers), chars, rendered.images, args.runs,
                         entry["docx"]["p50_ms"], entry["docx"]["p95_ms"], entry["docx"]["max_ms"],
                         entry["docx"]["size_kb"], None])
            for label, converter in converters.items():
                key = "pdf" if label == "PDF one-off" else "pdf_running"
                pdf = out.with_suffix(".pdf")
                if f"{key}_first_conversion_ms" not in results:
                    print(f"… {label}: setting LibreOffice up (one conversion, not counted)", flush=True)
                    started = time.perf_counter()
                    converter.convert(out, pdf)
                    results[f"{key}_first_conversion_ms"] = ms(time.perf_counter() - started, 0)
                print(f"… {case}: {args.pdf_runs} conversions, {label}", flush=True)
                times = []
                for _ in range(args.pdf_runs):
                    started = time.perf_counter()
                    converter.convert(out, pdf)
                    times.append(time.perf_counter() - started)
                pages = pdf_pages(pdf)
                entry[key] = {**latency_summary(times), "size_kb": round(pdf.stat().st_size / 1024, 1),
                              "pages": pages}
                rows.append([case, label, len(answers), chars, rendered.images, args.pdf_runs,
                             entry[key]["p50_ms"], entry[key]["p95_ms"], entry[key]["max_ms"],
                             entry[key]["size_kb"], pages])
            results[case] = entry
    print()
    print(table(["case", "file", "answers", "characters", "photos", "runs", "median ms", "p95 ms", "max ms", "KB",
                 "pages"], rows))
    docx_target = all(results[c]["docx"]["p50_ms"] < 1000 for c in cases)
    print(f"\n.docx under 1 s (README's target): {'yes' if docx_target else 'NO'}")
    if "pdf_running" in results["example"]:
        pdf_target = results["example"]["pdf_running"]["max_ms"] < 1000
        print(f"the example's PDF under 1 s on a running LibreOffice (#18's target): {'yes' if pdf_target else 'NO'}")
    for converter in converters.values():
        if isinstance(converter, PdfServer):
            converter.close()
    path = write_results("render", {"settings": {"runs": args.runs, "pdf_runs": args.pdf_runs,
                                                 "answer_chars_large": ANSWER_CHARS, "photos_large": PHOTOS},
                                    "cases": results}, args.output)
    print(f"written: {rel(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
