"""Download SAR scenes (coastline:downloadscenes): the scenes of a footprint layer (or its selection) into a folder
that Extract coastlines (batch) reads as it is. A thin adapter over core.archive; the Earthdata login comes from
QGIS's authentication database, never from a parameter in plain text."""

import os
from urllib.parse import urlparse

from qgis.core import (
    NULL,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterAuthConfig,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFolderDestination,
)

from ..core.archive.asf import ACCOUNT_URL, Credentials, open_session
from ..core.archive.download import RemoteFile, download_files
from .feedback import errors_reported_once, feedback_hooks, run_core
from .parameters import add_parameter

ASF_TERMS_URL = "https://search.asf.alaska.edu"
LOGIN_NEEDED = (f"It needs an Earthdata login: store your Earthdata user name and password (no account yet: "
                f"{ACCOUNT_URL}) in a QGIS authentication config of type Basic (Settings > Options > Authentication, "
                "or the key button beside Earthdata login) and give its id as AUTHCFG.")


def unknown_auth_config(authcfg: str) -> str | None:
    """What is wrong with an auth config id that this profile does not hold; None when it holds it."""
    if authcfg in QgsApplication.authManager().configIds():
        return None
    return (f"There is no authentication config '{authcfg}' in this QGIS profile. Create one of type Basic with your "
            "Earthdata user name and password (Settings > Options > Authentication) and give its id as AUTHCFG.")


def earthdata_credentials(authcfg: str) -> Credentials:
    """The user name and password of a Basic auth config. Call it on the main thread: QGIS may ask for its master
    password."""
    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig()
    if not manager.loadAuthenticationConfig(authcfg, config, True):
        raise QgsProcessingException(f"Cannot read the authentication config '{authcfg}': QGIS's master password is "
                                     "not set or is wrong. In QGIS, enter it when asked; with qgis_process, set "
                                     "QGIS_AUTH_PASSWORD_FILE to a file holding it.")
    username, password = config.config("username"), config.config("password")
    if config.method() != "Basic" or not username or not password:
        raise QgsProcessingException(f"The authentication config '{authcfg}' is not a Basic one with a user name and "
                                     "password. Earthdata Login needs those: make a Basic config.")
    return Credentials(username, password, f"the authentication config '{authcfg}'")


class DownloadScenesAlgorithm(QgsProcessingAlgorithm):
    INPUT = "INPUT"
    FOLDER = "FOLDER"
    AUTHCFG = "AUTHCFG"

    def __init__(self):
        super().__init__()
        self.credentials = None  # read on the main thread in prepareAlgorithm, used by processAlgorithm

    def name(self):
        return "downloadscenes"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Download SAR scenes"

    def group(self):
        return "Scenes"

    def groupId(self):  # noqa: N802 (QGIS API)
        return "scenes"

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return (
            "Downloads the scenes of a footprint layer made by <i>Find SAR scenes</i> (tick <i>Selected features "
            "only</i> for your selection) into a folder, which <i>Extract coastlines (batch)</i> then reads as it "
            "is (its Folder of scenes).<br><br>"
            "A download that was cut or cancelled resumes where it stopped (the part is kept as "
            "<i>&lt;name&gt;.part</i>); a file takes its name only once its size and MD5 checksum match what the "
            "archive lists, and a file that does not match is deleted and reported; a scene already in the folder "
            "is skipped (checked by size).<br>"
            "<b>Earthdata login</b>: ASF's files need a free NASA Earthdata account. Store its user name and "
            "password in a QGIS authentication config of type Basic and choose it here (qgis_process: "
            "--AUTHCFG=&lt;its id&gt;, with QGIS_AUTH_PASSWORD_FILE holding the master password). They never "
            "appear in the project or the log.<br>"
            "It needs the Python package asf_search: <i>Setup > Install dependencies</i> (Everything) installs it.")

    def createInstance(self):  # noqa: N802 (QGIS API)
        return DownloadScenesAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        add_parameter(self, QgsProcessingParameterFeatureSource(self.INPUT, "Scene footprints (from Find SAR scenes)",
                                                                [QgsProcessing.TypeVector]),
                      "A layer with a url field (and file_name, size_bytes, md5), one feature per scene to fetch.")
        add_parameter(self, QgsProcessingParameterFolderDestination(self.FOLDER, "Scene folder"),
                      "Where the scenes go; give the same folder again to resume or to add scenes.")
        add_parameter(self, QgsProcessingParameterAuthConfig(self.AUTHCFG, "Earthdata login", optional=True),
                      "An authentication config of type Basic with your Earthdata user name and password.")
        for name, label in (("DOWNLOADED", "Scenes downloaded"), ("SKIPPED", "Scenes there already")):
            self.addOutput(QgsProcessingOutputNumber(name, label))

    def checkParameterValues(self, parameters, context):  # noqa: N802 (QGIS API)
        authcfg = self.parameterAsString(parameters, self.AUTHCFG, context).strip()
        problem = unknown_auth_config(authcfg) if authcfg else None
        if problem:
            return False, problem
        return super().checkParameterValues(parameters, context)

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API; runs on the main thread)
        authcfg = self.parameterAsString(parameters, self.AUTHCFG, context).strip()
        self.credentials = earthdata_credentials(authcfg) if authcfg else None
        return True

    @errors_reported_once
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        names = source.fields().names()
        if "url" not in names:
            raise QgsProcessingException("The layer has no url field. Give the footprint layer Find SAR scenes wrote "
                                         "(or one with url, and optionally file_name, size_bytes and md5).")

        def value(feature, name):
            found = feature[name] if name in names else None
            return None if found is None or found == NULL or found == "" else found

        files = []
        for feature in source.getFeatures():
            url = value(feature, "url")
            if url:
                name = value(feature, "file_name") or os.path.basename(urlparse(str(url)).path)
                size = value(feature, "size_bytes")
                files.append(RemoteFile(str(url), str(name), int(size) if size is not None else None,
                                        value(feature, "md5")))
        if not files:
            raise QgsProcessingException("No scene to download: the layer (or its selection) has no feature with a "
                                         "url.")
        folder = self.parameterAsString(parameters, self.FOLDER, context)
        hooks = feedback_hooks(feedback)
        refused_hint = LOGIN_NEEDED if self.credentials is None else (
            f"Check the user name and password in {self.credentials.source} (Settings > Options > Authentication); "
            f"a new Earthdata account must also sign in once at {ASF_TERMS_URL} to accept ASF's terms.")
        session = run_core(lambda: open_session(self.credentials, hooks))
        self.credentials = None  # the session holds the token now
        result = run_core(lambda: download_files(files, folder, session, hooks, refused_hint))
        if result.failed:
            raise QgsProcessingException(
                f"{len(result.failed)} of {len(files)} scene(s) did not download: " + " ".join(result.failed)
                + f" The others are in {folder}; run again to retry: scenes there are skipped and cut ones resume.")
        feedback.pushInfo(f"{len(result.downloaded)} scene(s) downloaded, {len(result.skipped)} there already, in "
                          f"{folder}. Next: Extract coastlines (batch) with this folder as its Folder of scenes.")
        return {self.FOLDER: folder, "DOWNLOADED": len(result.downloaded), "SKIPPED": len(result.skipped)}
