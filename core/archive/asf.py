"""ASF's archive through asf_search, ASF's maintained client: Sentinel-1 scenes over an area and a date range (it
searches NASA's CMR), and an Earthdata Login session for the downloads. The only module that imports asf_search.

Hosts: asf_search's own (cmr.earthdata.nasa.gov, urs.earthdata.nasa.gov), or others named by the environment
variables SAR_COASTLINE_CMR_HOST and SAR_COASTLINE_EDL_HOST (NASA's test systems cmr.uat.earthdata.nasa.gov and
uat.urs.earthdata.nasa.gov, a mirror, a recorded archive in the tests). Certificates: requests' own, or the file
REQUESTS_CA_BUNDLE names (a proxy that re-signs HTTPS).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlparse

from ..errors import InputError
from ..hooks import RunHooks, as_hooks
from .blocking import call_cancellable, cancellable
from .errors import AccessDenied, ArchiveError, MissingClient

CMR_HOST_ENV = "SAR_COASTLINE_CMR_HOST"
EDL_HOST_ENV = "SAR_COASTLINE_EDL_HOST"
CLIENT_PIN = "asf-search==14.1.0"  # requirements.txt holds the pin; this is for the message when it is missing
ACCOUNT_URL = "https://urs.earthdata.nasa.gov/users/new"


@dataclass(frozen=True)
class Product:
    key: str
    label: str
    dataset: str  # asf_search's dataset and processing levels
    processing_levels: tuple[str, ...]


PRODUCTS = (
    # ASF files dual-polarisation frames as GRD_HD, single-polarisation ones as GRD_HS
    Product("S1_GRD", "Sentinel-1 GRD, high resolution (IW/EW; a zipped SAFE product with every polarisation)",
            "SENTINEL-1", ("GRD_HD", "GRD_HS")),
    Product("OPERA_RTC", "OPERA RTC-S1: terrain-corrected backscatter (one 30 m UTM GeoTIFF per burst)", "OPERA-S1",
            ("RTC",)),
)
ORBIT_DIRECTIONS = ("ASCENDING", "DESCENDING")
POLARISATIONS = ("VV+VH", "HH+HV", "VV", "HH")
CROSS_POL = ("VH", "HV")
BACKSCATTER_TIF = re.compile(r"_(VV|VH|HH|HV)\.tif$", re.IGNORECASE)


@dataclass(frozen=True)
class SceneQuery:
    area_wkt: str  # a (multi)polygon in WGS 84 longitude/latitude
    start: date
    end: date  # included
    product: str = "S1_GRD"
    orbit_direction: str | None = None  # one of ORBIT_DIRECTIONS, None: both
    polarisation: str | None = None  # one of POLARISATIONS, None: any
    max_results: int = 250

    def __post_init__(self):
        if self.product not in {product.key for product in PRODUCTS}:
            raise InputError(f"Unknown product '{self.product}'. Choose one of: "
                             f"{', '.join(product.key for product in PRODUCTS)}.")
        if self.orbit_direction not in (None, *ORBIT_DIRECTIONS):
            raise InputError(f"Unknown orbit direction '{self.orbit_direction}'. Choose "
                             f"{' or '.join(ORBIT_DIRECTIONS)}.")
        if self.polarisation not in (None, *POLARISATIONS):
            raise InputError(f"Unknown polarisation '{self.polarisation}'. Choose one of: {', '.join(POLARISATIONS)}.")
        if self.end < self.start:
            raise InputError(f"The end date {self.end} is before the start date {self.start}. Swap them.")
        if self.max_results < 1:
            raise InputError("The most scenes to list must be at least 1.")


@dataclass(frozen=True)
class Scene:
    """One scene the archive holds, and the one file of it that the plugin downloads."""

    scene_id: str
    product: str  # the archive's processing level: GRD_HD, GRD_HS, RTC
    platform: str
    start_time: str  # UTC, ISO 8601 (2021-11-10T03:20:39Z)
    orbit_direction: str
    relative_orbit: int | None
    absolute_orbit: int | None
    polarisations: str  # VV+VH
    file_name: str
    url: str
    size_bytes: int | None
    md5: str | None
    footprint: tuple[tuple[float, float], ...]  # longitude, latitude ring

    @property
    def date(self) -> str:
        return self.start_time[:10]


@dataclass(frozen=True)
class Endpoints:
    """Where to search and to log in; None: asf_search's own hosts."""

    cmr_host: str | None = None
    edl_host: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Endpoints:
        environ = os.environ if environ is None else environ
        return cls(environ.get(CMR_HOST_ENV) or None, environ.get(EDL_HOST_ENV) or None)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    source: str = "the Earthdata login given"  # where they come from, for messages; never the values


def client():
    """asf_search, or MissingClient saying how to install it."""
    try:
        import asf_search
    except ImportError as error:
        raise MissingClient(
            f"Finding and downloading scenes needs the Python package asf_search ({CLIENT_PIN}), ASF's client, which "
            f"does not import here ({error}). Install it with the plugin's Install dependencies (Setup group, What "
            "to install: Everything), or outside QGIS with `pip install " + CLIENT_PIN + "`.") from None
    # Search errors would be posted to ASF with the search (area included) and no time-out: not from a user's QGIS.
    asf_search.REPORT_ERRORS = False
    return asf_search


def find_scenes(query: SceneQuery, hooks: RunHooks | None = None, endpoints: Endpoints | None = None) -> list[Scene]:
    """The scenes matching the query, oldest first. A search that hits `max_results` says so."""
    import requests

    hooks = as_hooks(hooks)
    asf = client()
    endpoints = endpoints or Endpoints.from_environment()
    product = next(product for product in PRODUCTS if product.key == query.product)
    options = {"dataset": product.dataset, "processingLevel": list(product.processing_levels),
               "intersectsWith": query.area_wkt, "start": f"{query.start.isoformat()}T00:00:00Z",
               "end": f"{query.end.isoformat()}T23:59:59Z", "maxResults": query.max_results}
    if query.orbit_direction:
        options["flightDirection"] = query.orbit_direction
    if query.polarisation and product.key == "S1_GRD":  # OPERA lists its polarisations apart: filtered below
        options["polarization"] = [query.polarisation]
    search_options = asf.ASFSearchOptions(session=asf.ASFSession(),
                                          **({"host": endpoints.cmr_host} if endpoints.cmr_host else {}))
    host = search_options.host
    hooks.log(f"Searching {host} for {product.label}, {query.start} to {query.end}"
              + (f", {query.orbit_direction.lower()} orbits" if query.orbit_direction else "")
              + (f", {query.polarisation}" if query.polarisation else "") + ".")
    scenes, listed = [], 0
    try:
        pages = asf.search_generator(opts=search_options, **options)
        for page in cancellable(pages, hooks.cancel, "Search cancelled; nothing was written."):
            for found in page:
                listed += 1
                scene = _scene(found, query.polarisation)
                if scene is not None:
                    scenes.append(scene)
            hooks.log(f"{listed} scene(s) listed so far.")
    except asf.ASFSearch4xxError as error:
        raise ArchiveError(f"The archive ({host}) refused the search: {error}. Check the area and the dates.") from None
    except asf.ASFSearchError as error:
        raise ArchiveError(f"The archive's search ({host}) failed: {error}. Try again later.") from None
    except asf.ASFWKTError as error:
        raise InputError(f"The area cannot be searched: {error}. Give a polygon.") from None
    except requests.RequestException as error:
        raise ArchiveError(f"Cannot reach the archive's search ({host}): {error}. Check the internet connection; "
                           "behind a proxy, set HTTPS_PROXY before QGIS starts.") from None
    if listed >= query.max_results:
        hooks.warning(f"The search stopped at {query.max_results} scenes, the most asked for: there may be more. "
                      "Narrow the area or the dates, or raise the number of scenes to list.")
    if listed > len(scenes):
        hooks.log(f"{listed - len(scenes)} scene(s) left out: not {query.polarisation} or without a backscatter file.")
    return sorted(scenes, key=lambda scene: (scene.start_time, scene.scene_id))


def _scene(found, polarisation: str | None) -> Scene | None:
    """A Scene from asf_search's product (its documented `properties`, `umm` and `geometry`), or None when it
    does not have the polarisations asked for."""
    properties = found.properties
    listed = properties.get("polarization") or ""
    polarisations = "+".join(listed) if isinstance(listed, list) else str(listed)
    if polarisation and polarisations != polarisation:
        return None
    if properties.get("processingLevel") == "RTC":
        chosen = _backscatter_file(found, polarisations)
        if chosen is None:
            return None
        url, size, md5 = chosen
    else:
        url, size, md5 = properties["url"], properties.get("bytes"), properties.get("md5sum")
    ring = (found.geometry or {}).get("coordinates") or [[]]
    return Scene(
        scene_id=properties.get("sceneName") or properties["fileID"], product=properties.get("processingLevel") or "",
        platform=properties.get("platform") or "", start_time=properties.get("startTime") or "",
        orbit_direction=properties.get("flightDirection") or "", relative_orbit=properties.get("pathNumber"),
        absolute_orbit=properties.get("orbit"), polarisations=polarisations, file_name=url.rsplit("/", 1)[-1],
        url=url, size_bytes=int(size) if size is not None else None, md5=md5 or None,
        footprint=tuple((float(lon), float(lat)) for lon, lat in ring[0]))


def _backscatter_file(found, polarisations: str) -> tuple[str, int | None, str | None] | None:
    """OPERA RTC-S1: the GeoTIFF of one polarisation, with the size and MD5 its UMM-G record gives: the cross-pol
    one where there is one (it separates water from land better), else the product's own."""
    urls = {BACKSCATTER_TIF.search(url).group(1).upper(): url for url in found.find_urls(extension=".tif")
            if BACKSCATTER_TIF.search(url)}
    if not urls:
        return None
    url = next((urls[pol] for pol in (*CROSS_POL, *polarisations.split("+")) if pol in urls),
               next(iter(urls.values())))
    name = url.rsplit("/", 1)[-1]
    for entry in (found.umm.get("DataGranule") or {}).get("ArchiveAndDistributionInformation") or []:
        if entry.get("Name") == name:
            checksum = entry.get("Checksum") or {}
            md5 = checksum.get("Value") if str(checksum.get("Algorithm", "")).upper() == "MD5" else None
            return url, entry.get("SizeInBytes"), md5
    return url, None, None


def open_session(credentials: Credentials | None, hooks: RunHooks | None = None, endpoints: Endpoints | None = None):
    """asf_search's session (a requests.Session), logged in to Earthdata Login when credentials are given: it then
    carries a bearer token to ASF's and Earthdata's hosts only, neither to the file stores they redirect to nor to
    any other host a footprint layer's URLs may name."""
    import requests

    hooks = as_hooks(hooks)
    asf = client()
    from asf_search.download.download import strip_auth_if_aws

    endpoints = endpoints or Endpoints.from_environment()
    session = asf.ASFSession(**({"edl_host": endpoints.edl_host} if endpoints.edl_host else {}))
    session.hooks["response"].append(strip_auth_if_aws)  # as asf_search's own downloads do
    if credentials is None:
        return session
    hooks.log(f"Logging in to Earthdata Login ({session.edl_host}) with {credentials.source}.")
    try:
        call_cancellable(lambda: session.auth_with_creds(credentials.username, credentials.password), hooks.cancel,
                         "Cancelled while logging in; nothing was downloaded.")
    except asf.ASFAuthenticationError as error:
        message = (f"Earthdata Login ({session.edl_host}) refused the user name and password of {credentials.source} "
                   f"({error}). Check them there (no account yet: {ACCOUNT_URL}).")
        raise AccessDenied(message) from None
    except requests.RequestException as error:
        raise ArchiveError(f"Cannot reach Earthdata Login ({session.edl_host}): {error}. Check the internet "
                           "connection; behind a proxy, set HTTPS_PROXY before QGIS starts.") from None
    # asf_search puts the token on every request the session makes; here it goes to the hosts that take it only
    trusted = (*session.auth_domains, urlparse(f"https://{session.edl_host}").hostname)
    session.auth = _token_for(trusted, session.headers.pop("Authorization"))
    return session


def _token_for(hosts: tuple[str, ...], authorization: str):
    """A requests auth callable: the Authorization header for these hosts and their sub-domains only."""

    def add(request):
        host = urlparse(request.url).hostname or ""
        if any(host == trusted or host.endswith(f".{trusted}") for trusted in hosts):
            request.headers["Authorization"] = authorization
        return request

    return add
