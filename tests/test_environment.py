"""environment.yml lists exactly the dependencies of pyproject.toml, with the same version ranges, and no pins."""
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def _environment_requirements() -> set[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    return {line.strip()[2:] for line in lines[start + 1 :] if line.strip().startswith("- ")}


def test_environment_yml_agrees_with_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_no_exact_pins():
    pinned = [r for r in _pyproject_requirements() if re.search(r"==|===", r)]
    assert pinned == []
