"""Removing what a run created that keeps acting on the target: webhook subscriptions.

Orders, SKUs and inbound shipments a run creates are inert history, tagged with the run id so no
later run mistakes them for its own. A webhook subscription is different: every later event of
the partner is delivered to it, so a subscription left behind slows the target's deliveries for
every run after this one (measured: 80 dead subscriptions after two runs, a fresh delivery
waiting over 60 s behind 32,000 doomed ones). So at the end of every run, interrupted ones too,
the kit deletes:

* every subscription a scenario check created (a recorded `POST /webhooks` answered 201, or one
  whose URL path carries the run id, as the kit's receiver paths do: found even when the run was
  interrupted before it read the create call's answer);
* every subscription the property-based phase created: its generated URLs point at a sink on the
  target's own loopback (`https://127.0.0.1:9/conformance-sink/<run id>/...`, refused at once)
  that carries the run id, because Schemathesis' own requests are not recorded by the kit;
* sink subscriptions of earlier runs older than an hour: left by a run that was killed before it
  could clean up. Never a younger one, which may belong to a run going on at the same time.

Whatever could not be deleted is listed, with the reason, in the report and on the console.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from conformance.http import ApiClient, ApiResponse, HttpSession
from conformance.listing import parse_ts, walk_list

__all__ = [
    "RUN_ID_ENV",
    "SINK_HOST",
    "SINK_MARKER",
    "Cleanup",
    "created_webhook_ids",
    "sink_url",
    "sweep_webhooks",
]

# The target's own loopback on the discard port: a delivery there is refused at once.
SINK_HOST = "127.0.0.1:9"
SINK_MARKER = "conformance-sink"
# The property phase runs partly in a subprocess; it learns the run id from this variable.
RUN_ID_ENV = "CONFORMANCE_RUN_ID"
STALE_AFTER = timedelta(hours=1)
MAX_PAGES = 50


def sink_url(case_id: str, run_id: str | None = None) -> str:
    """Where a generated subscription points: nowhere, tagged with the run that made it."""
    run = run_id or os.environ.get(RUN_ID_ENV) or "unknown-run"
    return f"https://{SINK_HOST}/{SINK_MARKER}/{run}/{case_id}"


@dataclass
class Cleanup:
    """What the sweep did: subscriptions deleted, and those left with the reason."""

    deleted: int = 0
    left: list[str] = field(default_factory=list)
    requests: int = 0

    def describe(self) -> str:
        text = f"cleanup: {self.deleted} webhook subscription(s) deleted"
        if self.left:
            text += f"; left on the target: {'; '.join(self.left)}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"webhooks_deleted": self.deleted, "left": list(self.left)}


def created_webhook_ids(responses: Iterable[ApiResponse]) -> list[str]:
    """Ids of the subscriptions the scenario checks created (recorded 201s of POST /webhooks)."""
    ids: list[str] = []
    for response in responses:
        if response.method != "POST" or response.status != 201:
            continue
        if response.path_template != "/webhooks":
            continue
        body = response.json
        if isinstance(body, dict) and isinstance(body.get("id"), str) and body["id"] not in ids:
            ids.append(body["id"])
    return ids


def _is_ours(row: dict[str, Any], run_id: str, created: set[str], now: datetime) -> bool:
    if row.get("id") in created:
        return True
    url = str(row.get("url") or "")
    if f"/{run_id}/" in urlsplit(url).path:
        return True  # the kit's receiver tags its paths with the run id
    if f"/{SINK_MARKER}/" not in url:
        return False
    if f"/{SINK_MARKER}/{run_id}/" in url:
        return True
    created_at = parse_ts(row.get("created_at"))
    return created_at is not None and now - created_at > STALE_AFTER


def _delete(client: ApiClient, hook_id: str, cleanup: Cleanup) -> bool:
    try:
        response = client.request("DELETE", f"/webhooks/{hook_id}")
    except AssertionError as exc:  # RequestFailed: no usable response
        cleanup.left.append(f"{hook_id} ({exc})")
        return False
    if response.status in (200, 202, 204):
        cleanup.deleted += 1
        return True
    # 404: already gone, or another partner's (each token tries the ids it cannot list).
    return response.status == 404


def _sweep_one(
    client: ApiClient, run_id: str, created: set[str], cleanup: Cleanup, now: datetime
) -> None:
    """Delete this partner's subscriptions of ours (by id when its list cannot be read)."""
    accounted: set[str] = set()
    walk = walk_list(client, "/webhooks", {}, limit=100, max_pages=MAX_PAGES)
    for _, row in walk.rows():
        hook_id = row.get("id")
        if isinstance(hook_id, str) and _is_ours(row, run_id, created, now):
            _delete(client, hook_id, cleanup)
            accounted.add(hook_id)
    if walk.error is not None:
        # The list cannot be read (no webhooks profile, say): delete what we know by id.
        for hook_id in sorted(created - accounted):
            _delete(client, hook_id, cleanup)


def sweep_webhooks(
    base_url: str,
    tokens: Sequence[str],
    *,
    run_id: str,
    created_ids: Iterable[str] = (),
    timeout: float = 30.0,
    now: datetime | None = None,
) -> Cleanup:
    """Delete every subscription this run created, for each partner token, and say what is left."""
    cleanup = Cleanup()
    created = set(created_ids)
    moment = now or datetime.now(UTC)
    session = HttpSession(base_url, timeout=min(timeout, 15.0))
    try:
        # A created id that no partner lists any more was deleted by the check that made it.
        for token in tokens:
            _sweep_one(ApiClient(session, token), run_id, created, cleanup, moment)
    except Exception as exc:  # never let cleanup hide the run's own result
        cleanup.left.append(f"the sweep stopped: {type(exc).__name__}: {exc}")
    finally:
        cleanup.requests = session.requests_made
        session.close()
    return cleanup
