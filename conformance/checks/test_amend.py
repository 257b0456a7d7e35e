"""Amending an order before it is picked (guide §1 Orders, PATCH; decisions 8-12).

An amend is a merge patch guarded by the order's version: fields not sent stay as they are,
`items[]` replaces every line, each success moves `version` and `updated_at`, and a stale
`If-Match` or an order already being picked gets a 409 that leaves the order untouched. Every
check reads the order back instead of trusting the PATCH response.
"""

from __future__ import annotations

import json
import time
from typing import Any

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import (
    assert_unchanged,
    error_code,
    error_fields,
    get_order,
    lines,
    new_order,
    parse_time,
    snapshot,
)

# updated_at must move on an amend (decision 12). Waiting a little over a second first means a
# server that stores whole seconds is not failed for a tie it could not avoid.
TIMESTAMP_TICK_SECONDS = 1.05


def patch(api: ApiClient, order_id: str, body: dict[str, Any], version: str | None) -> ApiResponse:
    headers = {} if version is None else {"If-Match": f'"{version}"'}
    return api.request("PATCH", f"/orders/{order_id}", json=body, headers=headers)


@requirement("AMD-001")
def test_amend_changes_only_the_fields_sent(api: ApiClient, factory: TestData, run_id: str) -> None:
    """Creates an order with packing_note, gift_message and signature_required, PATCHes only
    packing_note, and reads it back: packing_note changed, every other field as it was."""
    order = new_order(
        api,
        factory,
        run_id,
        packing_note="leave at the door",
        gift_message="happy birthday",
        signature_required=True,
    )
    resp = patch(api, order["id"], {"packing_note": "ring the bell"}, order["version"])
    assert resp.status == 200, f"expected 200 for the amend, got {resp.status} ({resp.describe()})"
    now, read = get_order(api, order["id"])
    assert now.get("packing_note") == "ring the bell", (
        f"expected packing_note 'ring the bell', got {now.get('packing_note')!r} "
        f"({read.describe()})"
    )
    before, after = snapshot(order), snapshot(now)
    untouched = [
        f for f in before if f not in ("packing_note", "version") and before[f] != after[f]
    ]
    assert not untouched, (
        "expected fields not sent to stay as they were, got changes in "
        + ", ".join(f"{f}: {before[f]!r} -> {after[f]!r}" for f in untouched)
        + f" ({read.describe()})"
    )


@requirement("AMD-002")
def test_amend_with_items_replaces_every_line(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order with two lines, PATCHes items with one changed quantity and one new SKU,
    and reads back exactly the lines sent (the old second line gone)."""
    warehouse = factory.warehouse_ids[0]
    kept, dropped, added = (factory.sku(stock={warehouse: 20}) for _ in range(3))
    order = new_order(
        api,
        factory,
        run_id,
        warehouse_id=warehouse,
        items=[{"sku": kept, "quantity": 2}, {"sku": dropped, "quantity": 1}],
    )
    wanted = [{"sku": kept, "quantity": 1}, {"sku": added, "quantity": 3}]
    resp = patch(api, order["id"], {"items": wanted}, order["version"])
    assert resp.status == 200, f"expected 200 for the amend, got {resp.status} ({resp.describe()})"
    now, read = get_order(api, order["id"])
    expected = lines({"items": wanted})
    assert lines(now) == expected, (
        f"expected the lines to be replaced by {expected}, got {lines(now)} ({read.describe()})"
    )


@requirement("AMD-003")
def test_amend_moves_version_and_updated_at(api: ApiClient, factory: TestData, run_id: str) -> None:
    """Amends an order (after a one-second tick) and reads it back: version differs from the
    one before and updated_at is later."""
    order = new_order(api, factory, run_id)
    time.sleep(TIMESTAMP_TICK_SECONDS)
    resp = patch(api, order["id"], {"gift_message": "with love"}, order["version"])
    assert resp.status == 200, f"expected 200 for the amend, got {resp.status} ({resp.describe()})"
    answered = resp.json if isinstance(resp.json, dict) else {}
    assert answered.get("version") != order["version"], (
        f"expected the 200 to carry a new version (was {order['version']!r}), got "
        f"{answered.get('version')!r} ({resp.describe()})"
    )
    now, read = get_order(api, order["id"])
    assert isinstance(now.get("version"), str) and now["version"] != order["version"], (
        f"expected a new version after the amend (was {order['version']!r}), got "
        f"{now.get('version')!r} ({read.describe()})"
    )
    assert parse_time(now.get("updated_at")) > parse_time(order["updated_at"]), (
        f"expected updated_at later than {order['updated_at']}, got {now.get('updated_at')!r} "
        f"({read.describe()})"
    )


@requirement("AMD-004")
def test_etag_header_carries_the_quoted_version(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Reads an order and amends it: the ETag of GET and of the PATCH 200 must be the strong tag
    "<version>" of the order in that response (a weak W/ tag never matches If-Match, decision
    35)."""
    order = new_order(api, factory, run_id)
    got, read = get_order(api, order["id"])
    etag = read.headers.get("ETag")
    assert etag == f'"{got.get("version")}"', (
        f'expected ETag "{got.get("version")}" on GET, got {etag!r} ({read.describe()})'
    )
    resp = patch(api, order["id"], {"packing_note": "fragile"}, got["version"])
    assert resp.status == 200, f"expected 200 for the amend, got {resp.status} ({resp.describe()})"
    version = (resp.json or {}).get("version")
    etag = resp.headers.get("ETag")
    assert etag == f'"{version}"', (
        f'expected ETag "{version}" on the PATCH 200, got {etag!r} ({resp.describe()})'
    )


@requirement("AMD-005")
def test_amend_with_a_stale_if_match_is_refused_and_changes_nothing(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Amends an order once, then again with the first version in If-Match: expects 409
    version_conflict (412 accepted, RFC 9110) and the order as the first amend left it."""
    order = new_order(api, factory, run_id)
    first = patch(api, order["id"], {"packing_note": "first edit"}, order["version"])
    assert first.status == 200, f"expected 200 for the first amend, got {first.status}"
    current, _ = get_order(api, order["id"])
    resp = patch(api, order["id"], {"packing_note": "stale edit"}, order["version"])
    assert resp.status in (409, 412), (
        f"expected 409 (or 412) for a stale If-Match, got {resp.status} ({resp.describe()})"
    )
    if resp.status == 409:
        assert error_code(resp) == "version_conflict", (
            f"expected error code version_conflict, got {error_code(resp)!r} ({resp.describe()})"
        )
    assert_unchanged(api, order["id"], current, "a stale If-Match")


@requirement("AMD-006")
def test_amend_without_if_match_is_applied_or_refused_with_428(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """PATCHes without If-Match: a 200 must have applied the change (read back), a 428
    precondition_required must have changed nothing; any other answer fails (decision 9)."""
    order = new_order(api, factory, run_id)
    resp = patch(api, order["id"], {"packing_note": "no precondition"}, version=None)
    assert resp.status in (200, 428), (
        f"expected 200 or 428 for an amend without If-Match, got {resp.status} ({resp.describe()})"
    )
    if resp.status == 428:
        assert error_code(resp) == "precondition_required", (
            f"expected error code precondition_required, got {error_code(resp)!r} "
            f"({resp.describe()})"
        )
        assert_unchanged(api, order["id"], order, "a 428")
        return
    now, read = get_order(api, order["id"])
    assert now.get("packing_note") == "no precondition", (
        f"expected the 200 to have applied packing_note, got {now.get('packing_note')!r} "
        f"({read.describe()})"
    )


@requirement("AMD-007")
def test_amend_after_picking_started_is_refused_with_409(
    api: ApiClient, factory: TestData, run_id: str, driver: WarehouseDriver
) -> None:
    """Starts picking an order (driver.pick), then amends it: expects 409 too_late_to_amend with
    order_status processing and the order unchanged (decision 10); the same for a cancelled
    order."""
    order = new_order(api, factory, run_id)
    driver.pick(order["id"])
    picked, _ = get_order(api, order["id"])
    resp = patch(api, order["id"], {"packing_note": "too late"}, picked.get("version"))
    assert resp.status == 409, (
        f"expected 409 for an amend after picking started, got {resp.status} ({resp.describe()})"
    )
    assert error_code(resp) == "too_late_to_amend", (
        f"expected error code too_late_to_amend, got {error_code(resp)!r} ({resp.describe()})"
    )
    order_status = ((resp.json or {}).get("error") or {}).get("order_status")
    assert order_status == picked.get("status"), (
        f"expected order_status {picked.get('status')!r} in the error, got {order_status!r} "
        f"({resp.describe()})"
    )
    assert_unchanged(api, order["id"], picked, "a refused amend")
    gone = new_order(api, factory, run_id)
    cancelled = api.request("POST", f"/orders/{gone['id']}/cancel")
    assert cancelled.status == 200, f"expected 200 for the cancel, got {cancelled.status}"
    gone, _ = get_order(api, gone["id"])
    resp = patch(api, gone["id"], {"packing_note": "too late"}, gone.get("version"))
    assert (resp.status, error_code(resp)) == (409, "too_late_to_amend"), (
        f"expected 409 too_late_to_amend for an amend of a cancelled order, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )
    assert_unchanged(api, gone["id"], gone, "a refused amend of a cancelled order")


@requirement("AMD-008")
def test_amend_of_warehouse_id_is_refused_with_422_naming_the_field(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """PATCHes warehouse_id (another warehouse when the API lists one): expects 422
    warehouse_not_amendable with field warehouse_id and the order unchanged (decision 11:
    cancel and recreate instead)."""
    order = new_order(api, factory, run_id)
    others = [w for w in factory.warehouse_ids if w != order["warehouse_id"]]
    target = others[0] if others else f"wh_other_{run_id}"
    resp = patch(api, order["id"], {"warehouse_id": target}, order["version"])
    assert resp.status == 422, (
        f"expected 422 for an amend of warehouse_id, got {resp.status} ({resp.describe()})"
    )
    assert error_code(resp) == "warehouse_not_amendable", (
        f"expected error code warehouse_not_amendable, got {error_code(resp)!r} ({resp.describe()})"
    )
    assert "warehouse_id" in error_fields(resp), (
        f"expected the error to name field warehouse_id, got {sorted(error_fields(resp))} "
        f"({resp.describe()})"
    )
    assert_unchanged(api, order["id"], order, "a refused warehouse change")


@requirement("AMD-009")
def test_amend_accepts_merge_patch_json(api: ApiClient, factory: TestData, run_id: str) -> None:
    """PATCHes with Content-Type application/merge-patch+json: expects 200 and the change
    applied (read back), as with application/json (RFC 7396)."""
    order = new_order(api, factory, run_id)
    resp = api.request(
        "PATCH",
        f"/orders/{order['id']}",
        content=json.dumps({"packing_note": "merge patch"}).encode(),
        headers={
            "Content-Type": "application/merge-patch+json",
            "If-Match": f'"{order["version"]}"',
        },
    )
    assert resp.status == 200, (
        f"expected 200 for an application/merge-patch+json amend, got {resp.status} "
        f"({resp.describe()})"
    )
    now, read = get_order(api, order["id"])
    assert now.get("packing_note") == "merge patch", (
        f"expected packing_note 'merge patch', got {now.get('packing_note')!r} ({read.describe()})"
    )


@requirement("AMD-010")
def test_amend_with_the_current_if_match_is_applied(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Reads an order and PATCHes it with its ETag as If-Match: expects 200 with the amended
    order in the body."""
    order = new_order(api, factory, run_id)
    _, read = get_order(api, order["id"])
    tag = read.headers.get("ETag") or f'"{order["version"]}"'
    resp = api.request(
        "PATCH",
        f"/orders/{order['id']}",
        json={"gift_message": "current"},
        headers={"If-Match": tag},
    )
    assert resp.status == 200, (
        f"expected 200 for an amend with the current If-Match {tag}, got {resp.status} "
        f"({resp.describe()})"
    )
    body = resp.json if isinstance(resp.json, dict) else {}
    assert (body.get("id"), body.get("gift_message")) == (order["id"], "current"), (
        f"expected the amended order {order['id']} with gift_message 'current', got id "
        f"{body.get('id')!r} gift_message {body.get('gift_message')!r} ({resp.describe()})"
    )


@requirement("AMD-011")
def test_on_hold_and_backordered_orders_can_be_amended(
    api: ApiClient, factory: TestData, run_id: str, driver: WarehouseDriver
) -> None:
    """Amends an on_hold order (driver.hold) and a backordered one (no stock): each answers
    200 and reads back the change."""
    held = new_order(api, factory, run_id)
    driver.hold(held["id"])
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 0})
    short = new_order(
        api, factory, run_id, warehouse_id=warehouse, items=[{"sku": sku, "quantity": 1}]
    )
    for order, status in ((held, "on_hold"), (short, "backordered")):
        before, read = get_order(api, order["id"])
        assert before.get("status") == status, (
            f"expected the order to be {status}, got {before.get('status')!r} ({read.describe()})"
        )
        resp = patch(
            api, order["id"], {"packing_note": f"amended while {status}"}, before["version"]
        )
        assert resp.status == 200, (
            f"expected 200 for an amend of a {status} order, got {resp.status} ({resp.describe()})"
        )
        now, read = get_order(api, order["id"])
        assert now.get("packing_note") == f"amended while {status}", (
            f"expected the amend of the {status} order applied, got packing_note "
            f"{now.get('packing_note')!r} ({read.describe()})"
        )


@requirement("AMD-012")
def test_an_invalid_amend_is_refused_with_422_and_changes_nothing(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """PATCHes a line quantity of 0, an unknown sku, an unknown shipping_method_id and a
    ship_to whose address1 is null: each gets 422 with its code, and the order (version
    included) reads back unchanged."""
    order = new_order(api, factory, run_id)
    sku = order["items"][0]["sku"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"items": [{"sku": sku, "quantity": 0}]}, "validation_failed"),
        ({"items": [{"sku": f"CK-{run_id}-NEVER-SOLD", "quantity": 1}]}, "unknown_sku"),
        ({"shipping_method_id": f"sm_unknown_{run_id}"}, "invalid_shipping_method"),
        # The address comes from a request body, not the response: response objects are open
        # (they may carry fields a closed request object refuses with 422 unknown_field).
        ({"ship_to": {**factory.order_body()["ship_to"], "address1": None}}, "validation_failed"),
    ]
    for body, code in cases:
        resp = patch(api, order["id"], body, order["version"])
        assert (resp.status, error_code(resp)) == (422, code), (
            f"expected 422 {code} for the amend {body}, got {resp.status} {error_code(resp)!r} "
            f"({resp.describe()})"
        )
        assert_unchanged(api, order["id"], order, f"the invalid amend {body}")
