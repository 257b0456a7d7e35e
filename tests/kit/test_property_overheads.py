"""The property phase's own overheads stay cut (issue 14): without a server, not timed.

What bench/bench_property.py measured and this module pins: the kit's checks parse and walk
each response once, not once per check; the costly body validation of API-010 runs only on a
refusal; a CLI subprocess writes its counts at most twice a second and once more at exit, not
after every request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fulfillment_spec import OPENAPI_PATH

from conformance.property import checks, hooks, mapping
from conformance.property.runner import PropertySettings, schemathesis_config

TOKEN = "wms_test_acme_token"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema() -> Any:
    settings = PropertySettings(base_url="http://127.0.0.1:9/v1", token=TOKEN, seed=1)
    config = schemathesis.Config.from_dict(schemathesis_config(settings, stateful=False))
    return schemathesis.openapi.from_path(str(OPENAPI_PATH), config=config)


class _Response:
    """The few members of a Schemathesis response the kit's checks read."""

    def __init__(self, status: int, body: Any, request_id: str = "req_1") -> None:
        self.status_code = status
        self.headers = {"x-request-id": [request_id], "content-type": ["application/json"]}
        self.content = json.dumps(body).encode()
        self.request = None


def test_the_kits_checks_share_one_view_of_a_response(
    schema: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Any] = []
    new_view = checks._new_view

    def counting(case: Any, response: Any) -> Any:
        built.append(response)
        return new_view(case, response)

    monkeypatch.setattr(checks, "_new_view", counting)
    case = schema["/orders"]["GET"].Case()
    page = {"data": [], "pagination": {"next_cursor": None, "has_more": False}}
    first, second = _Response(200, page), _Response(200, page)
    for response in (first, second):
        for name in checks.__all__:
            if name.startswith("fulfillment_"):
                getattr(checks, name)(None, response, case)
    assert built == [first, second]


def test_a_bare_error_still_fails_the_envelope_check_after_a_clean_one(schema: Any) -> None:
    """The shared view is per response: a clean answer's view never judges the next one."""
    case = schema["/orders/{order_id}"]["GET"].Case(path_parameters={"order_id": "ord_1"})
    envelope = {"error": {"code": "not_found", "message": "No such order", "request_id": "req_1"}}
    assert checks.fulfillment_error_envelope(None, _Response(404, envelope), case) is None
    with pytest.raises(AssertionError, match="expected a body"):
        checks.fulfillment_error_envelope(None, _Response(404, {"message": "nope"}), case)


def test_the_request_body_is_validated_only_when_the_answer_is_a_refusal(
    schema: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated: list[Any] = []

    def body_valid(case: Any) -> bool:
        validated.append(case)
        return True

    monkeypatch.setattr(checks, "_body_valid", body_valid)
    monkeypatch.setattr(mapping, "applies", lambda name, case: True)
    case = schema["/orders"]["POST"].Case(body={"order_number": "SO-1"})
    check = checks.fulfillment_valid_request_not_refused_as_malformed
    assert check(None, _Response(201, {"id": "ord_1"}), case) is None
    assert validated == []
    refusal = {"error": {"code": "validation_failed", "message": "no", "request_id": "req_1"}}
    with pytest.raises(AssertionError, match="validation_failed"):
        check(None, _Response(422, refusal), case)
    assert validated == [case]


def test_a_cli_subprocess_leaves_every_count_at_exit(tmp_path: Path) -> None:
    """Counts are written at most every half second while it runs: the exit writes the rest."""
    count_file, stats_file = tmp_path / "requests.count", tmp_path / "refusals.json"
    script = (
        "from conformance.property import hooks\n"
        "for _ in range(25):\n"
        "    hooks._count_request()\n"
        "    hooks._note_case({'API-001'}, None)\n"
        "hooks._note_case({'RATE-001'}, '429 on GET /orders')\n"
    )
    env = {
        **os.environ,
        hooks.COUNT_FILE_ENV: str(count_file),
        hooks.STATS_FILE_ENV: str(stats_file),
    }
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, timeout=120)
    assert count_file.read_text().strip() == "25"
    stats = hooks.RefusalStats.from_dict(json.loads(stats_file.read_text()))
    assert stats.judged == {"API-001": 25}
    assert stats.refused == {"RATE-001": 1}
