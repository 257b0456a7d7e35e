"""Bearer tokens, one partner each (decision 24; the guide, § Authentication).

Tokens are compared in constant time and never logged; the rest of the sandbox only ever sees
the partner's name, which scopes every query.
"""

from __future__ import annotations

import hmac

DEMO_PARTNERS: dict[str, str] = {
    "acme": "wms_test_acme_token",
    "globex": "wms_test_globex_token",
}


class Authenticator:
    def __init__(self, partners: dict[str, str]) -> None:
        if not partners:
            raise ValueError("at least one partner is required")
        self._tokens = [(token.encode(), name) for name, token in partners.items()]

    @property
    def partners(self) -> list[str]:
        return [name for _token, name in self._tokens]

    def partner_for(self, authorization: str | None) -> str | None:
        """The partner owning `Authorization: Bearer <token>`, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = token.strip().encode()
        found = None
        for known, name in self._tokens:
            if hmac.compare_digest(known, presented):
                found = name
        return found
