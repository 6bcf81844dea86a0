"""jaeger-down reuses the shared fixtures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from conftest import lab_vars, pytest_runtest_makereport, service_name  # noqa: E402,F401
