"""Processing feature sinks whose failures are plain: a file output is checked for space before QGIS writes it,
read back once closed, and removed when the write failed and the file is new.

Reading back is needed because QGIS writes a GeoPackage in one transaction committed when the sink is deleted,
and a commit that fails there (a full disk) is reported nowhere: the run would succeed and leave a broken file.
"""

import os

from qgis.core import QgsFeatureSink, QgsProcessingException, QgsVectorLayer

from ..core.errors import CoastlineError
from ..core.io.writing import check_free_space, output_error, remove_quietly
from .feedback import file_path


class CheckedSink:
    """parameterAsSink for the output `name`, with `add` and `close` that raise QgsProcessingException saying why
    the output could not be written. `estimated_bytes` is what the file needs on disk, about."""

    def __init__(self, algorithm, parameters, name, context, fields, geometry_type, crs, estimated_bytes: int,
                 what: str):
        self.what = what
        self.estimated_bytes = estimated_bytes
        self.destination = algorithm.parameterAsOutputLayer(parameters, name, context)
        self.path = file_path(self.destination)
        self.files_before = _files_of(self.path)
        self.count = 0
        self.sink = None
        if self.path:
            try:
                check_free_space(self.path, estimated_bytes, what)
            except CoastlineError as error:
                raise QgsProcessingException(str(error)) from None
        try:
            self.sink, self.destination = algorithm.parameterAsSink(parameters, name, context, fields, geometry_type,
                                                                    crs)
        except QgsProcessingException as error:
            self._fail(str(error))
        if self.sink is None:
            raise QgsProcessingException(algorithm.invalidSinkError(parameters, name))

    def add(self, feature) -> None:
        if not self.sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert):
            self._fail(self.sink.lastError())
        self.count += 1

    def close(self) -> str:
        """Close the output (QGIS commits it now) and check it holds every feature; returns its destination id."""
        self.sink = None  # the sink is Python's: deleting it flushes and closes the file
        if self.path and not _holds(self.destination, self.count):
            self._fail("the file does not hold what was written")
        return self.destination

    def _fail(self, detail: str):
        self.sink = None  # closed before its file is removed
        for made in _files_of(self.path) - self.files_before:  # never a file that was there before
            remove_quietly(made)
        raise QgsProcessingException(str(output_error(self.path or self.destination, detail, self.what,
                                                      self.estimated_bytes)))


def _files_of(path: str | None) -> set[str]:
    """The files of an output: the file and those beside it that share its name (a Shapefile's .shx, .dbf ...,
    SQLite's -journal)."""
    if not path:
        return set()
    folder, name = os.path.split(os.path.abspath(path))
    stem = os.path.splitext(name)[0]
    try:
        return {os.path.join(folder, entry) for entry in os.listdir(folder) if entry.startswith(stem + ".")}
    except OSError:
        return set()


def _holds(destination: str, count: int) -> bool:
    layer = QgsVectorLayer(destination, "written", "ogr")
    return layer.isValid() and layer.featureCount() == count
