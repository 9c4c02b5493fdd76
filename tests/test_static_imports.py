"""The static path (check, the rules, the analysis) never imports torch, keras or tensorflow: shapels
must run where none of them is installed, and importing them would cost seconds per run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
