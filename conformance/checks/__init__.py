"""The conformance checks: plain pytest functions, each citing the requirement ids it verifies.

`fulfillment-conformance run` runs this package with pytest; so does
`pytest --pyargs conformance.checks --conformance-base-url URL`. Every check takes the plugin's
fixtures (`api`, `second_api`, `driver`, `factory`, `spec`, `schema_validator`, `run_id`,
`conformance_config`) and is decorated with `@requirement("ID", ...)`. `test_zz_responses.py`
runs last and judges every response the other checks recorded.
"""
