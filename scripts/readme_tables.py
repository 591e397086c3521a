#!/usr/bin/env python3
"""Splice generated tables into docs/results.md between <!-- NAME:start --> and <!-- NAME:end --> markers.

bench_fast     <- docs/benchmarks/bench_fast.md     (make bench: infantpose bench --model fast --markdown)
bench_accurate <- docs/benchmarks/bench_accurate.md (make bench: infantpose bench --model accurate --markdown)
bench          <- docs/benchmarks/bench.md          (the BlazePose bundle's run of an earlier release)
verify         <- docs/verify.md                    (infantpose verify --markdown)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

TABLES = {
    "bench_fast": Path("docs/benchmarks/bench_fast.md"),
    "bench_accurate": Path("docs/benchmarks/bench_accurate.md"),
    "bench": Path("docs/benchmarks/bench.md"),
    "verify": Path("docs/verify.md"),
}


def splice(readme: str, name: str, table: str) -> str:
    """``readme`` with the text between ``name``'s markers replaced by ``table``."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(readme):
        raise SystemExit(f"docs/results.md: no <!-- {name}:start --> / <!-- {name}:end --> markers")
    return pattern.sub(lambda m: m.group(1) + table.strip() + "\n" + m.group(2), readme)


def main() -> None:
    readme = Path("docs/results.md")
    text = readme.read_text()
    for name, path in TABLES.items():
        if not path.is_file():
            print(f"{path}: missing, {name} table left as it is", file=sys.stderr)
            continue
        text = splice(text, name, path.read_text())
    readme.write_text(text)


if __name__ == "__main__":
    main()
