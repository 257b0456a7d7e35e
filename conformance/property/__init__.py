"""Property-based checks: Schemathesis over every operation, with the kit's checks registered."""
