"""Shoreline change (coastline:shorelinechange): a thin adapter over core.change."""

import math
import os

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFeature,
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
    QgsProcessingParameterBoolean,
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
from ..core.change.dates import DSAS_DATE_FIELD, DSAS_DATE_FORMATS
from ..core.change.statistics import ChangeStats
from ..core.errors import CoastlineError
from ..core.io.vectors import estimated_size
from .feedback import check_writable, errors_reported_once, feedback_hooks, run_core
from .geometry import LINE_TYPE, POINT_TYPE, line_features, line_geometry, point_geometry, projected_crs_for
from .parameters import add_parameter
from .sinks import CheckedSink

SEA_SIDE_OPTIONS = (
    (LAND_LEFT, "Land on the left of the lines (as Extract coastline writes them)"),
    (LAND_RIGHT, "Land on the right of the lines"),
    (BASELINE_ONSHORE, "The baseline lies on land"),
    (BASELINE_OFFSHORE, "The baseline lies at sea"),
)
INTERSECTION_OPTIONS = ("Seaward-most crossing", "Landward-most crossing", "Median of the crossings")
STAT_FIELDS = tuple(name for name in ChangeStats.__dataclass_fields__)
TRANSECT_FIELDS = (("transect_id", QVariant.Int), ("baseline_id", QVariant.Int), ("group_id", QVariant.Int)) + tuple(
    (name, QVariant.Int if name == "n_dates" else QVariant.Double) for name in STAT_FIELDS) + (
    ("multi_dates", QVariant.Int), ("seaward", QVariant.String))
# DSAS's own names for the same figures (its transect and rate tables), so results drop into DSAS reports.
DSAS_FIELD_NAMES = {"transect_id": "TransectID", "baseline_id": "BaselineID", "group_id": "GroupID",
                    "n_dates": "ShrCount", "sce_m": "SCE", "nsm_m": "NSM", "epr_m_yr": "EPR", "epr_unc_m_yr": "EPRunc",
                    "lrr_m_yr": "LRR", "lrr_r2": "LR2", "lrr_se": "LSE", "lrr_ci95": "LCI95", "wlr_m_yr": "WLR",
                    "wlr_r2": "WR2", "wlr_se": "WSE", "wlr_ci95": "WCI95"}
# Fields read where the user names none: this plugin's and CoastSat/CoastSeg's first, then DSAS's (QSCAT's too).
DATE_FIELDS = ("date", DSAS_DATE_FIELD)
UNCERTAINTY_FIELDS = ("uncertainty_m", "DSAS_uncy")
SOURCE_FIELDS = ("scene", "satname")  # what a line came from: Extract coastline's scene, CoastSat's satellite
# DSAS baseline fields; a Shapefile cuts names to 10 characters (DSAS_search -> DSAS_searc).
DSAS_ID_FIELDS, DSAS_GROUP_FIELDS, DSAS_SEARCH_FIELDS = ("DSAS_ID",), ("DSAS_group",), ("DSAS_search", "DSAS_searc")
POINT_FIELDS = (("transect_id", QVariant.Int), ("date", QVariant.String), ("year", QVariant.Double),
                ("distance_m", QVariant.Double), ("position_m", QVariant.Double),
                ("tide_correction_m", QVariant.Double), ("uncertainty_m", QVariant.Double),
                ("n_crossings", QVariant.Int), ("source", QVariant.String))
RATE_CLASSES = 8
EROSION, STABLE, ACCRETION = QColor(202, 0, 32), QColor(247, 247, 247), QColor(5, 113, 176)  # ColorBrewer RdBu


class ShorelineChangeAlgorithm(QgsProcessingAlgorithm):
    LINES = "LINES"
    DATE_FIELD = "DATE_FIELD"
    DATE_FORMAT = "DATE_FORMAT"
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
    DSAS_NAMES = "DSAS_FIELD_NAMES"
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
            "<b>Coastlines</b>: line layers of several dates, e.g. the outputs of Extract coastline, a DSAS or "
            "QSCAT shoreline layer, or CoastSat/CoastSeg shorelines (GeoJSON). Distances are measured in the "
            "baseline's CRS when it is projected, else in the first projected layer's, else in the local UTM zone; "
            "the log says which layers were reprojected.<br>"
            "<b>Date field</b>: the field with each line's date; empty reads <i>date</i> (Extract coastline, "
            "CoastSat, CoastSeg: ISO, e.g. 2021-03-04 or 2021-03-04 10:51:07) or else <i>DSAS_date</i> (DSAS and "
            "QSCAT: MM/DD/YYYY, with or without a time). Other text dates need <i>Date format</i> (e.g. %d/%m/%Y): "
            "day/month orders are ambiguous. Where the field is missing or empty, the date is read from the scene "
            "field, the layer name or the file name (Sentinel-1 and ALOS-2 product names, an ISO date, or <i>Date "
            "pattern in names</i>, e.g. %Y%m%d).<br>"
            "<b>Baseline</b>: optional lines the transects start from; empty = an automatic baseline, "
            "<i>Automatic baseline offset</i> metres onshore (positive) or offshore (negative) of the mean "
            "shoreline position. A DSAS baseline is read as it is: <i>DSAS_ID</i> orders the baselines (and is "
            "their baseline_id), <i>DSAS_group</i> is carried to the transects (group_id) and summed up per group "
            "in the log, <i>DSAS_search</i> sets how far that baseline's transects reach instead of the length.<br>"
            "<b>Sea side</b>: from the lines' direction (Extract coastline writes land on the left), or from the "
            "baseline lying on land or at sea (for lines from elsewhere).<br>"
            "<b>Transect spacing</b> and <b>length</b> in metres; transects run from the baseline towards the "
            "lines.<br>"
            "<b>Where a transect crosses a date's lines more than once</b>: the seaward-most (DSAS's default), the "
            "landward-most or the median crossing is kept, and the transect's multi_dates counts such dates.<br>"
            "<b>Uncertainty field</b> and <b>default uncertainty</b>: each line's position uncertainty (m), for the "
            "EPR uncertainty sqrt(u1² + u2²) / years and the WLR weights 1 / u²; empty reads <i>uncertainty_m</i> "
            "(Extract coastline) or else <i>DSAS_uncy</i> (DSAS).<br>"
            "<b>Tide correction</b> (optional, CoastSat's rule): with a water level per line (field) or a CSV of "
            "date and level, each position moves (level - reference elevation) / beach slope seaward, before the "
            "rates. The slope is one value or a field of the baseline.<br>"
            "<b>Transects</b>: n_dates, sce_m (envelope), nsm_m (net movement), epr_m_yr and epr_unc_m_yr (end "
            "point rate), lrr_m_yr (linear regression rate), lrr_r2, lrr_se (standard error of the estimate, m), "
            "lrr_ci95 (half-width of the slope's 95 % confidence interval), wlr_m_yr (weighted regression) with "
            "wlr_r2, wlr_se and wlr_ci95 (weights 1 / u², as DSAS computes WR2, WSE and WCI); LRR and WLR need "
            "three dates. Coloured by rate on a red (erosion) to blue (accretion) ramp. <i>DSAS field names</i> "
            "writes DSAS's names instead: TransectID, BaselineID, GroupID, ShrCount, SCE, NSM, EPR, EPRunc, LRR, "
            "LR2, LSE, LCI95, WLR, WR2, WSE, WCI95.<br>"
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
            (QgsProcessingParameterString(self.DATE_FIELD, "Date field", optional=True),
             "Field holding each line's date (a date field, ISO text, or text in Date format). Empty: 'date', or "
             "else DSAS's 'DSAS_date' (MM/DD/YYYY), whichever the layer has."),
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
            (QgsProcessingParameterString(self.UNCERTAINTY_FIELD, "Uncertainty field (m)", optional=True),
             "Field with each line's position uncertainty in metres; empty values take the default. Empty: "
             "'uncertainty_m', or else DSAS's 'DSAS_uncy', whichever the layer has."),
            (QgsProcessingParameterNumber(self.DEFAULT_UNCERTAINTY, "Default uncertainty (m)", double,
                                          defaults.default_uncertainty_m, minValue=0.001),
             "Uncertainty of lines without a value in the uncertainty field."),
            (QgsProcessingParameterBoolean(self.DSAS_NAMES, "DSAS field names (SCE, NSM, EPR, LRR, WLR ...)", False),
             "Write the transects' figures under DSAS's names (TransectID, BaselineID, GroupID, ShrCount, SCE, NSM, "
             "EPR, EPRunc, LRR, LR2, LSE, LCI95, WLR, WR2, WSE, WCI95), e.g. for an existing DSAS report; they also "
             "fit a Shapefile's 10 characters."),
            (QgsProcessingParameterFeatureSink(self.OUTPUT_TRANSECTS, "Transects", QgsProcessing.TypeVectorLine),
             "Transects with n_dates, sce_m, nsm_m, epr_m_yr, epr_unc_m_yr, lrr_m_yr, lrr_r2, lrr_se, lrr_ci95, "
             "wlr_m_yr, wlr_r2, wlr_se, wlr_ci95 (or DSAS's names); coloured by rate."),
            (QgsProcessingParameterFeatureSink(self.OUTPUT_POINTS, "Intersections", QgsProcessing.TypeVectorPoint,
                                               optional=True),
             "One point per transect and date: distance from the baseline, seaward position, tide correction."),
            (QgsProcessingParameterFileDestination(self.REPORT, "Report", "HTML files (*.html);;PNG files (*.png)",
                                                   optional=True, createByDefault=False),
             "Optional .html or .png: a rate map and the time series of chosen transects."),
        ]
        advanced = [
            (QgsProcessingParameterString(self.DATE_FORMAT, "Date format of text dates (e.g. %d/%m/%Y)",
                                          optional=True),
             "strptime format of the date field's text where it is not ISO, e.g. %d/%m/%Y or %d.%m.%Y %H:%M. Empty: "
             "ISO text, and MM/DD/YYYY in a DSAS_date field."),
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

    @errors_reported_once
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        from ..core.change.analysis import analyse_change
        from ..core.change.tide import TideSettings, read_levels

        layers = self.parameterAsLayerList(parameters, self.LINES, context)
        if not layers:
            raise QgsProcessingException("Choose at least one coastline layer (LINES).")
        baseline_source = self.parameterAsSource(parameters, self.BASELINE, context)
        date_format = self.parameterAsString(parameters, self.DATE_FORMAT, context).strip()
        if date_format and "%" not in date_format:
            raise QgsProcessingException(f"DATE_FORMAT '{date_format}' holds no strptime code; write it like "
                                         "%d/%m/%Y or %d.%m.%Y %H:%M.")
        crs = measuring_crs(baseline_source, layers, context, feedback)
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
            date_format=date_format,
            default_uncertainty=self.parameterAsDouble(parameters, self.DEFAULT_UNCERTAINTY, context),
            pattern=self.parameterAsString(parameters, self.DATE_PATTERN, context).strip() or None,
            uncertainty_field=self.parameterAsString(parameters, self.UNCERTAINTY_FIELD, context).strip(),
            tide_field=tide_field if not tide_csv else "")
        baselines = (read_baselines(baseline_source, crs, context,
                                    self.parameterAsString(parameters, self.SLOPE_FIELD, context), feedback)
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
        names = transect_field_names(self.parameterAsBoolean(parameters, self.DSAS_NAMES, context))
        transects_id = self._write_transects(parameters, context, crs, result, names)
        outputs = {self.OUTPUT_TRANSECTS: transects_id, "TRANSECT_COUNT": len(result.transects),
                   "DATE_COUNT": len(result.dates),
                   "MEDIAN_LRR_M_YR": _median([item.stats.lrr_m_yr for item in result.transects])}
        rate_expression = f'coalesce("{names["lrr_m_yr"]}", "{names["epr_m_yr"]}")'  # LRR needs three dates
        style_output(transects_id, context, "LineString", lambda: rate_renderer(rates, rate_expression))
        if points_wanted:
            points_id = self._write_points(parameters, context, crs, result, names)
            style_output(points_id, context, "Point", lambda: date_renderer([date_text(when) for when in result.dates]))
            outputs[self.OUTPUT_POINTS] = points_id
        if report:
            from ..core.change.report import write_change_report

            run_core(lambda: write_change_report(report, result, shorelines, transect_ids))
            outputs[self.REPORT] = report
        return outputs

    def _write_transects(self, parameters, context, crs, result, names: dict) -> str:
        field_spec = [(names[name], kind) for name, kind in TRANSECT_FIELDS]
        size = estimated_size(2 * len(result.transects), len(result.transects))
        sink, fields = self._sink(parameters, self.OUTPUT_TRANSECTS, context, field_spec, LINE_TYPE, crs, size,
                                  "the transects")
        for item in result.transects:
            stats = item.stats.as_dict()
            values = [item.transect.transect_id, item.transect.baseline_id, item.transect.group] + [
                _value(stats[name]) for name in STAT_FIELDS] + [
                item.multi_dates, "towards the end" if item.seaward > 0 else "towards the baseline"]
            self._add(sink, fields, line_geometry(item.transect.coords), values)
        return sink.close()

    def _write_points(self, parameters, context, crs, result, names: dict) -> str:
        field_spec = [(names.get(name, name), kind) for name, kind in POINT_FIELDS]  # its transect id as named there
        size = estimated_size(len(result.measurements), len(result.measurements))
        sink, fields = self._sink(parameters, self.OUTPUT_POINTS, context, field_spec, POINT_TYPE, crs, size,
                                  "the intersections")
        for item in result.measurements:
            values = [item.transect_id, date_text(item.when), item.year, item.distance_m, item.position_m,
                      _value(item.tide_correction_m), item.uncertainty_m, item.n_crossings, item.source]
            self._add(sink, fields, point_geometry(*item.point), values)
        return sink.close()

    def _sink(self, parameters, name, context, field_spec, geometry_type, crs, size: int, what: str):
        fields = QgsFields()
        for field_name, kind in field_spec:
            fields.append(QgsField(field_name, kind))
        return CheckedSink(self, parameters, name, context, fields, geometry_type, crs, size, what), fields

    @staticmethod
    def _add(sink, fields, geometry, values) -> None:
        feature = QgsFeature(fields)
        feature.setGeometry(geometry)
        feature.setAttributes(values)
        sink.add(feature)


def measuring_crs(baseline_source, layers, context, feedback):
    """The CRS distances are measured in: the baseline's when projected, else the first projected line layer's, else
    the local UTM zone of the baseline (or first layer); the log names every input reprojected from a geographic CRS."""
    named = ([("the baseline", baseline_source)] if baseline_source is not None else []) + [
        (f"the layer '{layer.name()}'", layer) for layer in layers]
    for what, source in named:
        if not source.sourceCrs().isValid():
            raise QgsProcessingException(f"{_sentence(what)} has no valid CRS. Set its CRS and run again.")
    projected = next(((what, source) for what, source in named if not source.sourceCrs().isGeographic()), None)
    if projected is None:
        crs, reprojected = projected_crs_for(named[0][1], context, _sentence(named[0][0]))
        feedback.pushInfo(reprojected)
        return crs
    owner, crs = projected[0], projected[1].sourceCrs()
    for what, source in named:
        if source.sourceCrs().isGeographic():
            feedback.pushInfo(f"{_sentence(what)} is in a geographic CRS ({source.sourceCrs().authid()}): it is "
                              f"reprojected to {crs.authid()} ({crs.description()}), the CRS of {owner}, to measure "
                              "in metres.")
    return crs


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def first_field(fields, names) -> str:
    """The name, as the layer spells it, of the first of `names` the layer has (any case); '' for none."""
    for name in names:
        index = fields.lookupField(name)
        if index >= 0:
            return fields.at(index).name()
    return ""


def read_shorelines(layers, crs, context, feedback, date_field: str, date_format: str, default_uncertainty: float,
                    pattern: str | None, uncertainty_field: str, tide_field: str) -> list:
    """Every part of every line as a core Shoreline in `crs`, each with its date, uncertainty and water level. Empty
    field names take the first field of DATE_FIELDS / UNCERTAINTY_FIELDS the layer has."""
    from ..core.change.analysis import Shoreline
    from ..core.change.dates import resolve_date

    shorelines = []
    for layer in layers:
        if not isinstance(layer, QgsVectorLayer) or layer.geometryType() != QgsWkbTypes.LineGeometry:
            raise QgsProcessingException(f"'{layer.name()}' is not a line layer; LINES takes coastline lines.")
        fields = layer.fields()
        if tide_field and fields.lookupField(tide_field) < 0:
            raise QgsProcessingException(f"The layer '{layer.name()}' has no water level field '{tide_field}'. Set "
                                         "the tide field, or give a tide CSV instead.")
        names = (layer.name(), os.path.splitext(os.path.basename(layer.source().split("|")[0]))[0])
        dates_from = first_field(fields, (date_field,) if date_field else DATE_FIELDS)
        uncertainties_from = first_field(fields, (uncertainty_field,) if uncertainty_field else UNCERTAINTY_FIELDS)
        level_from = first_field(fields, (tide_field,)) if tide_field else ""
        source_from = first_field(fields, SOURCE_FIELDS)
        dsas_dates = dates_from.lower() == DSAS_DATE_FIELD.lower()
        formats = (date_format,) if date_format else DSAS_DATE_FORMATS if dsas_dates else ()
        _log_fields(layer.name(), dates_from, dsas_dates and not date_format, uncertainties_from, uncertainty_field,
                    default_uncertainty, feedback)
        for feature, parts in line_features(layer, crs, context, feedback):
            source = str(_plain(feature[source_from]) or "") if source_from else ""
            value = _plain(feature[dates_from]) if dates_from else None
            try:
                when = resolve_date(value, (source, *names), pattern, formats)
            except CoastlineError as error:
                hint = "" if formats else " Or state the order in DATE_FORMAT (e.g. %d/%m/%Y)."
                raise QgsProcessingException(f"'{layer.name()}', feature {feature.id()}: {error}{hint}") from error
            if when is None:
                wanted = date_field or " or ".join(DATE_FIELDS)
                why = f"its field '{dates_from}' is empty" if dates_from else f"it has no field '{wanted}'"
                raise QgsProcessingException(
                    f"A line of '{layer.name()}' (feature {feature.id()}) has no date: {why}, and no date is found "
                    "in its scene, layer or file name. Set DATE_FIELD to the field with the date, or DATE_PATTERN "
                    "(e.g. %Y%m%d) for the names.")
            uncertainty = _number(feature[uncertainties_from]) if uncertainties_from else None
            level = _number(feature[level_from]) if level_from else None
            shorelines.extend(Shoreline(part, when, uncertainty, level, source or layer.name()) for part in parts)
    return shorelines


def _log_fields(layer_name: str, dates_from: str, dsas_dates: bool, uncertainties_from: str, uncertainty_field: str,
                default_uncertainty: float, feedback) -> None:
    """Say where a layer's dates and uncertainties come from when they are not this plugin's own fields."""
    if dsas_dates:
        feedback.pushInfo(f"'{layer_name}': dates from {dates_from}, read as DSAS defines it: MM/DD/YYYY, with or "
                          "without a time.")
    if uncertainty_field and not uncertainties_from:
        feedback.pushWarning(f"'{layer_name}' has no field '{uncertainty_field}': its lines take the default "
                             f"uncertainty, {default_uncertainty:g} m. Check UNCERTAINTY_FIELD.")
    elif uncertainties_from and uncertainties_from != UNCERTAINTY_FIELDS[0]:
        feedback.pushInfo(f"'{layer_name}': uncertainties from {uncertainties_from}, in metres (empty values take "
                          f"{default_uncertainty:g} m).")
    elif not uncertainties_from:
        feedback.pushInfo(f"'{layer_name}' has no uncertainty field ({' or '.join(UNCERTAINTY_FIELDS)}): its lines "
                          f"take the default uncertainty, {default_uncertainty:g} m.")


def read_baselines(source, crs, context, slope_field: str, feedback) -> list:
    """The baseline's lines in `crs`; DSAS's fields where the layer has them: DSAS_ID orders the baselines and
    numbers them, DSAS_group groups their transects, DSAS_search is how far their transects reach."""
    from ..core.change.transects import Baseline

    fields = source.fields()
    id_from, group_from, search_from = (first_field(fields, names) for names in (
        DSAS_ID_FIELDS, DSAS_GROUP_FIELDS, DSAS_SEARCH_FIELDS))
    rows = []
    for feature, parts in line_features(source, crs, context):
        slope = _number(feature[slope_field]) if slope_field else None
        if slope is not None and slope <= 0:
            raise QgsProcessingException(f"Baseline feature {feature.id()} has beach slope {slope}; slopes must be "
                                         "positive (rise over run, e.g. 0.1).")
        search = _number(feature[search_from]) if search_from else None
        rows.append((_integer(feature[id_from]) if id_from else None, feature.id(), parts, slope,
                     _integer(feature[group_from]) if group_from else None, search if search and search > 0 else None))
    if id_from:
        rows.sort(key=lambda row: (row[0] is None, row[0] or 0, row[1]))  # DSAS casts transects in DSAS_ID order
    baselines = []
    for dsas_id, _feature_id, parts, slope, group, search in rows:
        baselines += [Baseline(part, len(baselines) if dsas_id is None else dsas_id, slope, group, search)
                      for part in parts]
    if not baselines:
        raise QgsProcessingException("The baseline layer has no lines. Draw a baseline along the coast, or leave "
                                     "BASELINE empty for an automatic one.")
    _log_dsas_baseline(baselines, id_from, group_from, search_from, feedback)
    return baselines


def _log_dsas_baseline(baselines, id_from: str, group_from: str, search_from: str, feedback) -> None:
    """Say which DSAS baseline fields were found and what they decide."""
    said = []
    if id_from:
        said.append(f"{id_from} orders the baselines and is their baseline_id")
    groups = sorted({baseline.group for baseline in baselines if baseline.group is not None})
    if group_from:
        said.append(f"{group_from} puts their transects in {len(groups)} group(s) ({', '.join(map(str, groups))})")
    searching = [baseline for baseline in baselines if baseline.search_m is not None]
    if search_from and searching:
        reaches = ", ".join(sorted({f"{baseline.search_m:g}" for baseline in searching}, key=float))
        said.append(f"{search_from} sets how far the transects of {len(searching)} of {len(baselines)} baseline(s) "
                    f"reach ({reaches} m), instead of LENGTH")
    elif search_from:
        said.append(f"{search_from} is empty or 0 on every baseline: LENGTH applies")
    if said:
        feedback.pushInfo("DSAS baseline: " + "; ".join(said) + ".")


def transect_field_names(dsas: bool) -> dict:
    """Output name of each transect field: this plugin's, or DSAS's where it has one."""
    return {name: DSAS_FIELD_NAMES.get(name, name) if dsas else name for name, _kind in TRANSECT_FIELDS}


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


def rate_renderer(rates: list[float], expression: str) -> QgsGraduatedSymbolRenderer:
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
    renderer = QgsGraduatedSymbolRenderer(expression, ranges)
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


def _integer(value) -> int | None:
    number = _number(value)
    if number is not None and not number.is_integer():
        raise QgsProcessingException(f"'{value}' is not a whole number; DSAS_ID and DSAS_group hold integers.")
    return None if number is None else int(number)


def _value(value):
    return None if value is None else float(value)
