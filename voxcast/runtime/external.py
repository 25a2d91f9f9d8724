"""Running external programs (espeak-ng, sox, asterisk, and later Ghostscript, tiff tools...)
one safe way, so a tenant's text or file name can never become an option of the program.

- Text goes on standard input (`input_text`), never on the command line; stdin is closed
  (DEVNULL) otherwise, so a tool can never block on or read the server's own stdin.
- Files are given as `pathlib.Path` and always passed absolute: an absolute path starts with
  '/', so it is never read as an option.
- Any other value that comes from a user is wrapped in `Untrusted`; it is refused when it
  starts with '-' (or holds a NUL or a line break).
- Plain `str` items are our own constants (program names, flags) and are passed as is.
- Every call has a timeout; no shell is ever involved.
"""
from __future__ import annotations

import logging
import os
import subprocess
from pathlib import PurePath
from typing import Sequence, Union

log = logging.getLogger("voxcast.external")

DEFAULT_TIMEOUT = 120.0


class ToolError(RuntimeError):
    """An external program could not be run as asked (missing, timed out, refused argument);
    the message is fit to show a user."""


class Untrusted(str):
    """A value that came from a user; `run_tool` refuses it when it could be read as an
    option."""


Arg = Union[str, PurePath, Untrusted]


def _argv_item(item: Arg) -> str:
    if isinstance(item, PurePath):
        return os.path.abspath(os.fspath(item))
    if isinstance(item, Untrusted):
        if item.startswith("-") or "\0" in item or "\n" in item or "\r" in item:
            raise ToolError(f"refused argument {str(item)[:40]!r}: it could be read as an option")
        return str(item)
    if isinstance(item, str):
        return item
    raise TypeError(f"argument {item!r} must be str, Path or Untrusted")


def run_tool(args: Sequence[Arg], *, input_text: str | None = None,
             timeout: float | None = DEFAULT_TIMEOUT, capture: bool = True,
             check: bool = False, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess:
    """Run one program and wait for it; text output (stdout, stderr) is captured unless
    `capture` is False (long provisioning steps whose progress the operator watches).
    `input_text` is written to the program's stdin, which is closed otherwise.
    `timeout` None is only for such operator-run steps (debootstrap, apt-get)."""
    argv = [_argv_item(a) for a in args]
    if not argv or not argv[0] or argv[0].startswith("-"):
        raise ToolError("no program to run")
    log.debug("running %s", argv[0])
    try:
        return subprocess.run(
            argv, input=input_text, stdin=subprocess.DEVNULL if input_text is None else None,
            capture_output=capture, text=True, timeout=timeout, check=check, env=env,
            shell=False)
    except FileNotFoundError:
        raise ToolError(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{argv[0]} did not finish within {timeout:.0f} seconds") from None
