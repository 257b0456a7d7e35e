"""The webhook checks run only where the target can reach the kit's loopback receiver."""

from __future__ import annotations

import pytest

from conformance.checks.test_webhooks import _on_this_machine


@pytest.mark.parametrize(
    ("base_url", "reachable"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.0.0.2:8000/v1", True),
        ("http://localhost:8000/v1", True),
        ("http://[::1]:8000/v1", True),
        ("https://api.sandbox.your-3pl.com/v1", False),
        ("http://10.0.0.5/v1", False),
    ],
)
def test_only_a_target_on_this_machine_can_reach_the_receiver(
    base_url: str, reachable: bool
) -> None:
    assert _on_this_machine(base_url) is reachable
