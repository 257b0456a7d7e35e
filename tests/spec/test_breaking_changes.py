"""No breaking change against the last released contract (decision 44).

Optic (`@useoptic/optic`, pinned in package.json; `npm ci` installs it) compares the newest
`spec/released/<version>.yaml` with `spec/openapi.yaml` under its breaking-change ruleset, offline
and with telemetry off. A second comparison, against a copy of the released document broken on
purpose (a request field made required, a response field removed), shows the check has teeth.
Without Optic the diff tests skip locally; under CI (env var CI set) a missing tool is a failure.
Each comparison takes about a minute (the document is large). The second one is `slow` (`nox -s
slow`): in every CI run the first already shows Optic is wired, since it must report each
operation added since the release as added, which Optic can only do by reading and diffing both
documents.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import fulfillment_spec
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OPTIC = ROOT / "node_modules" / ".bin" / "optic"
RELEASED = ROOT / "spec" / "released"
CHANGELOG = ROOT / "CHANGELOG.md"
VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
OPTIC_ENV = {"OPTIC_TELEMETRY_LEVEL": "off"}

pytestmark = pytest.mark.timeout(1800)


def version_key(version: str) -> tuple[int, ...]:
    match = VERSION.match(version)
    assert match, f"expected a <major>.<minor>.<patch> version, got {version!r}"
    return tuple(int(part) for part in match.groups())


def last_released() -> Path:
    released = sorted(RELEASED.glob("*.yaml"), key=lambda path: version_key(path.stem))
    assert released, "expected at least one released document in spec/released/"
    return released[-1]


def optic_diff(before: Path, after: Path, workdir: Path) -> tuple[int, dict[str, Any], str]:
    """Optic's exit status, JSON report and stderr for `before` -> `after`, run in `workdir`
    (under CI, Optic writes a ci-run-details.json where it runs)."""
    workdir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(OPTIC), "diff", str(before), str(after), "--check", "--json"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=540,
        env={**os.environ, **OPTIC_ENV},
        check=False,
    )
    start = result.stdout.find("{")
    report = json.loads(result.stdout[start:]) if start >= 0 else {}
    return result.returncode, report, result.stderr


def broken_copy(released: Path, into: Path) -> Path:
    """The released document with two breaking changes: `OrderCreate.gift_message` required,
    and `Order.packing_note` gone from responses."""
    document = yaml.safe_load(released.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    schemas["OrderCreate"]["required"].append("gift_message")
    del schemas["Order"]["properties"]["packing_note"]
    schemas["Order"]["required"] = [
        name for name in schemas["Order"].get("required", []) if name != "packing_note"
    ]
    path = into / "broken.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def require_optic() -> None:
    """Skip without Optic, except under CI, where a missing tool is a failure."""
    if not OPTIC.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{OPTIC} is missing under CI: run `npm ci` at the repository root")
        pytest.skip("node_modules/.bin/optic not installed (run `npm ci`)")


def operations(document: dict[str, Any]) -> set[str]:
    """The document's operations as Optic names them ("POST /orders")."""
    return {
        f"{method.upper()} {path}"
        for path, item in document.get("paths", {}).items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace")
    }


@pytest.fixture(scope="module")
def current_diff(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str]:
    """The last release against the working spec."""
    require_optic()
    root = tmp_path_factory.mktemp("breaking")
    return optic_diff(last_released(), fulfillment_spec.OPENAPI_PATH, root / "spec")


def test_the_spec_breaks_no_client_of_the_last_release(current_diff: Any) -> None:
    status, report, stderr = current_diff
    assert status == 0, (
        f"expected no breaking change against {last_released().relative_to(ROOT)}, got Optic exit"
        f" {status}: {json.dumps(report)[:3000]} {stderr[-1500:]}"
    )


def test_optic_reports_every_operation_added_since_the_release(current_diff: Any) -> None:
    """Optic read and compared both documents (a diff that saw nothing would also exit 0)."""
    _, report, stderr = current_diff
    released = yaml.safe_load(last_released().read_text(encoding="utf-8"))
    added = operations(fulfillment_spec.load_openapi()) - operations(released)
    reported = {op["name"] for op in report.get("operations", []) if op.get("change") == "added"}
    assert added <= reported, (
        f"expected Optic to report {sorted(added - reported)} as added, got {sorted(reported)}:"
        f" {stderr[-1500:]}"
    )


@pytest.mark.slow  # a second minute-long diff; the test above shows Optic is wired in every run
def test_a_breaking_change_is_caught(tmp_path: Path) -> None:
    require_optic()
    status, report, _ = optic_diff(
        last_released(), broken_copy(last_released(), tmp_path), tmp_path / "broken"
    )
    assert status != 0, "expected Optic to refuse a required request field and a removed field"
    changed = json.dumps(report)
    assert "gift_message" in changed and "packing_note" in changed, changed[:3000]


def test_the_released_document_is_the_changelogs_newest_release() -> None:
    released = last_released()
    document = yaml.safe_load(released.read_text(encoding="utf-8"))
    assert document["info"]["version"] == released.stem
    assert f"## {released.stem} (" in CHANGELOG.read_text(encoding="utf-8")
    current = fulfillment_spec.load_openapi()["info"]["version"]
    assert version_key(current) >= version_key(released.stem), (
        f"expected info.version {current} at least the released {released.stem}"
    )
