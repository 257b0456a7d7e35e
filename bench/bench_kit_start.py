"""CPU of a small kit run started as a subprocess (`python -m conformance`) and forked from the
warm fork server the test galleries use (tests/kit/warm_kit.py).

Serves the reference sandbox in this process, runs the kit `--only ORD-001` N times each way and
prints the CPU seconds of the kit processes per run (the fork server's own start-up counted in the
warm total). Asserts nothing; the suite starts about 160 kit runs, so each 0.1 s here is about 16
CPU-seconds of CI.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fulfillment_sandbox.app import create_app  # noqa: E402

from tests.kit import warm_kit  # noqa: E402
from tests.kit.harness import run_kit  # noqa: E402
from tests.live_server import serve  # noqa: E402

ARGS = ["--no-property-based", "--only", "ORD-001"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def runs(url: str, root: Path, count: int, *, warm: bool) -> float:
    """CPU seconds of `count` kit runs' processes (and, warm, of the fork server)."""
    before = children_cpu()
    for index in range(count):
        tmp = root / f"{'warm' if warm else 'cold'}-{index}"
        tmp.mkdir(parents=True)
        result = run_kit(url, "wms_test_acme_token", extra_args=ARGS, tmp_path=tmp, warm=warm)
        if result.exit_code != 0:
            sys.exit(f"kit run failed (exit {result.exit_code}): {result.stderr[-1500:]}")
    if warm:
        warm_kit.stop()  # reaped: its runs' CPU joins this process's children
    return children_cpu() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    count = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="bench-kit-start-") as tmp:
        root = Path(tmp)
        with serve(create_app(str(root / "sandbox.db"))) as url:
            runs(f"{url}/v1", root / "warm-up", 1, warm=False)  # bytecode written once
            cold = runs(f"{url}/v1", root, count, warm=False)
            warm = runs(f"{url}/v1", root, count, warm=True)
    print(f"kit run --only ORD-001, {count} runs each (CPU seconds of the kit processes):")
    print(f"  subprocess  {cold:6.2f} total  {cold / count:5.2f} per run")
    print(f"  warm fork   {warm:6.2f} total  {warm / count:5.2f} per run (fork server included)")


if __name__ == "__main__":
    main()
