"""The API reference (`nox -s docs`, scripts/build_reference.py) renders every operation offline.

The page is opened in headless Chromium with every network request refused: each operation and
webhook of the contract must be rendered (Redoc gives each an `id="operation/<operationId>"`) with
its summary, and the page may load no script, style, font or image from anywhere else. A
screenshot of the rendered page is saved next to it for people to look at.

The Redoc bundle comes from `npm ci` (package.json) and the browser is Debian's `chromium`
(.ci/run installs it): without them the tests skip locally, and fail under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import fulfillment_spec
import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "scripts" / "build_reference.py"
BUNDLE = ROOT / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js"
# Every host name resolves to nothing and every connection goes to a closed port.
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"]


def _needed(ready: bool, what: str) -> None:
    if ready:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing under CI")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _needed(BUNDLE.exists(), f"{BUNDLE.relative_to(ROOT)} (run `npm ci`)")
    out = tmp_path_factory.mktemp("reference") / "api-reference.html"
    subprocess.run([sys.executable, str(BUILD), "--output", str(out)], check=True, timeout=120)
    return out


def _operations() -> dict[str, str]:
    """operationId -> summary, for every operation and every webhook."""
    spec: dict[str, Any] = fulfillment_spec.load_openapi()
    found = {}
    for section in ("paths", "webhooks"):
        for item in spec[section].values():
            for operation in item.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    found[operation["operationId"]] = operation["summary"]
    return found


def _chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    _needed(browser is not None, "chromium (apt-get install -y chromium)")
    assert browser is not None
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", *OFFLINE, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def test_page_fetches_nothing_from_elsewhere(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", text)
    elsewhere = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""")
    external = [tag for tag in tags if elsewhere.search(tag)]
    assert tags and not external, external
    assert "cdn." not in "".join(tags)


def test_every_operation_renders_in_an_offline_browser(page: Path) -> None:
    result = _chromium("--virtual-time-budget=30000", "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    visible = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S)
    rendered = set(re.findall(r'id="operation/([^"]+)"', visible))
    operations = _operations()
    assert len(operations) > 30
    assert set(operations) - rendered == set()
    text = {line.strip() for line in re.sub(r"<[^>]+>", "\n", visible).splitlines()}
    assert {summary for summary in operations.values()} - text == set()

    screenshot = page.with_suffix(".png")
    shot = _chromium(
        "--virtual-time-budget=30000",
        "--window-size=1400,2000",
        f"--screenshot={screenshot}",
        page.as_uri(),
    )
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
