"""The run's evidence: JSON (a contract for scripts), HTML (a certificate for people), console.

JUnit XML comes from pytest's own `--junitxml`. Every writer works from the JSON report's dict, so
the three can never disagree, and that dict is scrubbed of secrets once, when it is built.
"""
