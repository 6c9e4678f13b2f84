"""The import contracts of tests/layering.py hold on the package, and fail on a deliberately broken copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from layering import PACKAGE, check

ROOT = Path(__file__).resolve().parent.parent / PACKAGE


def test_the_package_keeps_its_layers():
    assert check(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / PACKAGE
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in [path.parent, *path.parent.parents]:
            if folder == root.parent:
                break
            (folder / "__init__.py").touch()
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # the runtime reaching up into export, even lazily inside a function
        (
            {"runtime/classifier.py": "def f():\n    from ..export import pipeline\n", "export/pipeline.py": ""},
            "rakuten_edge.runtime.classifier imports rakuten_edge.export (runtime -> training and export: upward)",
        ),
        # a table importing the runtime
        ({"tables/formats.py": "from ..runtime import load\n", "runtime/x.py": ""}, "(tables -> runtime: upward)"),
        # the light runtime importing a framework
        ({"runtime/engine.py": "import tensorflow\n"}, "runtime imports tensorflow"),
        # an engine's package imported outside its adapter module
        ({"runtime/classifier.py": "import openvino\n"}, "runtime imports openvino"),
        # an engine adapter imported directly instead of through the engine table
        (
            {
                "serve/app.py": "from ..runtime.engine_openvino import OpenVinoEngine\n",
                "runtime/engine_openvino.py": "",
            },
            "imports the engine adapter rakuten_edge.runtime.engine_openvino",
        ),
        # two packages of one layer importing each other
        ({"data/a.py": "from ..models import b\n", "models/b.py": "from ..data import a\n"}, "import cycle: data"),
    ],
    ids=["upward-lazy", "table-upward", "heavy-runtime", "engine-outside-adapter", "adapter-direct", "cycle"],
)
def test_a_broken_contract_is_reported(tmp_path, files, expected):
    problems = check(_tree(tmp_path, files))
    assert any(expected in p for p in problems), problems
