"""The JSON report: the machine-readable contract of a run, field for field.

Scripts and CI recipes parse it, so its shape changes only on purpose, with its tests. Beyond the
core fields it carries `not_tested` (requirements no black-box test can verify, with the
reason), `run_id` and `seed` (to reproduce the run), and on every requirement `evidence`: the
requests and responses that decided it (often none), credentials masked. The plugin adds what
only the end of a run knows: `cleanup`, `recorded_exchanges_dropped` (exchanges past the
recording cap, which the cross-cutting response rules did not see),
`requests_resent_after_lost_connection` (repeatable requests sent once more after their connection
broke before any answer; conformance.http) and `interrupted`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fulfillment_spec

from conformance import __version__
from conformance.config import Config
from conformance.outcomes import Aggregate
from conformance.reports import scrubbed

__all__ = ["build", "write"]


def build(
    result: Aggregate,
    *,
    config: Config,
    started_at: str,
    finished_at: str,
    requests_made: int,
) -> dict[str, Any]:
    """The report as a dict, secrets scrubbed, `evidence` on every requirement (maybe [])."""
    report: dict[str, Any] = {
        "verdict": result.verdict,
        "kit_version": __version__,
        "spec_version": fulfillment_spec.spec_version(),
        "spec_sha256": fulfillment_spec.spec_sha256(),
        "target": {"base_url": config.base_url},
        "started_at": started_at,
        "finished_at": finished_at,
        "profiles": list(result.profiles),
        "requests_made": requests_made,
        "requirements": [requirement.as_dict() for requirement in result.requirements],
        "summary": dict(result.summary),
        "not_tested": [entry.as_dict() for entry in result.not_tested],
        "run_id": config.run_id,
        "seed": config.seed,
    }
    return scrubbed(report)


def write(report: dict[str, Any], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(scrubbed(report), indent=2, ensure_ascii=False) + "\n"
    target.write_text(text, encoding="utf-8")
    return target
