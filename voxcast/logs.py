"""Log output of every voxcast process: plain lines by default, or one JSON object per line
(`VOXCAST_LOG_FORMAT=json`) for journald / a log shipper. The stdlib's logging with a
formatter of our own (docs/decisions.md says why no library)."""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# LogRecord's own attributes: anything else on a record came from `extra=` and is kept.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "msg", "service", "pid"} plus `exc` (the traceback) and the
    record's `extra=` fields; values JSON cannot hold are written as their str()."""

    def __init__(self, service: str = ""):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc)
                  .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "service": self.service,
            "pid": record.process or os.getpid(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        return json.dumps(out, default=str, ensure_ascii=False)


def setup(verbose: bool = False, fmt: str = "text", service: str = "") -> None:
    """The root logger's one handler (standard error: journald under systemd); left as it is
    when the root logger has handlers already (pytest's, in tests)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"VOXCAST_LOG_FORMAT must be text or json, not {fmt!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service) if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
