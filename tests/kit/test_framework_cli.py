"""`fulfillment-conformance run` refuses an unusable configuration with exit 2 and one sentence
on stderr (never a traceback, never the token), before any check runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.kit.harness import run_cli
from tests.live_server import free_port, serve

TOKEN = "wms_cli_test_token_42"


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {stderr!r}"
    assert "Traceback" not in stderr
    assert TOKEN not in stderr
    return lines[0]


def app_answering(response: Response) -> Starlette:
    async def endpoint(request: Request) -> Response:
        return response

    return Starlette(routes=[Route("/v1/warehouses", endpoint)])


@pytest.fixture
def refusing_url() -> Iterator[str]:
    body = {"error": {"code": "unauthorized", "message": "no", "request_id": "r"}}
    with serve(app_answering(JSONResponse(body, status_code=401))) as url:
        yield f"{url}/v1"


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    done = run_cli(["run", *args], env={"CONFORMANCE_TOKEN": TOKEN}, cwd=tmp_path, timeout=120)
    return done.returncode, done.stderr


def test_a_malformed_base_url(tmp_path: Path) -> None:
    code, stderr = run(tmp_path, "--base-url", "api.example.com/v1")
    assert code == 2
    assert "is not an http:// or https:// URL" in one_sentence(stderr)


def test_an_unreachable_host(tmp_path: Path) -> None:
    code, stderr = run(tmp_path, "--base-url", f"http://127.0.0.1:{free_port()}/v1")
    assert code == 2
    assert one_sentence(stderr).startswith("fulfillment-conformance: cannot reach 127.0.0.1")


def test_a_refused_token(tmp_path: Path, refusing_url: str) -> None:
    code, stderr = run(tmp_path, "--base-url", refusing_url)
    assert code == 2
    assert "the token was refused" in one_sentence(stderr)


def test_a_refused_second_token(tmp_path: Path) -> None:
    async def endpoint(request: Request) -> Response:
        ok = request.headers.get("authorization") == f"Bearer {TOKEN}"
        return JSONResponse({"data": []}, status_code=200 if ok else 401)

    with serve(Starlette(routes=[Route("/v1/warehouses", endpoint)])) as url:
        code, stderr = run(tmp_path, "--base-url", f"{url}/v1", "--second-token", "other-token-x")
    assert code == 2
    assert "the second token was refused" in one_sentence(stderr)


def test_a_url_that_is_not_the_api(tmp_path: Path) -> None:
    with serve(app_answering(HTMLResponse("<html>welcome</html>"))) as url:
        code, stderr = run(tmp_path, "--base-url", f"{url}/v1")
    assert code == 2
    assert "does not look like the API" in one_sentence(stderr)


def test_a_url_without_the_version_prefix(tmp_path: Path) -> None:
    with serve(app_answering(JSONResponse({}))) as url:
        code, stderr = run(tmp_path, "--base-url", url)  # no /v1: /warehouses is 404
    assert code == 2
    assert "does not look like the API" in one_sentence(stderr)


def test_a_redirect_is_not_followed(tmp_path: Path) -> None:
    with serve(app_answering(RedirectResponse("https://elsewhere.example/v1/warehouses"))) as url:
        code, stderr = run(tmp_path, "--base-url", f"{url}/v1")
    assert code == 2
    assert "redirects to https://elsewhere.example" in one_sentence(stderr)


def test_no_token(tmp_path: Path) -> None:
    done = run_cli(["run", "--base-url", "http://127.0.0.1:1/v1"], cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert "no token" in one_sentence(done.stderr)


def test_security_profile_without_a_second_token(tmp_path: Path) -> None:
    code, stderr = run(tmp_path, "--base-url", "http://127.0.0.1:1/v1", "--profile", "security")
    assert code == 2
    assert "--second-token" in one_sentence(stderr)


def test_unknown_profile_and_bad_driver(tmp_path: Path, refusing_url: str) -> None:
    code, stderr = run(tmp_path, "--base-url", refusing_url, "--profile", "gold")
    assert code == 2 and "unknown profile 'gold'" in one_sentence(stderr)
    code, stderr = run(tmp_path, "--base-url", refusing_url, "--driver", "no_such_module:X")
    assert code == 2 and "cannot be imported" in one_sentence(stderr)


@pytest.mark.parametrize(
    ("given", "named", "suggested"),
    [
        ("api-001", "--only api-001", "did you mean API-001?"),
        ("API-999", "--only API-999: no such requirement id", "did you mean API-009"),
        ("API-013", "--only API-013: the requirement is not testable", "TLS"),
        ("WHK-001", "--only WHK-001: it belongs to the webhooks profile", "--profile webhooks"),
    ],
)
def test_an_unusable_only_id_is_named_with_the_nearest_ids(
    tmp_path: Path, given: str, named: str, suggested: str
) -> None:
    """A typo in --only must not become a run that checks nothing and says NOT CONFORMANT."""
    code, stderr = run(tmp_path, "--base-url", "http://127.0.0.1:9/v1", "--only", given)
    sentence = one_sentence(stderr)
    assert code == 2
    assert named in sentence and suggested in sentence, sentence


def test_core_is_always_part_of_a_run() -> None:
    from conformance.config import resolve_profiles

    assert resolve_profiles(["webhooks"], second_token=None) == ("core", "webhooks")
    assert resolve_profiles([], second_token="t") == ("core", "security")
