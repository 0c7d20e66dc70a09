"""`make install`'s own pip line into a fresh virtualenv: no setuptools notice box (issue 14, item 9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_editable_install_is_quiet(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    plan = subprocess.run(["make", "-s", "-n", "--always-make", "install", f"VENV={venv}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30).stdout
    pip_line = next(line for line in plan.splitlines() if "pip install" in line and " -e " in line)
    assert "PYTHONWARNINGS=" in pip_line
    # The project alone (its dependencies are not what this test is about).
    command = pip_line.replace("-e '.[local]'", "--no-deps -e .")
    r = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Editable installation" not in r.stdout + r.stderr
    assert "****" not in r.stderr  # setuptools' boxed notices
    assert (venv / "bin" / "chatkiosk").exists()
