"""Run every benchmark with its defaults; each writes benchmarks/results/<name>.json.

    .venv/bin/python benchmarks/run_all.py                 # about 7 minutes on the 2-core machine
    .venv/bin/python benchmarks/run_all.py render memory   # only these

The benchmarks share the machine's two cores with whatever else runs: the load average is
printed before each, and a busy machine gives slower, noisier figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "interview_load": ["interview_load.py"],
    "render": ["render.py"],
    "broadcast": ["broadcast.py"],
    "memory": ["memory.py"],
    "evidence_worst_case": ["evidence_worst_case.py"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("only", nargs="*", metavar="NAME", help=f"run only these: {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    failed = []
    for name, command in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"\n=== {name} (load average {load}) ===", flush=True)
        started = time.monotonic()
        code = subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], cwd=HERE.parent).returncode
        print(f"=== {name}: {'ok' if code == 0 else f'exit {code}'} in {time.monotonic() - started:.0f} s ===",
              flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
