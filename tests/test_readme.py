"""The README lists every diagnostic code (generated from shapels/codes.py) and the two set-up commands."""

import subprocess
import sys

from conftest import ROOT


def test_codes_section_is_current():
    generated = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_codes_table.py")],
                               capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    assert generated in (ROOT / "README.md").read_text(), "run scripts/gen_codes_table.py and paste its output"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/test.sh" in readme
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
