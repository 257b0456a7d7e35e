"""`python -m conformance run ...`: the same as the `fulfillment-conformance` script."""

import sys

from conformance.cli import main

sys.exit(main())
