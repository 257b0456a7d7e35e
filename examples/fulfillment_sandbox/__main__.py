"""`python -m fulfillment_sandbox --db sandbox.db --port 8000`."""

import sys

from .cli import main

sys.exit(main())
