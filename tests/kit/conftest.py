"""Fixtures for the kit's tests: a fresh reference sandbox per test, on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kit import warm_kit
from tests.live_server import serve

ACME_TOKEN = "wms_test_acme_token"
GLOBEX_TOKEN = "wms_test_globex_token"


@pytest.fixture
def sandbox_app(tmp_path: Path) -> Any:
    """A fresh sandbox ASGI app on its own SQLite file (the two demo partners)."""
    app_module = pytest.importorskip("fulfillment_sandbox.app")
    return app_module.create_app(str(tmp_path / "sandbox.db"))


@pytest.fixture
def sandbox_url(sandbox_app: Any) -> Iterator[str]:
    """The fresh sandbox served on 127.0.0.1; yields the kit's base URL (ending in /v1)."""
    with serve(sandbox_app) as url:
        yield f"{url}/v1"


def pytest_unconfigure(config: pytest.Config) -> None:
    # The warm kit runs' fork server (tests/kit/warm_kit.py) goes with the session, reaped.
    warm_kit.stop()
