"""The static path (check, the rules, the analysis) never imports torch, keras or tensorflow: shapels
must run where none of them is installed, and importing them would cost seconds per run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

EXAMPLES = Path("/work/shared/examples")
if not EXAMPLES.is_dir():
    EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "examples"
KERAS_SEEDS = sorted(str(p) for p in (EXAMPLES / "keras").glob("*.py"))
FRAMEWORKS = ("torch", "keras", "tensorflow")

KERAS_MODEL = textwrap.dedent("""
    import keras
    from keras import layers
    import tensorflow as tf

    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(8, 3)(inputs)
    x = tf.keras.layers.Flatten()(x)
    outputs = layers.Dense(10)(x)
""")

TORCH_MODEL = textwrap.dedent("""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x)

    Net()(torch.randn(1, 4))
""")

PROBE = textwrap.dedent("""
    import sys
    from shapels import rules  # every rule module, the Keras ones included
    from shapels.analysis.engine import analyze
    for source in sys.argv[1:]:
        analyze(source)
    loaded = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "keras", "tensorflow"})
    print(",".join(loaded))
""")


def test_analysing_keras_and_torch_code_imports_no_framework():
    result = subprocess.run([sys.executable, "-c", PROBE, KERAS_MODEL, TORCH_MODEL], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the static path imported {result.stdout.strip()}"


def test_analysing_the_keras_seeds_imports_no_framework():
    """The nine Keras seeds (they import tensorflow and keras) analysed as files: no framework loaded."""
    assert len(KERAS_SEEDS) == 9
    probe = PROBE.replace("analyze(source)", "analyze(open(source).read(), source)")
    result = subprocess.run([sys.executable, "-c", probe, *KERAS_SEEDS], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the static path imported {result.stdout.strip()}"


CLI_PROBE = textwrap.dedent("""
    import atexit, sys
    from shapels.cli import main

    def report():
        loaded = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "keras", "tensorflow"})
        sys.__stderr__.write("LOADED:" + ",".join(loaded) + "\\n")

    atexit.register(report)
    sys.exit(main(sys.argv[1:]))
""")


def test_check_and_shapes_on_the_keras_seeds_import_no_framework():
    """`shapels check` (in this process: -j 1) and `shapels shapes` on the Keras seeds: the findings come out
    (seed002_ex1's error included) and neither torch, keras nor tensorflow is ever imported."""
    for command in (["check", "--no-cache", "-j", "1", *KERAS_SEEDS], *(["shapes", "--format", "json", s] for s in KERAS_SEEDS)):
        result = subprocess.run([sys.executable, "-c", CLI_PROBE, *command], capture_output=True, text=True,
                                timeout=120)
        assert "LOADED:" in result.stderr, result.stderr
        loaded = result.stderr.rsplit("LOADED:", 1)[1].strip()
        assert loaded == "", f"shapels {command[0]} imported {loaded}"
        if command[0] == "check":
            assert result.returncode == 1, result.stdout + result.stderr
            assert "seed002_ex1.py:13:" in result.stdout
        else:
            assert result.returncode == 0, result.stdout + result.stderr
            assert '"modules"' in result.stdout
