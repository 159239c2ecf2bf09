"""Count the assert statements under tests/ (ast.Assert nodes), so a speed-up can show it weakened nothing.

Usage: python tests/count_asserts.py [DIR]   -> prints `<asserts> asserts in <files> files`
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def count(root: Path) -> tuple[int, int]:
    """(assert statements, Python files) under `root`."""
    files = sorted(root.rglob("*.py"))
    asserts = sum(isinstance(node, ast.Assert)
                  for path in files for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    return asserts, len(files)


if __name__ == "__main__":
    asserts, files = count(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
    print(f"{asserts} asserts in {files} files")
