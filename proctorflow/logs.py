"""Plain logs, one line per event. Secrets and personal data are never passed to a logger."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class DropQueryStrings(logging.Filter):
    """Access logs keep the path, never the query string: it may carry a learner's e-mail."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            args = list(record.args)
            args[2] = args[2].split("?", 1)[0]
            record.args = tuple(args)
        return True


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=FORMAT, datefmt="%H:%M:%S", stream=sys.stderr)
    # httpx logs every request URL at INFO: noise next to uvicorn's access log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Alembic lists every plugin it loads; the migrations it runs stay at INFO.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").addFilter(DropQueryStrings())
