"""An httpx client that checks every response it sees against the contract.

For the operation the request matched (by method and path template of `spec/openapi.yaml`): the
status must be documented, the JSON body must validate against the documented schema (Draft 2020-12
with format checking, `$ref`s resolved against the whole document), and required response headers
must be present. A request to a path the spec does not have must still get the error envelope.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import fulfillment_spec
import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:test:openapi"
DOCUMENT = fulfillment_spec.load_openapi()
REGISTRY: Registry[Any] = Registry().with_resource(
    SPEC_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _validator(pointer: list[str]) -> Draft202012Validator:
    escaped = "/".join(p.replace("~", "~0").replace("/", "~1") for p in pointer)
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{quote('/' + escaped, safe='/~')}"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


ERROR_VALIDATOR = _validator(["components", "schemas", "ErrorResponse"])
_ROUTES: list[tuple[str, re.Pattern[str], str]] = []
for _path, _item in DOCUMENT["paths"].items():
    _pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", _path) + "$")
    for _method in ("get", "post", "patch", "put", "delete"):
        if _method in _item:
            _ROUTES.append((_method.upper(), _pattern, _path))


def check_response(response: httpx.Response, prefix: str = "/v1") -> None:
    """Assert that `response` is what the spec documents for its request."""
    request = response.request
    path = request.url.path.removeprefix(prefix)
    where = f"{request.method} {request.url.path} -> {response.status_code}"
    request_id = response.headers.get("x-request-id")
    assert request_id, f"{where}: no X-Request-Id"
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert response.headers.get(header, "").isdigit(), f"{where}: bad {header}"
    body = response.json() if response.content else None
    if response.status_code >= 400:
        assert body is not None, f"{where}: error without a body"
        errors = sorted(ERROR_VALIDATOR.iter_errors(body), key=str)
        assert not errors, f"{where}: error envelope invalid: {errors[0].message}"
        assert body["error"]["request_id"] == request_id, f"{where}: request_id mismatch"
    if response.status_code == 429:
        assert response.headers.get("retry-after", "").isdigit(), f"{where}: no Retry-After"
    match = [
        (m, p)
        for m, pattern, p in _ROUTES
        if pattern.match(path) and m == request.method.replace("HEAD", "GET")
    ]
    if not match:
        assert response.status_code in (404, 405), f"{where}: undocumented path answered"
        return
    method, template = match[0]
    # A literal path beats a templated one (/sandbox/inventory vs nothing; keep the first).
    responses = DOCUMENT["paths"][template][method.lower()]["responses"]
    status = str(response.status_code)
    assert status in responses or "default" in responses, (
        f"{where}: status not documented (documented: {sorted(responses)})"
    )
    documented = _resolve(responses.get(status, responses.get("default", {})))
    for name, header in documented.get("headers", {}).items():
        if _resolve(header).get("required"):
            assert name.lower() in response.headers, f"{where}: missing header {name}"
    content = documented.get("content", {})
    if not content:
        assert not response.content, f"{where}: body where none is documented"
        return
    media = response.headers.get("content-type", "").split(";")[0]
    assert media in content, f"{where}: content type {media} not documented"
    entry = responses.get(status, responses.get("default"))
    pointer = ["paths", template, method.lower(), "responses", status]
    if "$ref" in entry:
        pointer = entry["$ref"].removeprefix("#/").split("/")
    validator = _validator([*pointer, "content", media, "schema"])
    schema_errors = list(validator.iter_errors(body))
    assert not schema_errors, f"{where}: body does not match the spec: {schema_errors[0].message}"


class SpecClient(httpx.Client):
    """`httpx.Client` whose every response is checked by `check_response`."""

    def __init__(self, base_url: str, token: str | None, **kwargs: Any) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__(
            base_url=base_url + "/v1", headers=headers, timeout=20, trust_env=False, **kwargs
        )
        self.count = 0

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(method, url, **kwargs)
        check_response(response)
        self.count += 1
        return response

    def create_order(self, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        import uuid

        return self.post(
            "/orders", json=body, headers={"Idempotency-Key": key or str(uuid.uuid4())}
        )
