"""Shoreline change (coastline:shorelinechange): a thin adapter over core.change."""

import math
import os

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGradientColorRamp,
    QgsGradientStop,
    QgsGraduatedSymbolRenderer,
    QgsMarkerSymbol,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsRendererCategory,
    QgsRendererRange,
    QgsSymbol,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QVariant
from qgis.PyQt.QtGui import QColor

from ..core.change.analysis import (
    BASELINE_OFFSHORE,
    BASELINE_ONSHORE,
    INTERSECTION_RULES,
    LAND_LEFT,
    LAND_RIGHT,
    ChangeConfig,
)
from ..core.change.statistics import ChangeStats
from ..core.errors import CoastlineError
from .feedback import check_writable, feedback_hooks, run_core
from .geometry import LINE_TYPE, POINT_TYPE, check_projected, line_features, line_geometry, point_geometry
from .parameters import add_parameter

SEA_SIDE_OPTIONS = (
    (LAND_LEFT, "Land on the left of the lines (as Extract coastline writes them)"),
    (LAND_RIGHT, "Land on the right of the lines"),
    (BASELINE_ONSHORE, "The baseline lies on land"),
    (BASELINE_OFFSHORE, "The baseline lies at sea"),
)
INTERSECTION_OPTIONS = ("Seaward-most crossing", "Landward-most crossing", "Median of the crossings")
STAT_FIELDS = tuple(name for name in ChangeStats.__dataclass_fields__)
TRANSECT_FIELDS = (("transect_id", QVariant.Int), ("baseline_id", QVariant.Int)) + tuple(
    (name, QVariant.Int if name == "n_dates" else QVariant.Double) for name in STAT_FIELDS) + (
    ("multi_dates", QVariant.Int), ("seaward", QVariant.String))
POINT_FIELDS = (("transect_id", QVariant.Int), ("date", QVariant.String), ("year", QVariant.Double),
                ("distance_m", QVariant.Double), ("position_m", QVariant.Double),
                ("tide_correction_m", QVariant.Double), ("uncertainty_m", QVariant.Double),
                ("n_crossings", QVariant.Int), ("source", QVariant.String))
RATE_EXPRESSION = 'coalesce("lrr_m_yr", "epr_m_yr")'  # LRR needs three dates; with two, the EPR
RATE_CLASSES = 8
EROSION, STABLE, ACCRETION = QColor(202, 0, 32), QColor(247, 247, 247), QColor(5, 113, 176)  # ColorBrewer RdBu


class ShorelineChangeAlgorithm(QgsProcessingAlgorithm):
    LINES = "LINES"
    DATE_FIELD = "DATE_FIELD"
    DATE_PATTERN = "DATE_PATTERN"
    BASELINE = "BASELINE"
    BASELINE_OFFSET = "BASELINE_OFFSET"
    SEA_SIDE = "SEA_SIDE"
    SPACING = "SPACING"
    LENGTH = "LENGTH"
    INTERSECTION = "INTERSECTION"
    UNCERTAINTY_FIELD = "UNCERTAINTY_FIELD"
    DEFAULT_UNCERTAINTY = "DEFAULT_UNCERTAINTY"
    TIDE_FIELD = "TIDE_FIELD"
    TIDE_CSV = "TIDE_CSV"
    REFERENCE_ELEVATION = "REFERENCE_ELEVATION"
    BEACH_SLOPE = "BEACH_SLOPE"
    SLOPE_FIELD = "SLOPE_FIELD"
    REPORT_TRANSECTS = "REPORT_TRANSECTS"
    OUTPUT_TRANSECTS = "OUTPUT_TRANSECTS"
    OUTPUT_POINTS = "OUTPUT_POINTS"
    REPORT = "REPORT"

    def name(self):
        return "shorelinechange"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Shoreline change"

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return (
            "Rates of shoreline change along transects from coastlines of several dates, with the DSAS "
            "statistics (positive = seaward, accretion; negative = landward, erosion).<br><br>"
            "<b>Coastlines</b>: line layers of several dates, e.g. the outputs of Extract coastline, or one layer "
            "with a date field. All are reprojected to the baseline's CRS (else the first layer's), which must be "
            "projected.<br>"
            "<b>Date field</b>: the field with each line's date (ISO, e.g. 2021-03-04); where it is missing or "
            "empty, the date is read from the scene field, the layer name or the file name (Sentinel-1 and "
            "ALOS-2 product names, an ISO date, or <i>Date pattern in names</i>, e.g. %Y%m%d).<br>"
            "<b>Baseline</b>: optional lines the transects start from; empty = an automatic baseline, "
            "<i>Automatic baseline offset</i> metres onshore (positive) or offshore (negative) of the mean "
            "shoreline position.<br>"
            "<b>Sea side</b>: from the lines' direction (Extract coastline writes land on the left), or from the "
            "baseline lying on land or at sea (for lines from elsewhere).<br>"
            "<b>Transect spacing</b> and <b>length</b> in metres; transects run from the baseline towards the "
            "lines.<br>"
            "<b>Where a transect crosses a date's lines more than once</b>: the seaward-most (DSAS's default), the "
            "landward-most or the median crossing is kept, and the transect's multi_dates counts such dates.<br>"
            "<b>Uncertainty field</b> and <b>default uncertainty</b>: each line's position uncertainty (m), for the "
            "EPR uncertainty sqrt(u1² + u2²) / years and the WLR weights 1 / u².<br>"
            "<b>Tide correction</b> (optional, CoastSat's rule): with a water level per line (field) or a CSV of "
            "date and level, each position moves (level - reference elevation) / beach slope seaward, before the "
            "rates. The slope is one value or a field of the baseline.<br>"
            "<b>Transects</b>: n_dates, sce_m (envelope), nsm_m (net movement), epr_m_yr and epr_unc_m_yr (end "
            "point rate), lrr_m_yr (linear regression rate), lrr_r2, lrr_se (standard error of the estimate, m), "
            "lrr_ci95 (half-width of the slope's 95 % confidence interval), wlr_m_yr (weighted regression); LRR "
            "and WLR need three dates. Coloured by rate on a red (erosion) to blue (accretion) ramp.<br>"
            "<b>Intersections</b>: one point per transect and date with distance_m (from the baseline), "
            "position_m (seaward positive, tide corrected) and tide_correction_m.<br>"
            "<b>Report</b>: optional .html or .png: a rate map and the time series of chosen transects.")

    def createInstance(self):  # noqa: N802 (QGIS API)
        return ShorelineChangeAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        defaults = ChangeConfig()
        double = QgsProcessingParameterNumber.Type.Double
        parameters = [
            (QgsProcessingParameterMultipleLayers(self.LINES, "Coastlines of several dates",
                                                  QgsProcessing.TypeVectorLine),
             "Line layers of several dates (e.g. Extract coastline outputs), or one layer with a date field."),
            (QgsProcessingParameterString(self.DATE_FIELD, "Date field", "date"),
             "Field holding each line's acquisition date (ISO text or a date field)."),
            (QgsProcessingParameterFeatureSource(self.BASELINE, "Baseline", [QgsProcessing.TypeVectorLine],
                                                 optional=True),
             "Optional lines the transects start from; empty = an automatic baseline from the mean shoreline "
             "position."),
            (QgsProcessingParameterNumber(self.BASELINE_OFFSET, "Automatic baseline offset (m, + onshore, - offshore)",
                                          double, defaults.baseline_offset_m),
             "Distance of the automatic baseline from the mean shoreline: positive onshore, negative offshore."),
            (QgsProcessingParameterEnum(self.SEA_SIDE, "Sea side",
                                        options=[label for _name, label in SEA_SIDE_OPTIONS], defaultValue=0),
             "Which way is seaward: from the lines' direction, or from the baseline lying on land or at sea."),
            (QgsProcessingParameterNumber(self.SPACING, "Transect spacing (m)", double, defaults.spacing_m,
                                          minValue=0.01),
             "Distance between transects along the baseline."),
            (QgsProcessingParameterNumber(self.LENGTH, "Transect length (m)", double, defaults.length_m,
                                          minValue=0.01),
             "How far transects reach from the baseline; it must reach across every shoreline."),
            (QgsProcessingParameterString(self.UNCERTAINTY_FIELD, "Uncertainty field (m)", "uncertainty_m",
                                          optional=True),
             "Field with each line's position uncertainty in metres; empty values take the default."),
            (QgsProcessingParameterNumber(self.DEFAULT_UNCERTAINTY, "Default uncertainty (m)", double,
                                          defaults.default_uncertainty_m, minValue=0.001),
             "Uncertainty of lines without a value in the uncertainty field."),
            (QgsProcessingParameterFeatureSink(self.OUTPUT_TRANSECTS, "Transects", QgsProcessing.TypeVectorLine),
             "Transects with n_dates, sce_m, nsm_m, epr_m_yr, epr_unc_m_yr, lrr_m_yr, lrr_r2, lrr_se, lrr_ci95, "
             "wlr_m_yr; coloured by rate."),
            (QgsProcessingParameterFeatureSink(self.OUTPUT_POINTS, "Intersections", QgsProcessing.TypeVectorPoint,
                                               optional=True),
             "One point per transect and date: distance from the baseline, seaward position, tide correction."),
            (QgsProcessingParameterFileDestination(self.REPORT, "Report", "HTML files (*.html);;PNG files (*.png)",
                                                   optional=True, createByDefault=False),
             "Optional .html or .png: a rate map and the time series of chosen transects."),
        ]
        advanced = [
            (QgsProcessingParameterString(self.DATE_PATTERN, "Date pattern in names (e.g. %Y%m%d)", optional=True),
             "strptime pattern to find the date in scene, layer or file names where the date field is empty."),
            (QgsProcessingParameterEnum(self.INTERSECTION, "Where a transect crosses a date's lines more than once",
                                        options=list(INTERSECTION_OPTIONS), defaultValue=0),
             "Which crossing to keep; the transect's multi_dates counts such dates."),
            (QgsProcessingParameterString(self.TIDE_FIELD, "Tide correction: water level field on the lines (m)",
                                          optional=True),
             "Field with the water level at each line's acquisition; turns the tide correction on."),
            (QgsProcessingParameterFile(self.TIDE_CSV, "Tide correction: CSV of date and water level (m)",
                                        extension="csv", optional=True),
             "Rows of date (or date-time) and water level; levels are interpolated at most a day apart. Turns the "
             "tide correction on."),
            (QgsProcessingParameterNumber(self.REFERENCE_ELEVATION, "Tide correction: reference elevation (m)",
                                          double, 0.0),
             "The elevation positions are moved to, in the water levels' datum."),
            (QgsProcessingParameterNumber(self.BEACH_SLOPE, "Tide correction: beach slope (rise over run)", double,
                                          0.1, minValue=0.0001),
             "Used where the baseline has no slope field value."),
            (QgsProcessingParameterField(self.SLOPE_FIELD, "Tide correction: beach slope field on the baseline",
                                         parentLayerParameterName=self.BASELINE,
                                         type=QgsProcessingParameterField.DataType.Numeric, optional=True),
             "Per baseline feature beach slope, carried to its transects."),
            (QgsProcessingParameterString(self.REPORT_TRANSECTS, "Report: transect ids to plot (e.g. 3,17)",
                                          optional=True),
             "Empty: the fastest eroding, the median and the fastest accreting transect."),
        ]
        for parameter, help_text in parameters:
            add_parameter(self, parameter, help_text)
        for parameter, help_text in advanced:
            add_parameter(self, parameter, help_text, advanced=True)
        self.addOutput(QgsProcessingOutputNumber("TRANSECT_COUNT", "Number of transects"))
        self.addOutput(QgsProcessingOutputNumber("DATE_COUNT", "Number of dates"))
        self.addOutput(QgsProcessingOutputNumber("MEDIAN_LRR_M_YR", "Median LRR (m/yr)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        from ..core.change.analysis import analyse_change
        from ..core.change.tide import TideSettings, read_levels

        layers = self.parameterAsLayerList(parameters, self.LINES, context)
        if not layers:
            raise QgsProcessingException("Choose at least one coastline layer (LINES).")
        baseline_source = self.parameterAsSource(parameters, self.BASELINE, context)
        crs = baseline_source.sourceCrs() if baseline_source is not None else layers[0].crs()
        check_projected(crs, "The baseline" if baseline_source is not None else f"The layer '{layers[0].name()}'")
        report = self.parameterAsFileOutput(parameters, self.REPORT, context)
        if report and not report.lower().endswith((".html", ".htm", ".png")):
            raise QgsProcessingException(f"The report '{report}' must end with .html or .png.")
        points_wanted = bool(parameters.get(self.OUTPUT_POINTS))
        check_writable(self.parameterAsOutputLayer(parameters, self.OUTPUT_TRANSECTS, context), report,
                       self.parameterAsOutputLayer(parameters, self.OUTPUT_POINTS, context) if points_wanted else None)

        tide_field = self.parameterAsString(parameters, self.TIDE_FIELD, context).strip()
        tide_csv = self.parameterAsFile(parameters, self.TIDE_CSV, context)
        tide = None
        if tide_field or tide_csv:
            tide = TideSettings(reference_m=self.parameterAsDouble(parameters, self.REFERENCE_ELEVATION, context),
                                slope=self.parameterAsDouble(parameters, self.BEACH_SLOPE, context),
                                levels=run_core(lambda: read_levels(tide_csv)) if tide_csv else ())
        shorelines = read_shorelines(
            layers, crs, context, feedback,
            date_field=self.parameterAsString(parameters, self.DATE_FIELD, context).strip(),
            pattern=self.parameterAsString(parameters, self.DATE_PATTERN, context).strip() or None,
            uncertainty_field=self.parameterAsString(parameters, self.UNCERTAINTY_FIELD, context).strip(),
            tide_field=tide_field if not tide_csv else "")
        baselines = (read_baselines(baseline_source, crs, context,
                                    self.parameterAsString(parameters, self.SLOPE_FIELD, context))
                     if baseline_source is not None else None)
        config = ChangeConfig(
            spacing_m=self.parameterAsDouble(parameters, self.SPACING, context),
            length_m=self.parameterAsDouble(parameters, self.LENGTH, context),
            sea_side=SEA_SIDE_OPTIONS[self.parameterAsEnum(parameters, self.SEA_SIDE, context)][0],
            baseline_offset_m=self.parameterAsDouble(parameters, self.BASELINE_OFFSET, context),
            default_uncertainty_m=self.parameterAsDouble(parameters, self.DEFAULT_UNCERTAINTY, context),
            intersection=INTERSECTION_RULES[self.parameterAsEnum(parameters, self.INTERSECTION, context)],
            tide=tide)
        transect_ids = parse_ids(self.parameterAsString(parameters, self.REPORT_TRANSECTS, context))
        result = run_core(lambda: analyse_change(shorelines, config, baselines, feedback_hooks(feedback)))

        rates = [rate for item in result.transects if (rate := _rate(item)) is not None]
        transects_id = self._write_transects(parameters, context, crs, result)
        outputs = {self.OUTPUT_TRANSECTS: transects_id, "TRANSECT_COUNT": len(result.transects),
                   "DATE_COUNT": len(result.dates),
                   "MEDIAN_LRR_M_YR": _median([item.stats.lrr_m_yr for item in result.transects])}
        style_output(transects_id, context, "LineString", lambda: rate_renderer(rates))
        if points_wanted:
            points_id = self._write_points(parameters, context, crs, result)
            style_output(points_id, context, "Point", lambda: date_renderer([date_text(when) for when in result.dates]))
            outputs[self.OUTPUT_POINTS] = points_id
        if report:
            from ..core.change.report import write_change_report

            run_core(lambda: write_change_report(report, result, shorelines, transect_ids))
            outputs[self.REPORT] = report
        return outputs

    def _write_transects(self, parameters, context, crs, result) -> str:
        sink, dest_id, fields = self._sink(parameters, self.OUTPUT_TRANSECTS, context, TRANSECT_FIELDS, LINE_TYPE,
                                           crs)
        for item in result.transects:
            stats = item.stats.as_dict()
            values = [item.transect.transect_id, item.transect.baseline_id] + [
                _value(stats[name]) for name in STAT_FIELDS] + [
                item.multi_dates, "towards the end" if item.seaward > 0 else "towards the baseline"]
            self._add(sink, fields, line_geometry(item.transect.coords), values)
        return dest_id

    def _write_points(self, parameters, context, crs, result) -> str:
        sink, dest_id, fields = self._sink(parameters, self.OUTPUT_POINTS, context, POINT_FIELDS, POINT_TYPE, crs)
        for item in result.measurements:
            values = [item.transect_id, date_text(item.when), item.year, item.distance_m, item.position_m,
                      _value(item.tide_correction_m), item.uncertainty_m, item.n_crossings, item.source]
            self._add(sink, fields, point_geometry(*item.point), values)
        return dest_id

    def _sink(self, parameters, name, context, field_spec, geometry_type, crs):
        fields = QgsFields()
        for field_name, kind in field_spec:
            fields.append(QgsField(field_name, kind))
        sink, dest_id = self.parameterAsSink(parameters, name, context, fields, geometry_type, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, name))
        return sink, dest_id, fields

    @staticmethod
    def _add(sink, fields, geometry, values) -> None:
        feature = QgsFeature(fields)
        feature.setGeometry(geometry)
        feature.setAttributes(values)
        if not sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert):
            raise QgsProcessingException(f"Could not write to the output: {sink.lastError()}")


def read_shorelines(layers, crs, context, feedback, date_field: str, pattern: str | None, uncertainty_field: str,
                    tide_field: str) -> list:
    """Every part of every line as a core Shoreline in `crs`, each with its date, uncertainty and water level."""
    from ..core.change.analysis import Shoreline
    from ..core.change.dates import resolve_date

    shorelines = []
    for layer in layers:
        if not isinstance(layer, QgsVectorLayer) or layer.geometryType() != QgsWkbTypes.LineGeometry:
            raise QgsProcessingException(f"'{layer.name()}' is not a line layer; LINES takes coastline lines.")
        if not layer.crs().isValid():
            raise QgsProcessingException(f"The layer '{layer.name()}' has no valid CRS. Set its CRS and run again.")
        if tide_field and layer.fields().indexOf(tide_field) < 0:
            raise QgsProcessingException(f"The layer '{layer.name()}' has no water level field '{tide_field}'. Set "
                                         "the tide field, or give a tide CSV instead.")
        names = (layer.name(), os.path.splitext(os.path.basename(layer.source().split("|")[0]))[0])
        has = {name: bool(name) and layer.fields().indexOf(name) >= 0
               for name in (date_field, uncertainty_field, tide_field, "scene")}
        for feature, parts in line_features(layer, crs, context, feedback):
            scene = str(feature["scene"]) if has["scene"] and feature["scene"] else ""
            value = _plain(feature[date_field]) if has[date_field] else None
            try:
                when = resolve_date(value, (scene, *names), pattern)
            except CoastlineError as error:
                raise QgsProcessingException(f"'{layer.name()}', feature {feature.id()}: {error}") from error
            if when is None:
                why = f"its field '{date_field}' is empty" if has[date_field] else f"it has no field '{date_field}'"
                raise QgsProcessingException(
                    f"A line of '{layer.name()}' (feature {feature.id()}) has no date: {why}, and no date is found "
                    "in its scene, layer or file name. Set DATE_FIELD to the field with the date, or DATE_PATTERN "
                    "(e.g. %Y%m%d) for the names.")
            uncertainty = _number(feature[uncertainty_field]) if has[uncertainty_field] else None
            level = _number(feature[tide_field]) if has[tide_field] else None
            shorelines.extend(Shoreline(part, when, uncertainty, level, scene or layer.name()) for part in parts)
    return shorelines


def read_baselines(source, crs, context, slope_field: str) -> list:
    from ..core.change.transects import Baseline

    baselines = []
    for feature, parts in line_features(source, crs, context):
        slope = _number(feature[slope_field]) if slope_field else None
        if slope is not None and slope <= 0:
            raise QgsProcessingException(f"Baseline feature {feature.id()} has beach slope {slope}; slopes must be "
                                         "positive (rise over run, e.g. 0.1).")
        baselines += [Baseline(part, len(baselines) + index, slope) for index, part in enumerate(parts)]
    if not baselines:
        raise QgsProcessingException("The baseline layer has no lines. Draw a baseline along the coast, or leave "
                                     "BASELINE empty for an automatic one.")
    return baselines


def parse_ids(text: str) -> tuple[int, ...]:
    """'3, 17' -> (3, 17); empty -> () (the report chooses)."""
    try:
        return tuple(int(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise QgsProcessingException(f"Report transects '{text}' must be transect ids separated by commas, "
                                     "e.g. 3,17.") from None


class StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Applies a renderer to an output layer once QGIS loads it into the project."""

    kept = {}  # QGIS holds no Python reference to a post-processor: keep it alive until it has run

    def __init__(self, make_renderer):
        super().__init__()
        self.make_renderer = make_renderer

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        if isinstance(layer, QgsVectorLayer):
            layer.setRenderer(self.make_renderer())
            layer.triggerRepaint()
        StylePostProcessor.kept.pop(id(self), None)  # done: a Python object left for exit time hangs QGIS there


def style_output(dest_id: str, context, geometry: str, make_renderer) -> None:
    """Style an output: a .qml beside a file output (QGIS loads it with the layer, qgis_process included), and a
    post-processor for a layer loaded into the project."""
    path = dest_id.split("|")[0]
    if os.path.isfile(path) or os.path.isdir(os.path.dirname(path) or "."):
        extension = os.path.splitext(path)[1].lower()
        if extension in (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".sqlite", ".csv", ".tab", ".kml"):
            holder = QgsVectorLayer(geometry, "style", "memory")  # a layer without geometry saves no renderer
            holder.setRenderer(make_renderer())
            holder.saveNamedStyle(os.path.splitext(path)[0] + ".qml")
    if context.willLoadLayerOnCompletion(dest_id):
        processor = StylePostProcessor(make_renderer)
        StylePostProcessor.kept[id(processor)] = processor
        context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(processor)


def rate_renderer(rates: list[float]) -> QgsGraduatedSymbolRenderer:
    """Transects by rate: symmetric classes around 0 on a red (erosion) - white - blue (accretion) ramp."""
    limit = max((abs(rate) for rate in rates), default=1.0) or 1.0
    limit = _nice_ceiling(limit)
    step = 2 * limit / RATE_CLASSES
    ramp = QgsGradientColorRamp(EROSION, ACCRETION, False, [QgsGradientStop(0.5, STABLE)])
    ranges = []
    for index in range(RATE_CLASSES):
        low, high = -limit + index * step, -limit + (index + 1) * step
        symbol = QgsSymbol.defaultSymbol(QgsWkbTypes.LineGeometry)
        symbol.setWidth(0.8)
        symbol.setColor(ramp.color((index + 0.5) / RATE_CLASSES))
        ranges.append(QgsRendererRange(low, high, symbol, f"{low:+.3g} to {high:+.3g} m/yr"))
    renderer = QgsGraduatedSymbolRenderer(RATE_EXPRESSION, ranges)
    renderer.setSourceColorRamp(ramp)
    return renderer


def date_renderer(dates: list[str]) -> QgsCategorizedSymbolRenderer:
    """Intersections by date, from dark (oldest) to light (youngest)."""
    ramp = QgsGradientColorRamp(QColor(68, 1, 84), QColor(253, 231, 37), False,
                                [QgsGradientStop(0.5, QColor(33, 145, 140))])  # viridis-like
    categories = []
    for index, text in enumerate(dates):
        symbol = QgsMarkerSymbol.createSimple({"name": "circle", "size": "1.6"})
        symbol.setColor(ramp.color(index / max(len(dates) - 1, 1)))
        categories.append(QgsRendererCategory(text, symbol, text))
    renderer = QgsCategorizedSymbolRenderer("date", categories)
    renderer.setSourceColorRamp(ramp)
    return renderer


def date_text(when) -> str:
    """ISO date, with the time only when there is one."""
    return when.isoformat(timespec="seconds") if when.time() != when.min.time() else f"{when:%Y-%m-%d}"


def _nice_ceiling(value: float) -> float:
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if step * magnitude >= value)


def _rate(item):
    return item.stats.lrr_m_yr if item.stats.lrr_m_yr is not None else item.stats.epr_m_yr


def _median(values):
    finite = sorted(value for value in values if value is not None)
    if not finite:
        return None
    middle = len(finite) // 2
    return finite[middle] if len(finite) % 2 else (finite[middle - 1] + finite[middle]) / 2


def _plain(value):
    """A field value as core takes it: QDate/QDateTime as ISO text, NULL as None."""
    if isinstance(value, QDateTime):
        return value.toString(Qt.DateFormat.ISODate) if value.isValid() else None
    if isinstance(value, QDate):
        return value.toString(Qt.DateFormat.ISODate) if value.isValid() else None
    if value is None or (isinstance(value, QVariant) and value.isNull()):
        return None
    return value


def _number(value) -> float | None:
    value = _plain(value)
    if value is None or value == "":
        return None
    try:
        number = float(str(value).replace(",", "."))
    except ValueError:
        raise QgsProcessingException(f"'{value}' is not a number.") from None
    return number if math.isfinite(number) else None


def _value(value):
    return None if value is None else float(value)
