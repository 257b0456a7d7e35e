"""End to end through the kit's CLI: a property-based requirement fails in the JSON report.

One run of `python -m conformance run --only ERR-001` against a sandbox whose 4xx bodies lost the
envelope: the requirement must be `failed` with a message naming the request, and the token must
appear nowhere in the report or the output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.property.mapping import CHECK_REQUIREMENTS
from tests.kit import broken_property
from tests.kit.harness import outcome, run_kit
from tests.live_server import serve

sandbox_app = pytest.importorskip("fulfillment_sandbox.app")

TOKEN = "wms_test_acme_token"
ENVELOPE_ID = CHECK_REQUIREMENTS["fulfillment_error_envelope"][0]


def test_a_4xx_without_envelope_fails_its_requirement_in_the_report(tmp_path: Path) -> None:
    app = broken_property.bare_errors(sandbox_app.create_app(str(tmp_path / "sandbox.db")))
    with serve(app) as root:
        result = run_kit(
            f"{root}/v1",
            TOKEN,
            extra_args=["--only", ENVELOPE_ID, "--seed", "7"],
            tmp_path=tmp_path,
        )
    assert outcome(result.report, ENVELOPE_ID) == "failed", result.stdout[-3000:]
    entry = next(e for e in result.report["requirements"] if e["id"] == ENVELOPE_ID)
    # Other checks cite ERR-001 too; whichever failed first, the message names a request.
    assert "expected" in entry["message"] and "->" in entry["message"], entry["message"]
    everything = json.dumps(result.report) + result.stdout + result.stderr
    assert TOKEN not in everything
