"""Shared pytest setup.

The project's own module_utils and modules are importable the way Ansible sees them:
`ansible.module_utils.jaeger_query` (ansible.cfg's module_utils = ./module_utils) and
`jaeger_trace` from library/ (library = ./library). `jaeger_replay` serves the recorded
Jaeger exchanges in tests/fixtures/jaeger/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ansible.module_utils

ROOT = Path(__file__).resolve().parents[1]

if str(ROOT / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(ROOT / "module_utils"))
for extra in (ROOT / "library", ROOT / "tests" / "fixtures" / "jaeger"):
    if str(extra) not in sys.path:
        sys.path.append(str(extra))
