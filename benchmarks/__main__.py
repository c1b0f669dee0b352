"""python -m benchmarks [NAME ...]: run the named benchmarks (all by default) and print their tables."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from benchmarks import BENCHMARKS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--old-path", action="store_true",
                        help="panels: also measure the live picture read from the bitemporal rows (before issue 17)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    for name in args.names or list(BENCHMARKS):
        try:
            module = importlib.import_module(BENCHMARKS[name])
        except ModuleNotFoundError as exc:
            print(f"{name}: not available ({exc})", file=sys.stderr)
            continue
        table = module.run(args)
        print(table)
        (results / f"{name}.txt").write_text(table + "\n")
    # The panels' one-line summary comes last, whatever else ran after them.
    summary = getattr(sys.modules.get(BENCHMARKS["panels"]), "LAST", [])
    if summary:
        print(summary[0])
        with (results / "panels.txt").open("a") as fh:
            fh.write(summary[0] + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
