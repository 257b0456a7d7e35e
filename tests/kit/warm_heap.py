"""Imported last by the warm kit's fork server (tests/kit/warm_kit.py): the process-wide caches
every kit run fills first, filled once, then the fork server's heap frozen for the garbage
collector.

- The caches: the parsed spec and catalogue and the operation table (`contract.operations()`,
  which every run's preflight calls). Filled here, a forked run finds them as a subprocess run
  would after its first call: same values, read from the same files at the same paths.
- The freeze (`gc.freeze()`, what the gc module's documentation advises before forking workers):
  the preloaded modules leave some 67,000 collectable objects that never die. Unfrozen, every
  collection of the oldest generation in a forked run walks them all (about 0.1 s of CPU each on
  a slow machine). That includes the one pytest forces when a session ends
  (`_pytest.unraisableexception`), which alone was 6 % of a gallery run's CPU. Walking them also
  writes to pages the child would otherwise share with the fork server. Frozen, they stay out of
  every collection; the run's own objects are collected as before.
"""

from __future__ import annotations

import contextlib
import gc

from conformance import catalogue, contract

# Best effort, as the preload: a failure here leaves a run to fill the caches itself.
# (the catalogue reads the requirements, the operation table the OpenAPI document)
with contextlib.suppress(Exception):
    catalogue.catalogue()
    contract.operations()
gc.collect()
gc.freeze()
