"""The rule registry: one rule per name (the codes rules emit are checked in tests/test_codes.py), and
Keras's family registered on the first lookup of a Keras name."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from shapels.rules import registry

ROOT = Path(__file__).resolve().parents[2]


def test_no_name_is_registered_twice():
    assert registry.DUPLICATES == []



def test_keras_rules_register_on_the_first_lookup_of_a_keras_name():
    probe = textwrap.dedent("""
        import json, sys
        from shapels.rules import lookup
        before = "shapels.rules.keras_layers.core" in sys.modules
        torch_rule = lookup("torch.nn.Linear") is not None and lookup("torch.nn.NoSuchLayer") is None
        after_torch = "shapels.rules.keras_layers.core" in sys.modules
        dense = lookup("keras.layers.Dense")
        print(json.dumps([before, torch_rule, after_torch, dense is not None and dense.weights is not None,
                          "shapels.rules.keras_layers.core" in sys.modules]))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=str(ROOT), timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, True, False, True, True], out.stderr
