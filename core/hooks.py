"""RunHooks: progress, cancel and log in one public object, so core, training and batch runners never see QGIS.

The Processing adapter builds one from a QgsProcessingFeedback, the command lines from print, tests from
plain callables. Notes (what was decided, for the user) are kept on the run's hooks, not on shared objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import Cancelled


def _ignore(*_args) -> None:
    return None


@dataclass
class RunHooks:
    progress: Callable[[float], None] = _ignore  # percent, 0..100
    cancel: Callable[[], bool] = lambda: False
    log: Callable[[str], None] = _ignore
    warn: Callable[[str], None] | None = None  # where warnings go; None: the log, prefixed "Warning: "
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # what the run measured (tiles with data, threshold, ...)

    def check_cancel(self) -> None:
        """Raise Cancelled when the user asked to stop."""
        if self.cancel():
            raise Cancelled()

    def note(self, message: str) -> None:
        """Log a message and keep it for the result."""
        self.notes.append(message)
        self.log(message)

    def warning(self, message: str) -> None:
        """Something the user must know (a likely wrong result); kept for the result."""
        self.warnings.append(message)
        if self.warn is not None:
            self.warn(message)
        else:
            self.log(f"Warning: {message}")

    def span(self, start: float, end: float) -> RunHooks:
        """Hooks whose progress 0..100 maps onto start..end of this run's; cancel, log and notes are shared."""
        return RunHooks(lambda percent: self.progress(start + (end - start) * percent / 100.0), self.cancel,
                        self.log, self.warn, self.notes, self.warnings, self.figures)


def as_hooks(hooks: RunHooks | None) -> RunHooks:
    return hooks if hooks is not None else RunHooks()
