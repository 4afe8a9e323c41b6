"""Find SAR scenes (coastline:findscenes): the archive's scenes over an area and dates as a footprint layer, so the
user sees what covers the coast before downloading anything. A thin adapter over core.archive.asf."""

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsFillSymbol,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputNumber,
    QgsProcessingParameterCrs,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsSingleSymbolRenderer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QVariant

from ..core.archive.asf import ORBIT_DIRECTIONS, POLARISATIONS, PRODUCTS, SceneQuery, find_scenes
from ..core.io.vectors import estimated_size
from .feedback import errors_reported_once, feedback_hooks, run_core
from .parameters import add_parameter
from .sinks import CheckedSink

WGS84 = "EPSG:4326"
# (name, type) of the footprint layer; Download SAR scenes reads url, file_name, size_bytes and md5
SCENE_FIELDS = (("scene_id", QVariant.String), ("date", QVariant.String), ("start_time", QVariant.String),
                ("product", QVariant.String), ("platform", QVariant.String), ("orbit_direction", QVariant.String),
                ("relative_orbit", QVariant.Int), ("absolute_orbit", QVariant.Int),
                ("polarisations", QVariant.String), ("size_bytes", QVariant.LongLong), ("file_name", QVariant.String),
                ("url", QVariant.String), ("md5", QVariant.String))
ORBIT_LABELS = ("Both", "Ascending", "Descending")
POLARISATION_LABELS = ("Any", "VV+VH", "HH+HV (polar and some coastal areas)", "VV only", "HH only")


class FindScenesAlgorithm(QgsProcessingAlgorithm):
    AREA = "AREA"
    AREA_LAYER = "AREA_LAYER"
    START = "START"
    END = "END"
    PRODUCT = "PRODUCT"
    ORBIT = "ORBIT"
    POLARISATION = "POLARISATION"
    MAX_RESULTS = "MAX_RESULTS"
    OUTPUT_CRS = "OUTPUT_CRS"
    OUTPUT = "OUTPUT"

    def name(self):
        return "findscenes"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Find SAR scenes"

    def group(self):
        return "Scenes"

    def groupId(self):  # noqa: N802 (QGIS API)
        return "scenes"

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return (
            "Lists the radar scenes the Alaska Satellite Facility (ASF) holds over an area and a date range, through "
            "ASF's client asf_search (searching NASA's CMR; no login needed), and writes their footprints, added to "
            "the project, so you see what covers the coast before downloading. Then select the scenes you want and "
            "run <i>Download SAR scenes</i>.<br><br>"
            "<b>Area</b>: a map extent, or a polygon layer (its selected features when you tick <i>Selected "
            "features only</i>).<br>"
            "<b>Product</b>: Sentinel-1 GRD (a zipped SAFE product, read by Extract coastline as it is), or OPERA "
            "RTC-S1 (terrain-corrected backscatter bursts; the cross-pol GeoTIFF is downloaded unless you ask for VV "
            "or HH only).<br>"
            "<b>Footprints</b>: one feature per scene with scene_id, date, start_time (UTC), product, platform, "
            "orbit_direction, relative_orbit, absolute_orbit, polarisations, size_bytes, file_name, url and md5 (the "
            "archive's checksum, where it gives one), in the CRS you choose (the project's by default).<br>"
            "It needs the Python package asf_search: <i>Setup > Install dependencies</i> (Everything) installs it.")

    def createInstance(self):  # noqa: N802 (QGIS API)
        return FindScenesAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        def add(parameter, help_text, advanced=False):
            add_parameter(self, parameter, help_text, advanced)

        today = QDate.currentDate()
        add(QgsProcessingParameterExtent(self.AREA, "Area (extent)", optional=True),
            "The area to cover, in any CRS; or leave it empty and give a polygon layer.")
        add(QgsProcessingParameterFeatureSource(self.AREA_LAYER, "Area (polygon layer)",
                                                [QgsProcessing.TypeVectorPolygon], optional=True),
            "Polygons of the area to cover (their selected features if ticked); used instead of the extent.")
        add(QgsProcessingParameterDateTime(self.START, "From", QgsProcessingParameterDateTime.Type.Date,
                                           today.addYears(-1)),
            "First acquisition date (UTC), e.g. 2020-01-01.")
        add(QgsProcessingParameterDateTime(self.END, "To (included)", QgsProcessingParameterDateTime.Type.Date,
                                           today),
            "Last acquisition date (UTC), included.")
        add(QgsProcessingParameterEnum(self.PRODUCT, "Product", [product.label for product in PRODUCTS],
                                       defaultValue=0),
            "Sentinel-1 GRD (0), or OPERA RTC-S1 (1) where the archive holds it (OPERA processes North America).")
        add(QgsProcessingParameterEnum(self.ORBIT, "Orbit direction", ORBIT_LABELS, defaultValue=0),
            "Ascending or descending passes only; a time series is best from one direction (same look).")
        add(QgsProcessingParameterEnum(self.POLARISATION, "Polarisations", POLARISATION_LABELS, defaultValue=0),
            "The scene's polarisations, exactly: dual VV+VH (most of the world), dual HH+HV, or one alone.")
        add(QgsProcessingParameterNumber(self.MAX_RESULTS, "Most scenes to list",
                                         QgsProcessingParameterNumber.Type.Integer, 250, minValue=1, maxValue=10000),
            "The search stops at this many scenes, and says so.", True)
        add(QgsProcessingParameterCrs(self.OUTPUT_CRS, "Footprint CRS", "ProjectCrs", optional=True),
            "CRS of the footprint layer; empty: the project's (WGS 84 without a project).")
        add(QgsProcessingParameterFeatureSink(self.OUTPUT, "Scene footprints", QgsProcessing.TypeVectorPolygon),
            "One polygon per scene with its id, date, orbit, polarisations, size, URL and checksum.")
        self.addOutput(QgsProcessingOutputNumber("SCENE_COUNT", "Scenes found"))
        self.addOutput(QgsProcessingOutputNumber("TOTAL_GB", "Their size (GB)"))

    @errors_reported_once
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        orbit = self.parameterAsEnum(parameters, self.ORBIT, context)
        polarisation = self.parameterAsEnum(parameters, self.POLARISATION, context)
        query = run_core(lambda: SceneQuery(
            area_wkt=self._area_wkt(parameters, context),
            start=self.parameterAsDateTime(parameters, self.START, context).date().toPyDate(),
            end=self.parameterAsDateTime(parameters, self.END, context).date().toPyDate(),
            product=PRODUCTS[self.parameterAsEnum(parameters, self.PRODUCT, context)].key,
            orbit_direction=ORBIT_DIRECTIONS[orbit - 1] if orbit else None,
            polarisation=POLARISATIONS[polarisation - 1] if polarisation else None,
            max_results=self.parameterAsInt(parameters, self.MAX_RESULTS, context)))
        scenes = run_core(lambda: find_scenes(query, feedback_hooks(feedback)))

        crs = self.parameterAsCrs(parameters, self.OUTPUT_CRS, context)
        if not crs.isValid():
            crs = QgsCoordinateReferenceSystem(WGS84)
        fields = QgsFields()
        for name, kind in SCENE_FIELDS:
            fields.append(QgsField(name, kind))
        size = estimated_size(sum(len(scene.footprint) for scene in scenes), len(scenes))
        sink = CheckedSink(self, parameters, self.OUTPUT, context, fields, QgsWkbTypes.Type.Polygon, crs, size,
                           "the footprints")
        transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem(WGS84), crs, context.transformContext())
        for scene in scenes:
            feature = QgsFeature(fields)
            geometry = QgsGeometry.fromPolygonXY([[QgsPointXY(lon, lat) for lon, lat in scene.footprint]])
            geometry.transform(transform)
            feature.setGeometry(geometry)
            feature.setAttributes([scene.scene_id, scene.date, scene.start_time, scene.product, scene.platform,
                                   scene.orbit_direction, scene.relative_orbit, scene.absolute_orbit,
                                   scene.polarisations, scene.size_bytes, scene.file_name, scene.url, scene.md5])
            sink.add(feature)
        dest_id = sink.close()
        total_gb = sum(scene.size_bytes or 0 for scene in scenes) / 1e9
        feedback.pushInfo(f"{len(scenes)} scene(s), {total_gb:.1f} GB to download in all. Select those you want and "
                          "run Download SAR scenes with the footprint layer.")
        self._load_outlined(dest_id, context, f"SAR scenes {query.start} to {query.end}")
        return {self.OUTPUT: dest_id, "SCENE_COUNT": len(scenes), "TOTAL_GB": round(total_gb, 3)}

    def _area_wkt(self, parameters, context) -> str:
        """The area in WGS 84 longitude/latitude, as WKT: the polygon layer's features merged, else the extent."""
        wgs84 = QgsCoordinateReferenceSystem(WGS84)
        source = self.parameterAsSource(parameters, self.AREA_LAYER, context)
        if source is not None:
            transform = QgsCoordinateTransform(source.sourceCrs(), wgs84, context.transformContext())
            parts = []
            for feature in source.getFeatures():
                geometry = QgsGeometry(feature.geometry())
                if not geometry.isEmpty():
                    geometry.transform(transform)
                    parts.append(geometry.makeValid())
            area = QgsGeometry.unaryUnion(parts) if parts else QgsGeometry()
            what = "The polygon layer AREA_LAYER"
        elif parameters.get(self.AREA):
            area = self.parameterAsExtentGeometry(parameters, self.AREA, context, wgs84)
            what = "The extent AREA"
        else:
            raise QgsProcessingException("No area given. Draw or choose an extent (AREA) or give a polygon layer "
                                         "(AREA_LAYER).")
        if area.isEmpty() or area.area() <= 0:
            raise QgsProcessingException(f"{what} has no area. Give an extent or polygons that cover the coast.")
        return area.asWkt(6)

    @staticmethod
    def _load_outlined(dest_id: str, context, name: str) -> None:
        """Add the footprints to the project, outlined so that the map beneath stays visible."""
        if not context.willLoadLayerOnCompletion(dest_id):
            context.addLayerToLoadOnCompletion(dest_id, QgsProcessingContext.LayerDetails(name, context.project(),
                                                                                         FindScenesAlgorithm.OUTPUT))
        details = context.layerToLoadOnCompletionDetails(dest_id)
        details.name = name
        processor = OutlinePostProcessor()
        OutlinePostProcessor.kept[id(processor)] = processor
        details.setPostProcessor(processor)


class OutlinePostProcessor(QgsProcessingLayerPostProcessorInterface):
    kept = {}  # QGIS holds post-processors by a plain pointer: keep them alive until they ran

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        symbol = QgsFillSymbol.createSimple({"color": "255,127,0,25", "outline_color": "255,127,0",
                                             "outline_width": "0.5"})
        layer.setRenderer(QgsSingleSymbolRenderer(symbol))
        layer.triggerRepaint()
        OutlinePostProcessor.kept.pop(id(self), None)
