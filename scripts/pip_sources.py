"""Print the uv flags for the package sources pip is configured with, so that ``uv pip install`` (make setup)
installs what ``pip install`` would: pip's index, extra indexes, find-links folders and constraint files, read from
``pip config list`` (its config files and PIP_* variables), each value once.

With no pip configuration this prints nothing and uv uses PyPI, as pip would. Prints shell-quoted words; the
Makefile passes them to ``uv pip install`` with ``--index-strategy unsafe-best-match`` (pip's rule: the best
version over every index, not the first index that has the package).
"""
from __future__ import annotations

import ast
import shlex
import subprocess
import sys

FLAGS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
         "constraint": "--constraint"}


def pip_config(python: str) -> list[tuple[str, str]]:
    """(option, value) pairs of ``pip config list``: "global.extra-index-url='a b'" -> ("extra-index-url", "a b")."""
    listing = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    pairs = []
    for line in listing.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            pairs.append((key.rsplit(".", 1)[-1], ast.literal_eval(value)))
    return pairs


def uv_flags(pairs: list[tuple[str, str]]) -> list[str]:
    """The uv flag of each source option, one per distinct value (a value may list several, space-separated)."""
    seen, out = set(), []
    for option, value in pairs:
        if option not in FLAGS:
            continue
        for item in value.split():
            if (option, item) not in seen:
                seen.add((option, item))
                out += [FLAGS[option], item]
    return out


if __name__ == "__main__":
    print(shlex.join(uv_flags(pip_config(sys.argv[1] if len(sys.argv) > 1 else sys.executable))))
