"""A cancelled order frees its reference (decision 51): cancel and recreate with the same one."""

from __future__ import annotations

from .conftest import order_body
from .spec_client import SpecClient


def test_cancel_and_recreate_with_the_same_reference(acme: SpecClient) -> None:
    body = order_body()
    first = acme.create_order(body).json()
    assert acme.create_order(body).json()["error"]["existing_order_id"] == first["id"]
    assert acme.post(f"/orders/{first['id']}/cancel").status_code == 200
    again = acme.create_order(body)
    assert again.status_code == 201, again.text
    second = again.json()
    assert second["id"] != first["id"] and second["reference"] == first["reference"]
    # The live one blocks a third; the cancelled one stays readable and listed.
    dup = acme.create_order(body).json()["error"]
    assert (dup["code"], dup["existing_order_id"]) == ("duplicate_reference", second["id"])
    assert acme.get(f"/orders/{first['id']}").json()["status"] == "cancelled"
    listed = acme.get("/orders", params={"reference": body["reference"]}).json()["data"]
    assert sorted(o["id"] for o in listed) == sorted([first["id"], second["id"]])
