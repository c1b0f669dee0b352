"""Benchmarks (not tests): each module measures one thing against its baseline in the same run.

Run with `make bench` (python -m benchmarks [NAME ...]). Each module exposes `run(args) -> str`, printing a
table; results are also written to benchmarks/results/ (git-ignored).
"""

BENCHMARKS = {
    "ingest": "benchmarks.ingest",
    "kept": "benchmarks.kept",
    "panels": "benchmarks.panels",
    "preview": "benchmarks.preview",
    "briefing": "benchmarks.briefing",
}
