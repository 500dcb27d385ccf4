"""Size budgets that keep the package readable: modules, classes and functions.

Run by ``make lint``. A module over 500 lines, a class over 200 or a function over 40 (from
``def`` to its last line, nested functions counted on their own) fails, naming each culprit.
``--allow PATH`` (repeatable) exempts a file for now, e.g. one that is being reworked.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

MODULE_LINES, CLASS_LINES, FUNCTION_LINES = 500, 200, 40


def problems(root: Path, allowed: frozenset[Path] = frozenset()) -> list[str]:
    """Every budget the package below ``root`` goes over, one line each (files in
    ``allowed``, as resolved paths, are not checked)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.resolve() in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MODULE_LINES:
            found.append(f"{path}: module has {lines} lines (budget {MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            if isinstance(node, ast.ClassDef) and size > CLASS_LINES:
                found.append(f"{path}:{node.lineno}: class {node.name} has {size} lines "
                             f"(budget {CLASS_LINES})")
            elif not isinstance(node, ast.ClassDef) and size > FUNCTION_LINES:
                found.append(f"{path}:{node.lineno}: function {node.name} has {size} lines "
                             f"(budget {FUNCTION_LINES})")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the size budgets of a package.")
    parser.add_argument("root", nargs="?", default="tasktronaut", type=Path)
    parser.add_argument("--allow", action="append", default=[], type=Path, metavar="PATH",
                        help="a file exempt from the budgets for now (repeatable)")
    options = parser.parse_args(argv)
    missing = [str(p) for p in options.allow if not p.is_file()]
    if missing:
        parser.error(f"--allow: no such file: {', '.join(missing)}")
    found = problems(options.root, frozenset(p.resolve() for p in options.allow))
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
