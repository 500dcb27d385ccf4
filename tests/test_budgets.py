"""tools/check_budgets.py: the size budgets make lint enforces, and exempting a file."""

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "check_budgets.py"


def check(*args, cwd):
    return subprocess.run([sys.executable, str(TOOL), *args], cwd=cwd, capture_output=True,
                          text=True, check=False)


def package(tmp_path):
    """A package with one function of 41 lines (one over budget) and one that fits."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(40))
    (pkg / "long.py").write_text(f"def long():\n{body}")
    (pkg / "short.py").write_text("def short():\n    return 1\n")
    return pkg


def test_a_function_over_budget_fails_naming_it(tmp_path):
    package(tmp_path)
    result = check("pkg", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "pkg/long.py:1: function long has 41 lines (budget 40)\n"


def test_an_allowed_file_is_not_checked(tmp_path):
    package(tmp_path)
    result = check("pkg", "--allow", "pkg/long.py", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")


def test_allowing_a_file_that_does_not_exist_is_a_usage_error(tmp_path):
    package(tmp_path)
    result = check("pkg", "--allow", "pkg/gone.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "--allow: no such file: pkg/gone.py" in result.stderr
