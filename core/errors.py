"""One exception hierarchy for the engine. Messages say what the user should do."""


class CoastlineError(Exception):
    """Base class of every error the engine raises on purpose."""


class InputError(CoastlineError):
    """The input data cannot be used as given."""


class OutputError(CoastlineError):
    """An output cannot be written."""


class Cancelled(CoastlineError):
    """The user cancelled the run; nothing was written."""

    def __init__(self, message: str = "Cancelled by the user; nothing was written."):
        super().__init__(message)
