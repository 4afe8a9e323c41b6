"""The import graph check (scripts/import_graph.py): the plugin passes it, and it catches what it is for."""

import textwrap

from sar_coastline.scripts import import_graph


def test_the_plugin_has_no_cycle_no_private_import_and_imports_at_the_top():
    graph = import_graph.build()
    assert len(graph.edges) > 80  # every module was read (a wrong root would find none and pass)
    assert import_graph.problems(graph) == []


def test_it_finds_a_cycle_a_private_import_a_late_import_and_the_engine_reaching_out(tmp_path):
    files = {
        "core/__init__.py": "",
        "core/a.py": "from .b import helper\n",
        "core/b.py": "from .a import thing\nfrom ..ui.dialog import _hidden\n\n\ndef helper():\n"
                     "    from .c import late\n    return late\n",
        "core/c.py": "from . import a\n\nlate = a._private\n",
        "ui/__init__.py": "",
        "ui/dialog.py": "_hidden = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    graph = import_graph.build(tmp_path)
    found = import_graph.problems(graph)
    assert "import cycle: sar_coastline.core.a <-> sar_coastline.core.b <-> sar_coastline.core.c" in found
    assert "core/b.py:2: imports _hidden from sar_coastline.ui.dialog" in found
    assert "core/c.py:3: uses sar_coastline.core.a._private" in found
    assert "core/b.py:6: import of sar_coastline.core.c inside a function or block" in found
    assert "core/b.py:2: the engine imports sar_coastline.ui.dialog" in found
    assert len(found) == 5
