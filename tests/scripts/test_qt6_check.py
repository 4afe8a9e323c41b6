"""The Qt 6 readiness check run by `make lint` (scripts/qt6_check.py)."""

import textwrap

import pytest

from sar_coastline.scripts import qt6_check

QT5_ONLY = textwrap.dedent("""\
    from PyQt5.QtCore import QDate
    from qgis.PyQt.Qt import Qt
    from qgis.PyQt.QtCore import QRegExp, QVariant, QDateTime
    from qgis.PyQt.QtWidgets import QDialog, qApp
    import sip

    text = QDate.currentDate().toString(Qt.ISODate)
    QDialog().exec_()
    qApp.processEvents()
    empty = QVariant()
    when = QDateTime(QDate(2024, 1, 1))
    button = Qt.MidButton
    """)

QT6_READY = textwrap.dedent("""\
    from qgis.core import NULL, QgsField
    from qgis.PyQt import sip
    from qgis.PyQt.QtCore import QDate, Qt, QVariant
    from qgis.PyQt.QtWidgets import QApplication, QDialog, QMessageBox

    text = QDate.currentDate().toString(Qt.DateFormat.ISODate)
    QDialog().exec()
    QApplication.instance().processEvents()
    field = QgsField("n", QVariant.Int)
    empty = NULL
    buttons = QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel
    alive = not sip.isdeleted(QDialog())
    """)


def write(folder, name, text):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_qt5_only_code_is_reported_with_its_line(tmp_path):
    findings = qt6_check.check_file(write(tmp_path, "old.py", QT5_ONLY), check_qgis_enums=True, label="old.py")
    expected = {
        1: "PyQt5.QtCore imported directly",
        2: "qgis.PyQt.Qt does not exist",
        3: "QRegExp is removed",
        4: "qApp is removed",
        5: "import sip through qgis.PyQt",
        7: "unscoped enum Qt.ISODate: write Qt.DateFormat.ISODate",
        8: "exec_() is removed",
        9: "qApp is removed",
        10: "a null QVariant cannot be made",
        11: "this QDateTime constructor is removed",
        12: "Qt.MidButton is removed in Qt 6: use Qt.MouseButton.MiddleButton",
    }
    for line, message in expected.items():
        assert any(f.startswith(f"old.py:{line}:") and message in f for f in findings), (line, findings)
    assert len(findings) == len(expected)


def test_qt6_ready_code_passes(tmp_path):
    assert qt6_check.check_file(write(tmp_path, "new.py", QT6_READY), check_qgis_enums=True) == []


def test_qgis_enums_are_checked_only_when_asked(tmp_path):
    path = write(tmp_path, "sink.py", "from qgis.core import QgsFeatureSink\nflag = QgsFeatureSink.FastInsert\n")
    assert qt6_check.check_file(path, check_qgis_enums=False) == []
    findings = qt6_check.check_file(path, check_qgis_enums=True, label="sink.py")
    assert findings == ["sink.py:2:8: unscoped enum QgsFeatureSink.FastInsert: write QgsFeatureSink.Flag.FastInsert"]


@pytest.mark.skipif(qt6_check.qgis_version() < qt6_check.QGIS_ENUMS_FROM, reason="QGIS < 3.40 has no Qt 6 aliases")
def test_aliases_qgis_keeps_for_qt6_are_not_flagged(tmp_path):
    # QGIS 3.40 moved QgsProcessing.SourceType to Qgis.ProcessingSourceType and keeps TypeVectorLine as an alias.
    path = write(tmp_path, "alias.py", "from qgis.core import QgsProcessing\nkind = QgsProcessing.TypeVectorLine\n")
    assert qt6_check.check_file(path, check_qgis_enums=True) == []


def test_main_exits_nonzero_on_findings_and_skips_hidden_folders(tmp_path, capsys):
    write(tmp_path, "good.py", QT6_READY)
    (tmp_path / ".venv").mkdir()
    write(tmp_path / ".venv", "vendored.py", QT5_ONLY)
    assert qt6_check.main([str(tmp_path)]) == 0
    write(tmp_path, "broken.py", "def f(:\n")
    assert qt6_check.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "broken.py:1:" in out and "syntax error" in out and "vendored.py" not in out
