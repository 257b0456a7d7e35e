"""The CI recipes in examples/ci/: valid for each CI's published schema, and their kit command,
with the recipe's own variable wiring, certifies the sandbox and fails the build on a MUST failure.

The commands are read out of the YAML files and run as the CI would run them (bash), so the test
cannot drift from what a vendor copies. Only the install step is left out: the kit is already
installed here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kit.asgi import Response
from tests.kit.variants import Variant
from tests.live_server import serve

CI = Path(__file__).resolve().parents[2] / "examples" / "ci"
TOKEN = "wms_test_acme_token"
REPORTS = ("reports/report.json", "reports/report.html", "reports/junit.xml")
SCHEMAS = {"github-actions.yml": "vendor.github-workflows", "gitlab-ci.yml": "vendor.gitlab-ci"}
KIT = "fulfillment-conformance run"


def github_recipe() -> tuple[dict[str, str], str]:
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    (job,) = workflow["jobs"].values()
    (step,) = [s for s in job["steps"] if KIT in s.get("run", "")]
    upload = job["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact") and upload["if"] == "always()"
    variable = re.compile(r"^\$\{\{ *(?:vars|secrets)\.(\w+) *\}\}$")
    env = {name: _resolve(variable, str(value)) for name, value in job["env"].items()}
    return env, step["run"]


def gitlab_recipe() -> tuple[dict[str, str], str]:
    config = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    job = config["fulfillment-conformance"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] in REPORTS
    variable = re.compile(r"^\$(\w+)$")
    env = {name: _resolve(variable, str(value)) for name, value in job["variables"].items()}
    script = "\n".join(line for line in job["script"] if KIT in line)
    return env, script


# What the CI's variable and secret store holds, here: filled in per test.
STORE: dict[str, str] = {}


def _resolve(pattern: re.Pattern[str], value: str) -> str:
    match = pattern.match(value)
    return STORE.get(match.group(1), "") if match else value


RECIPES: dict[str, Callable[[], tuple[dict[str, str], str]]] = {
    "github-actions.yml": github_recipe,
    "gitlab-ci.yml": gitlab_recipe,
}


class MissingKeyIs422(Variant):
    """Broken in one MUST way: a create without Idempotency-Key gets 422, not 400 (IDEM-001)."""

    def response(self, req: Any, resp: Response) -> Response:
        if resp.status == 400 and b"idempotency_key_required" in resp.body:
            return Response(422, resp.headers, resp.body)
        return resp


@pytest.fixture
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    from fulfillment_sandbox.app import create_app

    app = create_app(str(tmp_path / "sandbox.db"))
    with serve(MissingKeyIs422(app) if request.param == "broken" else app) as url:
        yield f"{url}/v1"


@pytest.mark.parametrize("recipe", sorted(RECIPES))
@pytest.mark.parametrize(
    ("target", "exit_code"), [("sandbox", 0), ("broken", 1)], indirect=["target"]
)
def test_the_recipe_certifies_or_fails_the_build(
    recipe: str, target: str, exit_code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(STORE, "FULFILLMENT_SANDBOX_URL", target)
    monkeypatch.setitem(STORE, "FULFILLMENT_SANDBOX_TOKEN", TOKEN)
    env, script = RECIPES[recipe]()
    assert "--token" not in script and TOKEN not in script  # the secret never in argv
    work = tmp_path / "job"
    work.mkdir()
    run_env = {
        **os.environ,
        **env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        # A short run: what the kit reads from the environment, as a CI variable would set it.
        "CONFORMANCE_ONLY": "IDEM-001",
        "CONFORMANCE_NO_PROPERTY_BASED": "1",
    }
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=work,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == exit_code, done.stdout + done.stderr
    for report in REPORTS:
        text = (work / report).read_text()
        assert "IDEM-001" in text and TOKEN not in text
    assert TOKEN not in done.stdout + done.stderr


@pytest.mark.parametrize("recipe", sorted(SCHEMAS))
def test_the_recipe_is_valid_for_its_ci_schema(recipe: str) -> None:
    checker = shutil.which("check-jsonschema") or str(
        Path(sys.executable).parent / "check-jsonschema"
    )
    done = subprocess.run(
        [checker, "--builtin-schema", SCHEMAS[recipe], str(CI / recipe)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
