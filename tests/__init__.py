"""The test suite (a package, so that `tests.conftest` is this folder's even where a library installs its own
top-level `tests` package, as textstat does)."""
