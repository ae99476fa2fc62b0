"""A file of scripts/ imported as a module (they are scripts, not a package), for the tests of its functions."""
import importlib.util
from types import ModuleType

from course_utils.settings import ROOT


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
