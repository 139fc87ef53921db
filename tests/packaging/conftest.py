from packaging_support import frozen_app  # noqa: F401  (the session's bundle, for test_bundle.py)
