"""Build the one-page API reference as a self-contained HTML file that works offline.

    python scripts/build_reference.py --output docs/build/api-reference.html

`redocly build-docs` writes a page that imports Redoc from a CDN: opened without a network it
shows only the pre-rendered overview, and even with its `--inlineBundle` Redoc 3 routes each tag
to its own URL path, which a page opened from disk does not have. Redoc 2's standalone bundle
(npm `redoc`, pinned in package.json) renders every operation, webhook and schema on one page, so
the bundle and the contract (as JSON) are written inline: no script, style or font is fetched.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path
from typing import Any

import fulfillment_spec
from reference_extras import CATALOGUE_PAGE, enrich, render_catalogue

ROOT = Path(__file__).resolve().parents[1]
REDOC_BUNDLE = ROOT / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js"
# Success responses shown open, as the guide's readers look for the body first.
REDOC_OPTIONS = {"expandResponses": "200,201"}
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body {{ margin: 0; padding: 0; font-family: sans-serif; }}</style>
</head>
<body>
<div id="redoc"></div>
<script>{bundle}</script>
<script>Redoc.init({spec}, {options}, document.getElementById("redoc"));</script>
</body>
</html>
"""


def _inline(code: str) -> str:
    """Make JavaScript safe inside a <script> element: only `</script` would close it early.

    Only that sequence is rewritten (`<\\/script`, the same string to JavaScript): a blanket
    `</` rewrite would also change regular expressions in the bundle.
    """
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)


def render(spec: dict[str, Any], bundle: str) -> str:
    """The reference page for `spec`, with the Redoc `bundle` and the spec written inline."""
    return PAGE.format(
        title=html.escape(f"{spec['info']['title']} {spec['info']['version']}"),
        bundle=_inline(bundle),
        spec=_inline(json.dumps(spec)),
        options=json.dumps(REDOC_OPTIONS),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    if not REDOC_BUNDLE.exists():
        print(f"{REDOC_BUNDLE} is missing: run `npm ci` at the repository root", file=sys.stderr)
        return 2
    requirements = list(fulfillment_spec.load_requirements())
    spec = enrich(fulfillment_spec.load_openapi(), requirements)  # linked ids, error tables
    page = render(spec, REDOC_BUNDLE.read_text(encoding="utf-8"))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page, encoding="utf-8")
    catalogue = args.output.parent / CATALOGUE_PAGE  # where the reference's id links point
    catalogue.write_text(
        render_catalogue(requirements, f"{spec['info']['title']} requirements"), encoding="utf-8"
    )
    print(f"wrote {args.output} ({len(page) // 1024} KiB, self-contained)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
