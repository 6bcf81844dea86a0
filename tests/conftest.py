"""Shared pytest setup.

The project's own module_utils and modules are importable the way Ansible runs them:
`ansible.module_utils.jaeger.query` (ansible.cfg's module_utils = ./module_utils) and
`ansible.modules.jaeger_trace` (library = ./library), so their relative imports resolve as in
ansiballz. `jaeger_replay` serves the recorded Jaeger exchanges in tests/fixtures/jaeger/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ansible.module_utils
import ansible.modules

ROOT = Path(__file__).resolve().parents[1]

for package, directory in ((ansible.module_utils, ROOT / "module_utils"), (ansible.modules, ROOT / "library")):
    if str(directory) not in package.__path__:
        package.__path__.append(str(directory))
if str(ROOT / "tests" / "fixtures" / "jaeger") not in sys.path:
    sys.path.append(str(ROOT / "tests" / "fixtures" / "jaeger"))
