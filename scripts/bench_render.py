"""Time the 申报书 rendering of the complete example (examples/answers.sample.json).

    .venv/bin/python scripts/bench_render.py            # .docx only, 20 runs
    .venv/bin/python scripts/bench_render.py --pdf 3    # also 3 PDF conversions with LibreOffice

Prints median, fastest and slowest wall time per render (load the answers file, build the
context, fill the template, write the file, read it back to verify) and the file size.
The target for the .docx is under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers_file import load_answers_file  # noqa: E402
from bot.criteria import load_criteria  # noqa: E402
from bot.document import render_application  # noqa: E402
from bot.pdf import PdfConverter  # noqa: E402

SAMPLE = ROOT / "examples" / "answers.sample.json"


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (f"{label:<22} n={len(ms):<3} median {statistics.median(ms):7.1f} ms   "
            f"min {min(ms):7.1f} ms   max {max(ms):7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pdf", type=int, default=0, metavar="N", help="also time N PDF conversions")
    args = parser.parse_args()
    criteria = load_criteria()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "sample.docx"
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            sample = load_answers_file(SAMPLE, criteria, today=date.today())
            render_application(criteria, sample.profile, sample.answers, out, attachments=sample.attachments,
                               day=date.today())
            times.append(time.perf_counter() - start)
        chars = sum(len("".join(a.split())) for a in sample.answers.values())
        print(f"example: {len(sample.answers)} answers, {chars} characters, {len(sample.attachments)} photos")
        print(summary("render .docx", times) + f"   size {out.stat().st_size / 1024:.0f} KiB")
        if args.pdf:
            converter = PdfConverter.find(Path(folder) / "libreoffice")
            if converter is None:
                print("LibreOffice is not installed: no PDF timing")
                return 0
            pdf_times = []
            for _ in range(args.pdf):
                start = time.perf_counter()
                converter.convert(out, out.with_suffix(".pdf"))
                pdf_times.append(time.perf_counter() - start)
            size = out.with_suffix(".pdf").stat().st_size / 1024
            print(summary("convert to PDF", pdf_times) + f"   size {size:.0f} KiB"
                  + "   (the first run also sets up LibreOffice's profile)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
