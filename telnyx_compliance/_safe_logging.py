"""Log lines that quote a CSV cell or an API answer, with no control character in them.

A log line is read in a terminal, a file or Prefect's UI: a cell holding a line break must not forge a second
line, and one holding an escape sequence (``ESC[2J``, an OSC 8 link) must not drive the operator's terminal.
:class:`ControlCharacterFilter` rewrites each record it sees as its formatted message with every control
character escaped (:func:`~telnyx_compliance._text.escape_controls`), exception text included.

A filter on a logger sees only the records logged on that logger, not on its children, so
:func:`library_logger` hands every library module its logger with the filter on, :func:`protect_loggers` adds
it to a logger and to every logger under it created so far (``tasks/_client.py`` does it for Prefect's run
loggers, :data:`RUN_LOGGERS`), and the command line's terminal handler carries one as well.
"""

from __future__ import annotations

import logging
import traceback
from typing import Final

from telnyx_compliance._text import escape_controls

__all__ = ["LIBRARY_LOGGER", "RUN_LOGGERS", "ControlCharacterFilter", "library_logger", "protect_loggers"]

#: The library's loggers are this one and those under it.
LIBRARY_LOGGER: Final = "telnyx_compliance"
#: The loggers behind Prefect's ``get_run_logger()`` (flow runs and task runs).
RUN_LOGGERS: Final = ("prefect.flow_runs", "prefect.task_runs")
#: Lines of a traceback the filter leaves as they are: they come from the code, not from data.
_TRUSTED_CHUNKS: Final = (
    "Traceback (most recent call last):\n",
    "\nThe above exception was the direct cause of the following exception:\n\n",
    "\nDuring handling of the above exception, another exception occurred:\n\n",
)
_DONE: Final = "_controls_escaped"


def _safe_traceback(exc_info: tuple[type[BaseException], BaseException, object]) -> str:
    """A traceback as the logging module formats it, with the exceptions' messages (which may quote data)
    escaped: each message on the line it starts, never a line of its own."""
    kind, error, _ = exc_info
    chunks: list[str] = []
    for chunk in traceback.TracebackException(kind, error, error.__traceback__).format():
        if chunk in _TRUSTED_CHUNKS or chunk.startswith(('  File "', "  [Previous line repeated")):
            chunks.append(chunk)
        else:  # an exception's "Type: message" (or a note): one line whatever it holds
            chunks.append(escape_controls(chunk.removesuffix("\n")) + "\n")
    return "".join(chunks).removesuffix("\n")


class ControlCharacterFilter(logging.Filter):
    """Rewrites a record as its formatted message with control characters escaped (``record.args``
    applied and dropped) and its exception text made the same way; lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _DONE, False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it as it always does
            return True
        record.msg, record.args = escape_controls(message), ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = _safe_traceback(record.exc_info)
        elif record.exc_text:  # formatted by someone before: at least no control character but line ends
            record.exc_text = "\n".join(escape_controls(line) for line in record.exc_text.split("\n"))
        setattr(record, _DONE, True)
        return True


_FILTER = ControlCharacterFilter()


def library_logger(name: str = LIBRARY_LOGGER) -> logging.Logger:
    """The library's logger ``name`` (under :data:`LIBRARY_LOGGER`), with the filter: every library module
    gets its logger here, so no record of the library's leaves with a control character in it."""
    logger = logging.getLogger(name)
    if not any(isinstance(existing, ControlCharacterFilter) for existing in logger.filters):
        logger.addFilter(_FILTER)
    return logger


def protect_loggers(*names: str) -> None:
    """Add the filter to each logger named and every logger under it created so far (again: no change)."""
    manager = logging.Logger.manager
    for name in names:
        loggers = [logging.getLogger(name)]
        loggers += [
            logger
            for child, logger in list(manager.loggerDict.items())
            if child.startswith(name + ".") and isinstance(logger, logging.Logger)
        ]
        for logger in loggers:
            if not any(isinstance(existing, ControlCharacterFilter) for existing in logger.filters):
                logger.addFilter(_FILTER)
