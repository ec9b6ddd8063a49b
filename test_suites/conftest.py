"""Suites are plain pytest files; the harness plugin (entry point `harness`) supplies the fixtures
`driver`, `deployment`, `evidence`, `spec` and `params`. Checks assert for product failures; any
other exception is recorded as a lab error, never as a failure of the sample."""
