"""A recorded ASF archive on 127.0.0.1 for the scene search and download tests (importable as `archive_server`).

One HTTPS server (asf_search always calls https://<host>) plays the three services the plugin talks to:
- NASA's CMR granule search (`POST /search/granules.umm_json`), answering with UMM-G records built to the schema
  CMR documents and asf_search reads (a Sentinel-1 GRD frame: AdditionalAttributes BYTES, MD5SUM, POLARIZATION,
  ASCENDING_DESCENDING ...; an OPERA RTC-S1 burst: one GeoTIFF per polarisation, sizes and MD5 checksums in
  DataGranule.ArchiveAndDistributionInformation), as in asf_search's own recorded test responses;
- Earthdata Login (`POST /api/users/find_or_create_token` with HTTP Basic credentials, `GET /oauth/authorize`
  setting the asf-urs cookie);
- ASF's data pool (`GET /files/<name>`): HTTP Range, a bearer token when a file is protected, and faults on
  demand: a connection cut after some bytes, a stall, damaged bytes.

Point the plugin at it with the environment: SAR_COASTLINE_CMR_HOST, SAR_COASTLINE_EDL_HOST and
REQUESTS_CA_BUNDLE (the server's self-signed certificate, made with openssl).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

USERNAME, PASSWORD, TOKEN = "coast-user", "tide-and-time", "earthdata-token-1"
OPERA_COLLECTION = "OPERA_L2_RTC-S1_V1"


@dataclass
class Served:
    """A file of the data pool and how it misbehaves."""

    content: bytes
    protected: bool = False  # needs the bearer token
    cut_after: int | None = None  # the first answer breaks off after this many bytes
    stall_after: int | None = None  # every answer stops sending after this many bytes (until the server stops)
    damaged: bool = False  # one byte differs from the checksum the record gives
    ranges: bool = True  # honours Range (False: always the whole file, as some servers do)

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content).hexdigest()


@dataclass
class ArchiveState:
    granules: list = field(default_factory=list)  # UMM-G items CMR returns
    files: dict = field(default_factory=dict)  # name -> Served
    searches: list = field(default_factory=list)  # each search's form fields, [(key, value)]
    file_requests: list = field(default_factory=list)  # (name, Range header or None, Authorization or None)
    logins: list = field(default_factory=list)  # user names that asked for a token
    search_error: tuple | None = None  # (HTTP status, CMR's errors) to answer searches with
    search_delay: float = 0.0  # seconds before a search is answered
    released: threading.Event = field(default_factory=threading.Event)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: ArchiveState

    def log_message(self, *args):  # quiet tests
        return

    def do_POST(self):  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.path.startswith("/search/granules.umm_json"):
            form = parse_qsl(body)
            self.state.searches.append(form)
            self.state.released.wait(self.state.search_delay)
            if self.state.search_error is not None:
                status, errors = self.state.search_error
                self._json(status, {"errors": errors})
                return
            wanted = {value for key, value in form if key == "shortName"}
            items = [item for item in self.state.granules if item["umm"]["CollectionReference"]["ShortName"] in wanted]
            self._json(200, {"hits": len(items), "took": 5, "items": items})
        elif self.path.startswith("/api/users/find_or_create_token"):
            user, _, password = base64.b64decode(self.headers.get("Authorization", "Basic ")[6:]).decode().partition(
                ":")
            self.state.logins.append(user)
            if (user, password) != (USERNAME, PASSWORD):
                self._json(401, {"error": "invalid_credentials", "error_description": "Invalid user credentials"})
            else:
                self._json(200, {"access_token": TOKEN, "token_type": "Bearer", "expiration_date": "1/1/2099"})
        else:
            self._json(404, {"errors": [f"no such path {self.path}"]})

    def do_GET(self):  # noqa: N802 (http.server API)
        if self.path.startswith("/oauth/authorize"):
            self.send_response(200)
            self.send_header("Set-Cookie", "asf-urs=session-cookie; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        name = self.path.rsplit("/", 1)[-1]
        served = self.state.files.get(name)
        self.state.file_requests.append((name, self.headers.get("Range"), self.headers.get("Authorization")))
        if served is None:
            self._json(404, {"errors": ["not found"]})
            return
        if served.protected and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._json(401, {"errors": ["Unauthorized: log in with Earthdata Login"]})
            return
        content = served.content if not served.damaged else bytes([served.content[0] ^ 0xFF]) + served.content[1:]
        start = 0
        if self.headers.get("Range") and served.ranges:
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
            if start >= len(content):
                self._json(416, {"errors": ["range not satisfiable"]})
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
        else:
            self.send_response(200)
        body = content[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        limit = len(body)
        if served.cut_after is not None and start == 0:
            limit = min(limit, served.cut_after)
        if served.stall_after is not None:
            limit = min(limit, max(served.stall_after - start, 0))
        self.wfile.write(body[:limit])
        self.wfile.flush()
        if limit < len(body):
            if served.stall_after is not None:
                self.state.released.wait(30)
            self.close_connection = True

    def _json(self, status: int, payload) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (openssl comes with Debian's
    ca-certificates)."""
    certificate, key = Path(folder) / "archive-cert.pem", Path(folder) / "archive-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key),
                    "-out", str(certificate)], check=True, capture_output=True)
    return certificate, key


class FakeArchive:
    """The server, running in a thread; `environment` points the plugin (and qgis_process) at it."""

    def __init__(self, certificate: tuple[Path, Path]):
        self.state = ArchiveState()
        self.certificate, key = certificate
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def environment(self) -> dict:
        return {"SAR_COASTLINE_CMR_HOST": self.host, "SAR_COASTLINE_EDL_HOST": self.host,
                "REQUESTS_CA_BUNDLE": str(self.certificate)}

    def url(self, name: str) -> str:
        return f"https://{self.host}/files/{name}"

    def serve(self, name: str, content: bytes, **faults) -> Served:
        self.state.files[name] = Served(content, **faults)
        return self.state.files[name]

    def close(self) -> None:
        self.state.released.set()
        self.server.shutdown()
        self.server.server_close()


def ring(lon: float, lat: float, width: float = 0.4, height: float = 0.3) -> list[dict]:
    """A footprint's corners as UMM-G GPolygon points, counter-clockwise, closed."""
    corners = [(lon, lat), (lon + width, lat), (lon + width, lat + height), (lon, lat + height), (lon, lat)]
    return [{"Longitude": x, "Latitude": y} for x, y in corners]


def grd_granule(archive: FakeArchive, name: str, content: bytes, start: str, direction: str = "ASCENDING",
                polarisation: str = "VV+VH", path: int = 94, orbit: int = 29520, lon: float = 14.0,
                lat: float = 55.0) -> dict:
    """A Sentinel-1 GRD frame's UMM-G item (as CMR returns it to asf_search), its zip served by the archive: GRD_HD
    when dual-polarisation, GRD_HS when single, each in its collection as at ASF."""
    archive.serve(f"{name}.zip", content)
    level, collection = (("GRD_HD", "SENTINEL-1A_DP_GRD_HIGH") if "+" in polarisation
                         else ("GRD_HS", "SENTINEL-1A_SP_GRD_HIGH"))
    attributes = {"ASCENDING_DESCENDING": direction, "ASF_PLATFORM": "Sentinel-1A", "BEAM_MODE": "IW",
                  "BEAM_MODE_TYPE": "IW", "BYTES": str(len(content)), "CENTER_LAT": str(lat + 0.15),
                  "CENTER_LON": str(lon + 0.2), "FRAME_NUMBER": "210", "GROUP_ID": f"S1A_IWDV_0210_0215_{orbit:06d}",
                  "MD5SUM": hashlib.md5(content).hexdigest(), "PATH_NUMBER": str(path), "POLARIZATION": polarisation,
                  "PROCESSING_TYPE": level, "PROCESSING_LEVEL": "L1"}
    return {
        "meta": {"concept-type": "granule", "concept-id": f"G{abs(hash(name)) % 10**10}-ASF", "revision-id": 1,
                 "native-id": f"{name}-{level}", "provider-id": "ASF", "format": "application/echo10+xml",
                 "revision-date": "2021-11-10T08:57:13.428Z"},
        "umm": {
            "TemporalExtent": {"RangeDateTime": {"BeginningDateTime": start, "EndingDateTime": start}},
            "OrbitCalculatedSpatialDomains": [{"OrbitNumber": orbit}],
            "GranuleUR": f"{name}-{level}",
            "AdditionalAttributes": [{"Name": key, "Values": [value]} for key, value in attributes.items()],
            "SpatialExtent": {"HorizontalSpatialDomain": {"Geometry": {"GPolygons": [
                {"Boundary": {"Points": ring(lon, lat)}}]}}},
            "CollectionReference": {"ShortName": collection, "Version": "1"},
            "RelatedUrls": [{"Format": "Not provided", "Type": "GET DATA", "URL": archive.url(f"{name}.zip"),
                             "Description": "This link provides direct download access to the granule."}],
            "DataGranule": {"DayNightFlag": "Unspecified", "ProductionDateTime": start,
                            "Identifiers": [{"Identifier": name, "IdentifierType": "ProducerGranuleId"}],
                            "ArchiveAndDistributionInformation": [{"Name": "Not provided",
                                                                   "Size": len(content) / 2**20, "SizeUnit": "MB",
                                                                   "Format": "Not provided"}]},
            "Platforms": [{"ShortName": "SENTINEL-1A", "Instruments": [{"ShortName": "C-SAR"}]}],
        },
    }


def opera_granule(archive: FakeArchive, name: str, contents: dict[str, bytes], start: str,
                  direction: str = "DESCENDING", lon: float = 14.0, lat: float = 55.0, **faults) -> dict:
    """An OPERA RTC-S1 burst's UMM-G item: one GeoTIFF per polarisation (`contents`: VV, VH ...) and a mask."""
    files = {f"{name}_{pol}.tif": content for pol, content in contents.items()}
    files[f"{name}_mask.tif"] = b"mask"
    for file_name, content in files.items():
        archive.serve(file_name, content, **faults)
    polarisations = list(contents)
    attributes = {"ASCENDING_DESCENDING": [direction], "BEAM_MODE": ["IW"], "OPERA_BURST_ID": ["T131_279916_IW1"],
                  "PATH_NUMBER": ["131"], "POLARIZATION": polarisations, "PROCESSING_TYPE": ["RTC"],
                  "PRODUCT_VERSION": ["1.0"], "SUBSWATH_NAME": ["IW1"]}
    # GET DATA links as CMR lists them: the cross-pol GeoTIFF first (asf_search's `url`), then the rest
    ordered = sorted(files, key=lambda file_name: (not file_name.endswith(("_VH.tif", "_HV.tif")), file_name))
    return {
        "meta": {"concept-type": "granule", "concept-id": f"G{abs(hash(name)) % 10**10}-ASF",
                 "collection-concept-id": "C2777436413-ASF", "revision-id": 1, "native-id": name, "provider-id": "ASF",
                 "format": "application/vnd.nasa.cmr.umm+json", "revision-date": "2023-12-03T00:11:28.576Z"},
        "umm": {
            "TemporalExtent": {"RangeDateTime": {"BeginningDateTime": start, "EndingDateTime": start}},
            "OrbitCalculatedSpatialDomains": [{"OrbitNumber": 51478}],
            "GranuleUR": name,
            "AdditionalAttributes": [{"Name": key, "Values": values} for key, values in attributes.items()],
            "SpatialExtent": {"HorizontalSpatialDomain": {"Geometry": {"GPolygons": [
                {"Boundary": {"Points": ring(lon, lat, 0.2, 0.1)}}]}}},
            "CollectionReference": {"ShortName": OPERA_COLLECTION, "Version": "1"},
            "RelatedUrls": [{"URL": archive.url(file_name), "Type": "GET DATA", "Format": "GeoTIFF",
                             "Description": f"Download {file_name}"} for file_name in ordered],
            "DataGranule": {
                "ArchiveAndDistributionInformation": [
                    {"Name": file_name, "SizeInBytes": len(content), "Format": "GeoTIFF",
                     "Checksum": {"Value": hashlib.md5(content).hexdigest(), "Algorithm": "MD5"}}
                    for file_name, content in files.items()],
                "DayNightFlag": "Unspecified", "ProductionDateTime": start,
                "Identifiers": [{"Identifier": name, "IdentifierType": "ProducerGranuleId"}]},
            "Platforms": [{"ShortName": "Sentinel-1A", "Instruments": [{"ShortName": "C-SAR"}]}],
        },
    }


def wait_for(predicate, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


DUAL = "S1A_IW_GRDH_1SDV_20210310T032039_20210310T032104_036990_045A2B_60DB"
SINGLE = "S1A_IW_GRDH_1SSV_20210322T054012_20210322T054037_037165_046031_1A2B"


def archive_of_two_frames(certificate: tuple[Path, Path], monkeypatch, dual_bytes: int,
                          single_bytes: int) -> FakeArchive:
    """A running archive holding two GRD frames of March 2021 (DUAL ascending VV+VH, SINGLE descending VV), the
    plugin pointed at it; the caller closes it."""
    archive = FakeArchive(certificate)
    for key, value in archive.environment.items():
        monkeypatch.setenv(key, value)
    archive.state.granules += [
        grd_granule(archive, DUAL, os.urandom(dual_bytes), "2021-03-10T03:20:39.000Z", "ASCENDING", "VV+VH", 94,
                    36990),
        grd_granule(archive, SINGLE, os.urandom(single_bytes), "2021-03-22T05:40:12.000Z", "DESCENDING", "VV", 66,
                    37165)]
    return archive

