"""The client check (issue 12): does an ERP's client survive what the contract lets a warehouse do?

A scripted day of business (`day.py`) runs the ERP's client, plugged in through a small adapter
(`adapter.py`), against the sandbox in chaos mode; `judge.py` then judges from the sandbox's own
records, over HTTP only (the kit never imports the sandbox), and names each finding with a
`CLI-...` id. `command.py` is `fulfillment-conformance client`.
"""
