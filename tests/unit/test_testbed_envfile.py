"""make testbed's images.env: a shell sources it cleanly and gets the values; Python reads back the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import testbed  # noqa: E402
from testbed_lib import engine, envfile  # noqa: E402

SETTINGS = testbed.testbed_settings(
    {"LABVM_IMAGE": "lab10-testbed/labvm:abc"}, False, (2, 40, 3), Path("/etc/ssl/certs/ca-certificates.crt")
)


def test_the_settings_hold_a_list_with_spaces_and_an_empty_value():
    assert " " in SETTINGS["LABVM_CAPABILITIES"]
    assert envfile.read(Path("/nonexistent")) == {}


def test_a_shell_sources_images_env_without_running_a_word_of_it(tmp_path):
    path = tmp_path / "images.env"
    path.write_text(envfile.render({**SETTINGS, "EMPTY": ""}, "header"))
    names = sorted({**SETTINGS, "EMPTY": ""})
    script = f"set -eu; set -a; . {path}; " + " ".join(f'printf "%s\\0" "${name}";' for name in names)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert dict(zip(names, done.stdout.split("\0")[:-1], strict=True)) == {**SETTINGS, "EMPTY": ""}


def test_python_reads_back_what_it_wrote(tmp_path):
    path = tmp_path / "images.env"
    path.write_text(envfile.render(SETTINGS, "header"))
    assert envfile.read(path) == SETTINGS
    assert envfile.read(path)["LABVM_CAPABILITIES"] == engine.labvm_settings()["LABVM_CAPABILITIES"]
