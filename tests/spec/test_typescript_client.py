"""A second generator: TypeScript types from the spec (openapi-typescript) that `tsc` accepts.

`openapi-typescript` and `typescript` are pinned in package.json (`npm ci` installs them). The
types are generated from `spec/openapi.yaml` with `--default-non-nullable false` (a request field
with a default, such as `insurance`, stays optional for the client that sends it) and
`tests/spec/typescript/scenario.ts`, the ERP scenario written against them, must pass
`tsc --strict`, its `@ts-expect-error` lines included. Generated once more from a copy of the spec
where `OrderCreate.items` is no longer required, the same scenario must fail: the types carry
the contract, not `any`. Without the tools the test skips locally; under CI it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fulfillment_spec
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"
GENERATOR, TSC = BIN / "openapi-typescript", BIN / "tsc"
SCENARIO = Path(__file__).resolve().parent / "typescript" / "scenario.ts"
GENERATOR_ARGS = ("--default-non-nullable", "false", "--output")
TSC_ARGS = ("--strict", "--noEmit", "--target", "es2022", "--module", "es2022")

pytestmark = pytest.mark.timeout(1800)


def typecheck(spec_path: Path, workdir: Path) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Generates `api.d.ts` from `spec_path` next to a copy of the scenario, then runs tsc:
    (the generator's own output, tsc's result)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NO_COLOR": "1"}
    generated = subprocess.run(
        [str(GENERATOR), str(spec_path), *GENERATOR_ARGS, str(workdir / "api.d.ts")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    shutil.copy(SCENARIO, workdir / "scenario.ts")
    checked = subprocess.run(
        [str(TSC), *TSC_ARGS, "--moduleResolution", "bundler", "scenario.ts"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    return generated.stdout + generated.stderr, checked


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[str, subprocess.CompletedProcess[str]]]:
    if not (GENERATOR.exists() and TSC.exists()):
        if os.environ.get("CI"):
            pytest.fail(f"{GENERATOR} or {TSC} is missing under CI: run `npm ci`")
        pytest.skip("openapi-typescript / tsc not installed (run `npm ci`)")
    root = tmp_path_factory.mktemp("typescript")
    document = yaml.safe_load(fulfillment_spec.OPENAPI_PATH.read_text(encoding="utf-8"))
    create = document["components"]["schemas"]["OrderCreate"]
    create["required"] = [name for name in create["required"] if name != "items"]
    loosened = root / "loosened.yaml"
    loosened.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with ThreadPoolExecutor(2) as pool:
        spec = pool.submit(typecheck, fulfillment_spec.OPENAPI_PATH, root / "spec")
        loose = pool.submit(typecheck, loosened, root / "loosened")
        return {"spec": spec.result(), "loosened": loose.result()}


def test_generator_prints_no_warning(results: dict[str, Any]) -> None:
    output, _ = results["spec"]
    lines = [line for line in output.splitlines() if line.strip()]
    noise = [line for line in lines if "openapi-typescript" not in line and "→" not in line]
    assert not noise, "\n".join(noise)


def test_the_typed_scenario_compiles(results: dict[str, Any]) -> None:
    _, checked = results["spec"]
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_looser_contract_fails_the_scenario(results: dict[str, Any]) -> None:
    _, checked = results["loosened"]
    assert checked.returncode != 0, "expected tsc to refuse the scenario on a looser OrderCreate"
    assert "Unused '@ts-expect-error' directive" in checked.stdout, checked.stdout
