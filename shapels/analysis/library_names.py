"""The one spelling of a library name that the rule registry keys on."""

from __future__ import annotations


# Library paths that name the same thing as a canonical rule key.
_PREFIX_ALIASES = [
    ("torch.nn.modules.", "torch.nn."),
    ("torch.functional.", "torch."),
    ("torch.nn.functional.F.", "torch.nn.functional."),
]


def canonical(qualname: str) -> str:
    for old, new in _PREFIX_ALIASES:
        if qualname.startswith(old):
            tail = qualname[len(old):]
            if old == "torch.nn.modules.":
                tail = tail.rsplit(".", 1)[-1]  # torch.nn.modules.linear.Linear -> torch.nn.Linear
            return new + tail
    return qualname
