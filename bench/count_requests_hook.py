"""A Schemathesis hooks module for plain `schemathesis run` in bench_property: counts requests.

Loaded through SCHEMATHESIS_HOOKS, it wraps the requests transport's `send` (every request
Schemathesis makes goes through it: generated cases, stateful steps and the probes of checks
such as `ignored_auth`) with a counter and writes the count to BENCH_REQUEST_COUNT_FILE at exit.
It does nothing else, so the plain run stays plain; the kit counts its requests the same way
(conformance/property/hooks.py), which keeps the two counts comparable.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import os
from typing import Any

from schemathesis.transport import requests as _requests_transport

COUNT_FILE_ENV = "BENCH_REQUEST_COUNT_FILE"
_counter = itertools.count(1)
_sent = [0]


def _counting(send: Any) -> Any:
    @functools.wraps(send)
    def counted(*args: Any, **kwargs: Any) -> Any:
        _sent[0] = next(_counter)  # itertools.count is atomic under the GIL
        return send(*args, **kwargs)

    return counted


def _write_count() -> None:
    path = os.environ.get(COUNT_FILE_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"{_sent[0]}\n")


_transport = _requests_transport.REQUESTS_TRANSPORT
_transport.send = _counting(_transport.send)  # type: ignore[method-assign]
atexit.register(_write_count)
