"""fulfillment-conformance: the conformance kit for the fulfillment API contract.

Who runs it: a 3PL vendor in CI against its sandbox, or an ERP team certifying a partner
(`fulfillment-conformance run ...`, or plain pytest through the plugin). What it produces: one
outcome per requirement of spec/requirements.yaml (passed, failed, warning, skipped,
not_applicable), a verdict, and JSON, HTML and JUnit evidence with no secret in any of them.

How the pieces fit (each module says why it exists):

- `catalogue`  the requirements, and `@requirement(...)` that ties a check to their ids;
- `config`     the run's settings (CLI options, `--conformance-*` pytest options, `CONFORMANCE_*`);
- `http`       `ApiClient`: timeouts, Retry-After, rate cap, request count, recording, no redirects;
- `validation` responses against the spec (status documented, schema with formats);
- `driver`     warehouse-side events (the spec's /sandbox endpoints, or a vendor class);
- `factories`  run-tagged test data (`factory` fixture);
- `plugin`     the pytest plugin: options, fixtures (`fixtures`), selection, outcome collection;
- `outcomes`   per-check results -> per-requirement outcomes -> verdict;
- `reports`    JSON (contract), HTML (certificate), console summary; JUnit comes from pytest;
- `redaction`  one place that masks tokens and webhook secrets in everything written;
- `cli`        `fulfillment-conformance run|demo`: preflight, then pytest over `conformance.checks`.

The kit depends on `fulfillment_spec` only, never on the sandbox (ARCHITECTURE.md).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["DISTRIBUTION", "__version__"]

DISTRIBUTION = "fulfillment-conformance"

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
