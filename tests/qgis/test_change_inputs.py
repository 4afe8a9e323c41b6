"""Shoreline change on the files users already have, built here as their tools write them: a DSAS shoreline set
(Shapefile, DSAS_date MM/DD/YYYY, DSAS_uncy in metres, a baseline with DSAS_ID, DSAS_group and DSAS_search) and
CoastSat/CoastSeg shorelines (GeoJSON in EPSG:4326, ISO dates with a time, satname). The statistics are checked
against a recomputation from the shorelines in the test: intersections and regressions with numpy by hand."""

import json
import math
from datetime import datetime

import numpy as np
import processing
import pytest
from osgeo import ogr, osr
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer

CHANGE = "coastline:shorelinechange"
BASELINE_ON_LAND = 2  # SEA_SIDE option: DSAS's "onshore baseline"
T_975 = {2: 4.302652729749464, 3: 3.182446305284263}  # Student's t table, 95 % two-sided, by degrees of freedom
DSAS_NAMES = ["TransectID", "BaselineID", "GroupID", "ShrCount", "SCE", "NSM", "EPR", "EPRunc", "LRR", "LR2", "LSE",
              "LCI95", "WLR", "WR2", "WSE", "WCI95"]

# DSAS set: an east-west coast, land to the north; four shorelines 1977-2022, written in mixed directions as
# digitized by hand. (DSAS_date text, DSAS_uncy m, mean y, wiggle amplitude, wavelength, phase, west to east?)
DSAS_SHORELINES = [("01/01/1977", 10.8, 100.0, 10.0, 150.0, 0.0, True),
                   ("07/15/1990 10:30:00", 5.1, 80.0, 12.0, 150.0, 0.5, False),
                   ("10/31/2005", 3.2, 70.0, 8.0, 170.0, 0.0, True),
                   ("06/30/2022", 1.5, 40.0, 10.0, 140.0, 1.0, False)]
ORIGIN = np.array([500000.0, 4100000.0])  # EPSG:32618
BASELINE_Y = 250.0
# (DSAS_ID, DSAS_group, DSAS_search, x from, x to): written with ID 2 first, as a user's file may be
DSAS_BASELINES = [(2, 2, None, 400.0, 2000.0), (1, 1, 240.0, 0.0, 400.0)]


class Log(QgsProcessingFeedback):
    """The run's log, kept: what the user reads in the Processing dialog."""

    def __init__(self):
        super().__init__()
        self.infos, self.warnings = [], []

    def pushInfo(self, info):  # noqa: N802 (QGIS API)
        self.infos.append(info)

    def pushWarning(self, warning):  # noqa: N802 (QGIS API)
        self.warnings.append(warning)


def dsas_shoreline(mean_y, amplitude, wavelength, phase, eastward) -> np.ndarray:
    x = np.arange(-100.0, 2100.1, 10.0)
    coords = np.column_stack([x, mean_y + amplitude * np.sin(x / wavelength + phase)]) + ORIGIN
    return coords if eastward else coords[::-1]


def write_shapefile(path, epsg: int, fields, rows) -> None:
    """A line Shapefile through OGR, as ArcGIS users hand them over; `fields`: (name, OGR type, width)."""
    source = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(path))
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(epsg)
    layer = source.CreateLayer(path.stem, reference, ogr.wkbLineString)
    for name, kind, width in fields:
        definition = ogr.FieldDefn(name, kind)
        definition.SetWidth(width)
        definition.SetPrecision(3 if kind == ogr.OFTReal else 0)  # a .dbf keeps no decimals unless told
        layer.CreateField(definition)  # DSAS_search becomes DSAS_searc: a .dbf holds 10 characters
    for coords, values in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        for index, value in enumerate(values):
            if value is not None:
                feature.SetField(index, value)
        line = ogr.Geometry(ogr.wkbLineString)
        for x, y in coords:
            line.AddPoint_2D(float(x), float(y))
        feature.SetGeometry(line)
        layer.CreateFeature(feature)
    source = None  # flushes the files


@pytest.fixture(scope="module")
def dsas_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dsas")
    shorelines, baseline = folder / "shorelines.shp", folder / "baseline.shp"
    write_shapefile(shorelines, 32618, [("DSAS_date", ogr.OFTString, 20), ("DSAS_uncy", ogr.OFTReal, 10),
                                        ("DSAS_type", ogr.OFTString, 3)],
                    [(dsas_shoreline(*shape), (text, uncertainty, "HWL"))
                     for text, uncertainty, *shape in DSAS_SHORELINES])
    write_shapefile(baseline, 32618, [("DSAS_ID", ogr.OFTInteger, 5), ("DSAS_group", ogr.OFTInteger, 5),
                                      ("DSAS_search", ogr.OFTReal, 10)],
                    [(np.array([[start, BASELINE_Y], [end, BASELINE_Y]]) + ORIGIN, (dsas_id, group, search))
                     for dsas_id, group, search, start, end in DSAS_BASELINES])
    return {"shorelines": str(shorelines), "baseline": str(baseline)}


def read_lines_by_ogr(path):
    """(coords, attributes) of each feature, read with OGR: nothing of the plugin in between."""
    source = ogr.Open(str(path))
    layer = source.GetLayer(0)
    found = []
    for feature in layer:
        geometry = feature.GetGeometryRef()
        found.append((np.array(geometry.GetPoints())[:, :2], feature.items()))
    return found


def crossing_distances(start, end, line) -> list[float]:
    """Distances from `start` where the segment start-end crosses the polyline: each pair of segments solved."""
    direction = end - start
    found = []
    for a, b in zip(line[:-1], line[1:]):
        matrix = np.column_stack([direction, a - b])
        if abs(np.linalg.det(matrix)) < 1e-12:
            continue
        along, across = np.linalg.solve(matrix, a - start)
        if 0 <= along <= 1 and 0 <= across <= 1:
            found.append(along * float(np.hypot(*direction)))
    return found


def recomputed_statistics(start, end, shorelines) -> dict:
    """DSAS's figures for one transect from (coords, datetime, uncertainty) shorelines, by hand: seaward-most
    crossing (the farthest from an onshore baseline), positions as distances, years of 365.2425 days."""
    series = []
    for coords, when, uncertainty in shorelines:
        distances = crossing_distances(start, end, coords)
        if distances:
            series.append((when, max(distances), uncertainty))
    series.sort()
    when, position, uncertainty = (np.array(values) for values in zip(*series))
    years = np.array([(moment - when[0]).total_seconds() / 86400 / 365.2425 for moment in when])
    span = years[-1] - years[0]
    figures = {"ShrCount": len(series), "SCE": position.max() - position.min(), "NSM": position[-1] - position[0],
               "EPR": (position[-1] - position[0]) / span,
               "EPRunc": math.sqrt(uncertainty[0] ** 2 + uncertainty[-1] ** 2) / span}
    for prefix, weights in (("L", np.ones(len(years))), ("W", 1.0 / uncertainty.astype(float) ** 2)):
        # normal equations of the weighted line, written out
        sw, swx, swy = weights.sum(), weights @ years, weights @ position
        swxx, swxy = weights @ years**2, weights @ (years * position)
        slope = (sw * swxy - swx * swy) / (sw * swxx - swx**2)
        intercept = (swy - slope * swx) / sw
        residuals = position - intercept - slope * years
        weighted_mean = swy / sw
        se = math.sqrt(weights @ residuals**2 / (len(years) - 2))
        figures[f"{prefix}{'RR' if prefix == 'L' else 'LR'}"] = slope
        figures[f"{prefix}R2"] = 1 - (weights @ residuals**2) / (weights @ (position - weighted_mean) ** 2)
        figures[f"{prefix}SE"] = se
        figures[f"{prefix}CI95"] = T_975[len(years) - 2] * se / math.sqrt(swxx - swx**2 / sw)
    return figures


def ends(feature) -> tuple[np.ndarray, np.ndarray]:
    """A transect's start (on the baseline) and end; a Shapefile reads it back as a one-part MultiLineString."""
    vertices = [np.array([vertex.x(), vertex.y()]) for vertex in feature.geometry().vertices()]
    assert len(vertices) == 2
    return vertices[0], vertices[1]


def dsas_shorelines_by_hand(path):
    """The DSAS set as a DSAS user reads it: MM/DD/YYYY (with or without a time), uncertainty in metres."""
    found = []
    for coords, attributes in read_lines_by_ogr(path):
        text = attributes["DSAS_date"]
        when = datetime.strptime(text, "%m/%d/%Y %H:%M:%S" if " " in text else "%m/%d/%Y")
        found.append((coords, when, attributes["DSAS_uncy"]))
    return found


def test_a_dsas_set_runs_as_it_is_and_its_statistics_equal_a_recomputation(provider, dsas_set, tmp_path):
    output = tmp_path / "rates.shp"  # a Shapefile, as DSAS users keep them: DSAS's names fit its 10 characters
    points_path = tmp_path / "intersections.gpkg"
    log = Log()
    result = processing.run(CHANGE, {"LINES": [dsas_set["shorelines"]], "BASELINE": dsas_set["baseline"],
                                     "SEA_SIDE": BASELINE_ON_LAND, "SPACING": 100, "LENGTH": 300,
                                     "DSAS_FIELD_NAMES": True, "OUTPUT_TRANSECTS": str(output),
                                     "OUTPUT_POINTS": str(points_path)}, feedback=log)
    said = "\n".join(log.infos)
    assert "'shorelines': dates from DSAS_date, read as DSAS defines it: MM/DD/YYYY" in said
    assert "'shorelines': uncertainties from DSAS_uncy, in metres" in said
    assert ("DSAS baseline: DSAS_ID orders the baselines and is their baseline_id; DSAS_group puts their transects "
            "in 2 group(s) (1, 2); DSAS_searc sets how far the transects of 1 of 2 baseline(s) reach (240 m)") in said
    assert not log.warnings and result["DATE_COUNT"] == 4

    rates = QgsVectorLayer(str(output), "rates")
    assert rates.isValid() and rates.featureCount() == result["TRANSECT_COUNT"] > 15
    names = [field.name() for field in rates.fields()]
    assert names[:len(DSAS_NAMES)] == DSAS_NAMES
    shorelines = dsas_shorelines_by_hand(dsas_set["shorelines"])
    transects = sorted(rates.getFeatures(), key=lambda feature: feature["TransectID"])
    for feature in transects:
        start, end = ends(feature)
        expected = recomputed_statistics(start, end, shorelines)
        assert expected["ShrCount"] == 4 == feature["ShrCount"]
        for name, value in expected.items():
            assert feature[name] == pytest.approx(value, rel=1e-6, abs=1e-6), (feature["TransectID"], name)
        assert feature["GroupID"] == feature["BaselineID"]  # as the baseline was built
        assert np.hypot(*(end - start)) == pytest.approx(240.0 if feature["BaselineID"] == 1 else 300.0)
        assert start[1] == pytest.approx(ORIGIN[1] + BASELINE_Y) and end[1] < start[1]  # from land towards the sea
    # transects are cast baseline by baseline in DSAS_ID order, whatever the order in the file
    assert [feature["BaselineID"] for feature in transects] == sorted(feature["BaselineID"] for feature in transects)
    assert {feature["GroupID"] for feature in transects} == {1, 2}
    assert any(feature["WR2"] != pytest.approx(feature["LR2"]) for feature in transects)  # the weights matter
    points = QgsVectorLayer(str(points_path), "intersections")
    assert points.fields().lookupField("TransectID") >= 0  # joins to the transects by DSAS's name
    assert points.featureCount() == 4 * len(transects)
    assert {point["uncertainty_m"] for point in points.getFeatures()} == {row[1] for row in DSAS_SHORELINES}


def test_transects_that_mostly_miss_a_second_date_warn_and_the_run_still_succeeds(provider, dsas_set):
    log = Log()
    result = processing.run(CHANGE, {"LINES": [dsas_set["shorelines"]], "BASELINE": dsas_set["baseline"],
                                     "SEA_SIDE": BASELINE_ON_LAND, "SPACING": 100, "LENGTH": 10,
                                     "OUTPUT_TRANSECTS": "memory:"}, feedback=log)
    layer = result["OUTPUT_TRANSECTS"]
    layer = layer if isinstance(layer, QgsVectorLayer) else QgsVectorLayer(layer)
    measured = sum(1 for feature in layer.getFeatures() if feature["n_dates"] >= 2)
    assert measured == 5 and result["TRANSECT_COUNT"] == 22  # baseline 1 reaches 240 m (DSAS_search), 2 only 10 m
    (warning,) = log.warnings
    assert warning.startswith("Only 5 of 22 transects cross lines of two dates or more; the other 17 give no rate.")
    assert "17 are too short" in warning and "beyond LENGTH (10 m); set it to at least" in warning


@pytest.fixture(scope="module")
def coast_utm():
    """A north-south coast near Narrabeen (EPSG:32756, land to the west), five dates 2019-2021 moving seaward
    (east) about 2 m/yr; each line runs south to north, so land is on its left as in a CoastSat run's output."""
    y = np.arange(6265000.0, 6267000.1, 20.0)
    dates = [(datetime(2019, 1, 3, 10, 51, 7), "S2", 0.0), (datetime(2019, 6, 20, 23, 48, 12), "L8", 2.5),
             (datetime(2020, 2, 11, 23, 49, 1), "S2", 1.0), (datetime(2020, 9, 30, 10, 41, 59), "L8", 4.0),
             (datetime(2021, 3, 5, 10, 55, 33), "S2", 5.5)]
    return [(np.column_stack([342000.0 + shift + 15.0 * np.sin(y / 200.0), y]), when, satname)
            for when, satname, shift in dates]


def write_coastsat_geojson(path, coast_utm, date_text) -> None:
    """The GeoJSON CoastSat (SDS_tools.output_to_gdf, then to EPSG:4326) or CoastSeg writes: one line per date with
    date, satname, geoaccuracy and cloud_cover; no crs member (RFC 7946: WGS 84)."""
    utm, wgs84 = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(32756)
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_lonlat = osr.CoordinateTransformation(utm, wgs84)
    features = [{"type": "Feature",
                 "properties": {"date": date_text(when), "satname": satname, "geoaccuracy": "PASSED",
                                "cloud_cover": 0.1},
                 "geometry": {"type": "LineString",
                              "coordinates": [list(point[:2]) for point in to_lonlat.TransformPoints(coords.tolist())]}}
                for coords, when, satname in coast_utm]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


@pytest.mark.parametrize("date_text", [lambda when: f"{when:%Y-%m-%d %H:%M:%S}",  # CoastSat
                                       lambda when: f"{when:%Y-%m-%dT%H:%M:%S}+00:00"],  # CoastSeg, ISO
                         ids=["coastsat", "coastseg"])
def test_coastsat_geojson_in_wgs84_is_measured_in_the_local_utm_zone(provider, coast_utm, tmp_path, date_text):
    geojson = tmp_path / "output_lines.geojson"
    write_coastsat_geojson(geojson, coast_utm, date_text)
    transects_path, points_path = tmp_path / "transects.gpkg", tmp_path / "points.gpkg"
    log = Log()
    result = processing.run(CHANGE, {"LINES": [str(geojson)], "SPACING": 100, "LENGTH": 200,
                                     "OUTPUT_TRANSECTS": str(transects_path), "OUTPUT_POINTS": str(points_path)},
                            feedback=log)
    assert any("geographic CRS (EPSG:4326): every layer is reprojected to the local UTM zone EPSG:32756" in info
               for info in log.infos)
    assert any("has no uncertainty field (uncertainty_m or DSAS_uncy)" in info for info in log.infos)
    assert result["DATE_COUNT"] == 5 and not log.warnings
    transects = QgsVectorLayer(str(transects_path), "transects")
    assert transects.crs().authid() == "EPSG:32756"
    points = list(QgsVectorLayer(str(points_path), "points").getFeatures())
    assert {point["date"] for point in points} == {f"{when:%Y-%m-%dT%H:%M:%S}" for _coords, when, _sat in coast_utm}
    assert {point["source"] for point in points} == {"S2", "L8"}  # which satellite each crossing came from

    shorelines = [(coords, when, 10.0) for coords, when, _satname in coast_utm]  # the default uncertainty
    checked = 0
    for feature in transects.getFeatures():
        if feature["n_dates"] < 5:
            continue  # the ends of the automatic baseline
        # the automatic baseline lies on land: the seaward-most crossing is the farthest, as recomputed; the
        # lines were drawn in UTM, so metres of reprojection there and back are the tolerance
        expected = recomputed_statistics(*ends(feature), shorelines)
        for name, field in (("SCE", "sce_m"), ("NSM", "nsm_m"), ("EPR", "epr_m_yr"), ("EPRunc", "epr_unc_m_yr"),
                            ("LRR", "lrr_m_yr"), ("LR2", "lrr_r2"), ("LCI95", "lrr_ci95"), ("WLR", "wlr_m_yr"),
                            ("WSE", "wlr_se")):
            assert feature[field] == pytest.approx(expected[name], abs=2e-3), (feature["transect_id"], name)
        checked += 1
    assert checked >= 15


def test_a_projected_baseline_sets_the_crs_the_geographic_lines_are_measured_in(provider, coast_utm, tmp_path):
    from sar_coastline.core.io.vectors import Feature, Layer, write_layers

    geojson = tmp_path / "output_lines.geojson"
    write_coastsat_geojson(geojson, coast_utm, lambda when: f"{when:%Y-%m-%d %H:%M:%S}")
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32756)
    baseline = tmp_path / "baseline.gpkg"
    write_layers(baseline, [Layer("baseline", [Feature(np.array([[341800.0, 6265100.0], [341800.0, 6266900.0]]),
                                                       {})])], utm.ExportToWkt())
    log = Log()
    result = processing.run(CHANGE, {"LINES": [str(geojson)], "BASELINE": str(baseline), "SEA_SIDE": BASELINE_ON_LAND,
                                     "SPACING": 200, "LENGTH": 400, "OUTPUT_TRANSECTS": "memory:"}, feedback=log)
    assert any("The layer 'output_lines' is in a geographic CRS (EPSG:4326): it is reprojected to EPSG:32756" in info
               and "the CRS of the baseline" in info for info in log.infos)
    # every line is the first moved east as a whole: each transect (pointing east) measures the shifts themselves
    years = [(when - coast_utm[0][1]).total_seconds() / 86400 / 365.2425 for _coords, when, _satname in coast_utm]
    shifts = [coords[0, 0] - coast_utm[0][0][0, 0] for coords, _when, _satname in coast_utm]
    assert result["TRANSECT_COUNT"] == 10
    assert result["MEDIAN_LRR_M_YR"] == pytest.approx(np.polyfit(years, shifts, 1)[0], abs=1e-3)


def test_text_dates_in_another_order_need_date_format(provider, tmp_path):
    from sar_coastline.core.io.vectors import Feature, Layer, write_layers

    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32633)
    path = tmp_path / "european.gpkg"
    write_layers(path, [Layer("coastline", [Feature(np.array([[0.0, -y], [1000.0, -y]]) + 5e5, {"date": text})
                                            for y, text in ((0, "04/03/2021"), (5, "04/03/2022"), (9, "13/03/2023"))])],
                 utm.ExportToWkt())
    parameters = {"LINES": [str(path)], "SPACING": 250, "OUTPUT_TRANSECTS": "memory:"}
    with pytest.raises(QgsProcessingException, match=r"ambiguous\)\. Or state the order in DATE_FORMAT"):
        processing.run(CHANGE, parameters)
    result = processing.run(CHANGE, {**parameters, "DATE_FORMAT": "%d/%m/%Y"})
    assert result["DATE_COUNT"] == 3
    with pytest.raises(QgsProcessingException, match="DATE_FORMAT 'dd/mm/yyyy' holds no strptime code"):
        processing.run(CHANGE, {**parameters, "DATE_FORMAT": "dd/mm/yyyy"})
