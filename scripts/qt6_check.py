"""Qt 6 readiness check for the plugin's Python files (check only; `make lint` runs it).

It applies the rules of the migration script QGIS publishes for plugins (scripts/pyqt5_to_pyqt6/pyqt5_to_pyqt6.py in
the QGIS repository), read there and written anew here: that script is not vendored, and it needs either PyQt6 or its
generated enums.json. Like it, this finds unscoped enums by looking at the live bindings: here the QGIS and PyQt of
the Python that runs the check.
- Qt and QGIS imports go through `qgis.PyQt` (never PyQt5, PyQt6 or sip directly, nor qgis.PyQt.Qt).
- Enums fully qualified: `Qt.DateFormat.ISODate`, not `Qt.ISODate` (PyQt6 has scoped enums only). A QGIS class's
  enums are checked with QGIS 3.40 or newer only: QGIS moved many enums into `Qgis` for Qt 6 and keeps the old
  unscoped names as aliases that Qt 6 builds still accept, which older QGIS cannot tell (make test-debian13 runs
  the check under QGIS 3.40). An alias is not flagged, as in QGIS's script.
- No Qt 5-only API: exec_, qApp, QRegExp, compiled resources, QDesktopWidget, QVariant() as null, QVariant.Type,
  renamed enums, QDateTime forms Qt 6 dropped, QFontMetrics.width, activated[str], addAction with 4+ arguments.
Prints `path:line:col: message` per finding and exits 1 if there is any.
"""

import argparse
import ast
import enum
import importlib
import inspect
import sys
from pathlib import Path

QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtNetwork", "QtXml", "QtSvg", "QtSql", "QtTest", "QtPrintSupport")
# The QGIS release whose enum aliases are those of the Qt 6 builds (see the module docstring).
QGIS_ENUMS_FROM = 34000
RENAMED_ENUMS = {
    ("Qt", "MidButton"): "Qt.MouseButton.MiddleButton",
    ("Qt", "TextColorRole"): "Qt.ItemDataRole.ForegroundRole",
    ("Qt", "BackgroundColorRole"): "Qt.ItemDataRole.BackgroundRole",
    ("QPainter", "HighQualityAntialiasing"): "QPainter.RenderHint.Antialiasing",
}
_MISSING = object()


def qgis_version() -> int:
    try:
        from qgis.core import Qgis
    except ImportError:
        return 0
    return Qgis.QGIS_VERSION_INT


def is_enum_type(value) -> bool:
    # sip's old-style enums are instances of sip.enumtype; newer bindings use Python's enum.
    return isinstance(value, enum.EnumMeta) or type(value).__name__ == "enumtype"


def is_enum_member(value) -> bool:
    return not inspect.isclass(value) and is_enum_type(type(value))


def has_member(enum_type, name: str) -> bool:
    if isinstance(enum_type, enum.EnumMeta):
        return name in enum_type.__members__
    return isinstance(getattr(enum_type, name, None), enum_type)


class Checker(ast.NodeVisitor):
    """Findings for one file; `names` maps the file's imported names to the objects they bind (resolved lazily)."""

    def __init__(self, path: str, check_qgis_enums: bool):
        self.path = path
        self.check_qgis_enums = check_qgis_enums
        self.names: dict[str, tuple[str, str | None]] = {}
        self.findings: list[str] = []
        self._scope_cache: dict[tuple[int, str], str | None] = {}

    def report(self, node: ast.AST, message: str) -> None:
        self.findings.append(f"{self.path}:{node.lineno}:{node.col_offset + 1}: {message}")

    # --- imports
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)
            if alias.name.split(".")[0] == "qgis":
                # `import qgis.core` binds `qgis`; `import qgis.core as core` binds the submodule.
                self.names[alias.asname or "qgis"] = (alias.name if alias.asname else "qgis", None)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self._check_module(node, module)
        if module == "qgis.PyQt.Qt":
            self.report(node, "qgis.PyQt.Qt does not exist in Qt 6: import Qt from qgis.PyQt.QtCore")
        for alias in node.names:
            if alias.name == "qApp":
                self.report(node, "qApp is removed in Qt 6: use QApplication.instance()")
            if alias.name == "QRegExp":
                self.report(node, "QRegExp is removed in Qt 6: use QRegularExpression")
            if alias.name == "resources_rc" or module.endswith("resources_rc"):
                self.report(node, "compiled resources are removed in Qt 6: load icons and .ui files by file path")
            if alias.name == "sip" and module != "qgis.PyQt":
                self.report(node, "import sip through qgis.PyQt: `from qgis.PyQt import sip`")
            if module.split(".")[0] == "qgis" and node.level == 0:
                self.names[alias.asname or alias.name] = (module, alias.name)
        self.generic_visit(node)

    def _check_module(self, node: ast.AST, module: str) -> None:
        top = module.split(".")[0]
        if top in ("PyQt5", "PyQt6", "PySide2", "PySide6"):
            self.report(node, f"{module} imported directly: import it through qgis.PyQt (e.g. qgis.PyQt.QtCore)")
        elif top == "sip":
            self.report(node, "import sip through qgis.PyQt: `from qgis.PyQt import sip`")

    # --- resolving names to live objects
    def resolve(self, node: ast.AST):
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                return _MISSING
            module, attribute = self.names[node.id]
            try:
                imported = importlib.import_module(module)
            except ImportError:
                return _MISSING
            return imported if attribute is None else getattr(imported, attribute, _MISSING)
        if isinstance(node, ast.Attribute):
            owner = self.resolve(node.value)
            return _MISSING if owner is _MISSING else getattr(owner, node.attr, _MISSING)
        return _MISSING

    def scope_of(self, owner: type, enum_type) -> str | None:
        """The name under which `owner` exposes `enum_type` (Qt.DateFormat for a Qt.ISODate), if any."""
        key = (id(owner), getattr(enum_type, "__qualname__", ""))
        if key not in self._scope_cache:
            found = None
            for klass in inspect.getmro(owner):
                for name, value in vars(klass).items():
                    if value is enum_type:
                        found = name
                        break
                if found:
                    break
            self._scope_cache[key] = found
        return self._scope_cache[key]

    # --- expressions
    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name):
            renamed = RENAMED_ENUMS.get((node.value.id, node.attr))
            if renamed:
                self.report(node, f"{node.value.id}.{node.attr} is removed in Qt 6: use {renamed}")
                return
            if node.value.id == "QVariant" and node.attr == "Type":
                self.report(node, "QVariant.Type does not exist in Qt 6: write QVariant.Int etc. (QGIS maps them)")
        self._check_enum(node)
        self.generic_visit(node)

    def _check_enum(self, node: ast.Attribute) -> None:
        owner = self.resolve(node.value)
        if owner is _MISSING or not inspect.isclass(owner) or is_enum_type(owner):
            return
        if owner.__name__ == "QVariant":
            return  # Qt 6 has no QVariant.Type; QGIS maps QVariant.Int and the like on its Qt 6 builds
        if not self.check_qgis_enums and owner.__module__.split(".")[0] == "qgis":
            return
        value = getattr(owner, node.attr, _MISSING)
        if value is _MISSING or not is_enum_member(value):
            return
        enum_type = type(value)
        scope = self.scope_of(owner, enum_type)
        # An unscoped name that is not a member of its own enum is an alias QGIS keeps for Qt 6 builds.
        if scope and scope != node.attr and has_member(enum_type, node.attr):
            written = ast.unparse(node.value)
            self.report(node, f"unscoped enum {written}.{node.attr}: write {written}.{scope}.{node.attr}")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "qApp":
            self.report(node, "qApp is removed in Qt 6: use QApplication.instance()")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name == "exec_":
            self.report(node, "exec_ is removed in Qt 6: name the method exec")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr == "exec_":
                self.report(node, "exec_() is removed in Qt 6: call exec()")
            elif func.attr == "desktop" and not node.args:
                self.report(node, "QDesktopWidget is removed in Qt 6: use QScreen (QGuiApplication.screens())")
            elif func.attr == "addAction" and len(node.args) >= 4:
                self.report(node, "fragile addAction(...) with 4+ arguments: make a QAction, then addAction(action)")
            elif func.attr == "width" and isinstance(func.value, ast.Call) and _called_name(func.value) in (
                    "fontMetrics", "QFontMetrics", "QFontMetricsF"):
                self.report(node, "QFontMetrics.width() is removed in Qt 6: use horizontalAdvance()")
        name = _called_name(node)
        if name == "QVariant" and isinstance(func, ast.Name):
            if not node.args or (isinstance(node.args[0], ast.Attribute) and _called_name(node.args[0]) == "QVariant"):
                self.report(node, "a null QVariant cannot be made in Qt 6: use NULL from qgis.core")
        if name == "QDateTime" and isinstance(func, ast.Name) and (
                len(node.args) == 8 or (len(node.args) == 1 and _called_name(node.args[0]) == "QDate")):
            self.report(node, "this QDateTime constructor is removed in Qt 6: use QDateTime(QDate(...), QTime(...))")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if (isinstance(node.value, ast.Attribute) and node.value.attr == "activated"
                and isinstance(node.slice, ast.Name) and node.slice.id == "str"):
            self.report(node, "activated[str] is removed in Qt 6: use activated or textActivated")
        self.generic_visit(node)


def _called_name(node: ast.AST) -> str | None:
    """`f` for f(...), `x.f(...)`, and for a bare `x.f` or `f` (the owner of an attribute)."""
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr if isinstance(node, ast.Call) else _called_name(target.value)
    return target.id if isinstance(target, ast.Name) else None


def python_files(root: Path) -> list[Path]:
    """The project's Python files: hidden folders (.venv, .git, .debian13, ...) and caches left out."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts[:-1]
        if not any(part.startswith(".") or part == "__pycache__" for part in parts):
            found.append(path)
    return found


def check_file(path: Path, check_qgis_enums: bool, label: str | None = None) -> list[str]:
    label = label or str(path)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=label)
    except SyntaxError as error:
        return [f"{label}:{error.lineno}:{error.offset}: not checked, a syntax error: {error.msg}"]
    checker = Checker(label, check_qgis_enums)
    checker.visit(tree)
    return checker.findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=".", type=Path, help="folder to check (default: here)")
    args = parser.parse_args(argv)
    version = qgis_version()
    if not version:
        print("qt6_check: PyQGIS does not import here; run it with the Python of `make install` (.venv/bin/python)",
              file=sys.stderr)
        return 2
    check_qgis_enums = version >= QGIS_ENUMS_FROM
    files = python_files(args.root)
    findings = [line for path in files
                for line in check_file(path, check_qgis_enums, str(path.relative_to(args.root)))]
    for line in findings:
        print(line)
    scope = "Qt and QGIS enums" if check_qgis_enums else "Qt enums (QGIS enums need QGIS >= 3.40)"
    print(f"qt6_check: {len(files)} files, {len(findings)} Qt 6 issues ({scope}, QGIS {version})")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
