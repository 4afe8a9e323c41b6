"""What goes wrong between the plugin and an archive; each message says what to do."""

from ..errors import CoastlineError


class ArchiveError(CoastlineError):
    """The archive could not be searched or a file could not be fetched."""


class AccessDenied(ArchiveError):
    """The archive or Earthdata Login refused the credentials, or asked for some (HTTP 401/403)."""


class MissingClient(ArchiveError):
    """asf_search, the archive's client library, is not installed."""
