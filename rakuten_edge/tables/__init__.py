"""The tables that say what things are: formats, text kinds, engines. They sit below the runtime: each holds names
and "module:function" strings only, so importing a table never imports a framework, the export or the bench."""

from __future__ import annotations

import importlib


def load_object(ref: str):
    """ "package.module:name" -> the object, imported on first use (heavy frameworks stay out until needed)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)
