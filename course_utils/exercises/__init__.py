"""Checkers for the exercises of the notebooks and the homework: ``check(id, answer)`` prints specific feedback.
Each notebook's and each homework's checkers live in their own module; importing this package registers them all.
Reference solutions are in ``notebooks/solutions/``, and the tests run them through these checkers."""
import importlib
import pkgutil

from .core import Result, Wrong, check, checker, checkers, close, result

for _module in pkgutil.iter_modules(__path__):
    if _module.name.startswith(("nb", "hw")):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Result", "Wrong", "check", "checker", "checkers", "close", "result"]
