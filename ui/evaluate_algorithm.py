"""Evaluate coastline (coastline:evaluatecoastline): the competition metric over QGIS layers."""

import math

from qgis.core import (
    QgsFeature,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)
from qgis.PyQt.QtCore import QVariant

from ..core.errors import Cancelled
from ..core.evaluation.metric import DEFAULT_CAP_M, DEFAULT_SPACING_M
from ..core.io.vectors import estimated_size
from .feedback import check_writable, errors_reported_once, run_core
from .geometry import POINT_TYPE, point_geometry, projected_crs_for, source_lines, source_points
from .parameters import add_parameter
from .sinks import CheckedSink

FIGURES = (
    ("SCORE", "score", "Score: mean distance, capped (m)"),
    ("MEDIAN", "median", "Median distance, capped (m)"),
    ("P90", "p90", "90th percentile distance, capped (m)"),
    ("MISS_RATE", "miss_rate", "Miss rate (share of points farther than the cap)"),
    ("FALSE_COAST_M", "false_coast_m", "False coast: predicted length farther than the cap (m)"),
    ("SYMMETRIC_M", "symmetric_m", "Symmetric mean distance (m)"),
    ("N_POINTS", "n_points", "Number of evaluation points"),
)


class EvaluateCoastlineAlgorithm(QgsProcessingAlgorithm):
    PREDICTED = "PREDICTED"
    REFERENCE = "REFERENCE"
    POINTS = "POINTS"
    CAP = "CAP"
    SPACING = "SPACING"
    OUTPUT_POINTS = "OUTPUT_POINTS"
    REPORT = "REPORT"

    def name(self):
        return "evaluatecoastline"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Evaluate coastline"

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return (
            "Scores predicted coastline lines against reference lines with the coastline competition metric: "
            "for each evaluation point on the reference, the distance to the nearest predicted line, capped; a "
            "point with no prediction within the cap counts the cap (miss penalty). Lower is better.<br><br>"
            "<b>Predicted coastline</b>: the lines to score (e.g. the output of Extract coastline).<br>"
            "<b>Reference coastline</b>: the true coastline. Layers in other CRSs are reprojected to its CRS; a "
            "reference in a geographic CRS (e.g. EPSG:4326) is reprojected, with every layer, to the local UTM zone "
            "(the log says which), as distances need metres.<br>"
            "<b>Evaluation points</b>: optional; when empty, points are placed along the reference every "
            "<i>Point spacing</i> metres.<br>"
            "<b>Distance cap</b>: distances above it count as the cap (150 m in the competition).<br>"
            "<b>Per-point distances</b>: optional point layer with each point's distance.<br>"
            "<b>Report</b>: optional .html or .png with a map of the distances, a histogram and the figures.<br>"
            "Results: score, median, 90th percentile, miss rate, false coast length, symmetric mean distance.")

    def createInstance(self):  # noqa: N802 (QGIS API)
        return EvaluateCoastlineAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        line = [QgsProcessing.TypeVectorLine]
        parameters = [
            (QgsProcessingParameterFeatureSource(self.PREDICTED, "Predicted coastline", line),
             "The lines to score, e.g. the output of Extract coastline; reprojected to the reference's CRS."),
            (QgsProcessingParameterFeatureSource(self.REFERENCE, "Reference coastline", line),
             "The true coastline; a geographic reference is measured in its local UTM zone."),
            (QgsProcessingParameterFeatureSource(self.POINTS, "Evaluation points", [QgsProcessing.TypeVectorPoint],
                                                 optional=True),
             "Optional: where to measure; empty = points along the reference every Point spacing metres."),
            (QgsProcessingParameterNumber(self.CAP, "Distance cap (m)", QgsProcessingParameterNumber.Type.Double,
                                          DEFAULT_CAP_M, minValue=0.001),
             "Distances above it count as the cap; a point with no prediction within it counts the cap."),
            (QgsProcessingParameterNumber(self.SPACING, "Point spacing when no points are given (m)",
                                          QgsProcessingParameterNumber.Type.Double, DEFAULT_SPACING_M, minValue=0.01),
             "Distance between evaluation points placed along the reference."),
            (QgsProcessingParameterFeatureSink(self.OUTPUT_POINTS, "Per-point distances",
                                               QgsProcessing.TypeVectorPoint, optional=True, createByDefault=False),
             "Optional point layer with each evaluation point's distance to the prediction."),
            (QgsProcessingParameterFileDestination(self.REPORT, "Report", "HTML files (*.html);;PNG files (*.png)",
                                                   optional=True, createByDefault=False),
             "Optional .html or .png: a map of the distances, a histogram and the figures."),
        ]
        for parameter, help_text in parameters:
            add_parameter(self, parameter, help_text)
        for key, _attribute, description in FIGURES:
            self.addOutput(QgsProcessingOutputNumber(key, description))

    @errors_reported_once
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        from ..core.evaluation.metric import evaluate, sample_along
        from ..core.evaluation.report import write_evaluation_report

        predicted_source = self.parameterAsSource(parameters, self.PREDICTED, context)
        reference_source = self.parameterAsSource(parameters, self.REFERENCE, context)
        if predicted_source is None or reference_source is None:
            raise QgsProcessingException("Both the predicted and the reference coastline layers are needed.")
        crs, reprojected = projected_crs_for(reference_source, context, "The reference coastline")
        if reprojected:
            feedback.pushInfo(reprojected)
        report = self.parameterAsFileOutput(parameters, self.REPORT, context)
        if report and not report.lower().endswith((".html", ".htm", ".png")):
            raise QgsProcessingException(f"The report '{report}' must end with .html or .png.")
        points_destination = (self.parameterAsOutputLayer(parameters, self.OUTPUT_POINTS, context)
                              if parameters.get(self.OUTPUT_POINTS) else None)
        check_writable(report, points_destination)
        points_source = self.parameterAsSource(parameters, self.POINTS, context)
        for source, what in ((predicted_source, "predicted lines"), (points_source, "evaluation points"),
                             (reference_source if reprojected else None, "reference lines")):
            if source is not None and source.sourceCrs() != crs:
                feedback.pushInfo(f"Reprojecting the {what} from {source.sourceCrs().authid()} to {crs.authid()}.")

        predicted = source_lines(predicted_source, crs, context, feedback)
        reference = source_lines(reference_source, crs, context, feedback)
        cap = self.parameterAsDouble(parameters, self.CAP, context)
        spacing = self.parameterAsDouble(parameters, self.SPACING, context)
        points = (source_points(points_source, crs, context) if points_source is not None
                  else sample_along(reference, spacing))
        if feedback.isCanceled():
            raise QgsProcessingException(str(Cancelled()))
        if len(points) == 0:
            raise QgsProcessingException("No evaluation points: the reference coastline has no lines and no points "
                                         "layer is given.")
        feedback.pushInfo(f"{len(predicted)} predicted and {len(reference)} reference line part(s), "
                          f"{len(points)} evaluation points.")
        score, distances = evaluate(predicted, reference, points, cap=cap, spacing=spacing)
        feedback.setProgress(70)

        results = {key: getattr(score, attribute) for key, attribute, _description in FIGURES}
        for key, _attribute, description in FIGURES:
            feedback.pushInfo(f"{description}: {results[key]:.4g}")
        if points_destination is not None:
            results[self.OUTPUT_POINTS] = self._write_points(parameters, context, crs, points, distances, cap)
        if report:
            run_core(lambda: write_evaluation_report(report, score, points, distances, predicted, reference,
                                                     title="Coastline evaluation"))
            results[self.REPORT] = report
        feedback.setProgress(100)
        return results

    def _write_points(self, parameters, context, crs, points, distances, cap):
        fields = QgsFields()
        for name, kind in (("point_id", QVariant.Int), ("distance_m", QVariant.Double), ("capped_m", QVariant.Double),
                           ("missed", QVariant.Int)):
            fields.append(QgsField(name, kind))
        sink = CheckedSink(self, parameters, self.OUTPUT_POINTS, context, fields, POINT_TYPE, crs,
                           estimated_size(len(points), len(points)), "the evaluation points")
        for index, ((x, y), distance) in enumerate(zip(points, distances)):
            feature = QgsFeature(fields)
            feature.setGeometry(point_geometry(x, y))
            finite = math.isfinite(distance)
            feature.setAttributes([index, float(distance) if finite else None, float(min(distance, cap)),
                                   int(not distance <= cap)])
            sink.add(feature)
        return sink.close()
