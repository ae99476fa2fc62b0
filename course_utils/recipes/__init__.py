"""Registered training recipes: importing this package registers every model that ``pretrained.get`` knows."""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
