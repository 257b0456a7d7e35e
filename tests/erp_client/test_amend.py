"""Amending: a stale ETag is re-read and re-applied; too late falls back to cancel+recreate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fulfillment_erp_client import ErpClient

from tests.erp_client.conftest import TOKEN, Recorder, Warehouse, order_body
from tests.kit.variants import StaleIfMatch412


@pytest.mark.parametrize("wrap", [None, StaleIfMatch412], ids=["409", "412"])
def test_a_stale_etag_is_read_again_and_the_patch_reapplied(
    make_sandbox: Callable[..., str], tmp_path: Path, wrap: Any
) -> None:
    url = make_sandbox(wrap)
    recorder = Recorder()
    with ErpClient(url, TOKEN, str(tmp_path / "erp.db"), transport=recorder) as erp:
        order = erp.create_order(order_body("F-A"))
        stale = f'"{order["version"]}"'
        erp.amend_order(order["id"], {"packing_note": "first"})  # someone else moved it on
        result = erp.amend_order(order["id"], {"gift_message": "Happy birthday"}, etag=stale)

    refused = recorder.matching("PATCH", f"/orders/{order['id']}")[1][1]
    assert refused.status_code == (412 if wrap else 409)
    assert result.outcome == "amended" and result.conflicts == 1
    assert result.order["id"] == order["id"]
    assert (result.order["gift_message"], result.order["packing_note"]) == (
        "Happy birthday",
        "first",
    )


def test_a_new_warehouse_cancels_and_recreates_under_a_new_reference(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    with ErpClient(sandbox_url, TOKEN, str(tmp_path / "erp.db")) as erp:
        order = erp.create_order(order_body("F-W"))
        result = erp.amend_order(order["id"], {"warehouse_id": "wh_mel_1"})

    assert result.outcome == "replaced"
    assert (result.order["reference"], result.order["warehouse_id"]) == ("F-W-R2", "wh_mel_1")
    (old,) = warehouse.orders_with_reference("F-W")
    assert old["status"] == "cancelled"
    # The new reference is the client's choice (one order per reference in its store): the
    # contract would also accept the cancelled order's reference (IDEM-017, decision 51).
    again = warehouse.http.post(
        "/orders", json=order_body("F-W"), headers={"Idempotency-Key": "another-key"}
    )
    assert again.status_code == 201, again.text


def test_too_late_to_amend_and_to_cancel_changes_nothing(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    with ErpClient(sandbox_url, TOKEN, str(tmp_path / "erp.db")) as erp:
        order = erp.create_order(order_body("F-L"))
        warehouse.post(f"/sandbox/orders/{order['id']}/pick")
        result = erp.amend_order(order["id"], {"packing_note": "too late"})
        assert erp.store.unfinished_creates() == []  # no replacement left to resume

    assert result.outcome == "too_late" and result.order["status"] == "processing"
    assert result.order["packing_note"] is None
    assert warehouse.orders_with_reference("F-L-R2") == []
