"""A non-editable install ships every module, the config tree and the launcher presets."""

import subprocess
import sys
import zipfile

from conftest import REPO


def test_wheel_contains_package_conf_and_launchers(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("gliner_exp-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(REPO).as_posix() for p in (REPO / "gliner_exp").rglob("*.py")}
    expected |= {"gliner_exp/conf/" + p.relative_to(REPO / "conf").as_posix() for p in (REPO / "conf").rglob("*.yaml")}
    expected |= {"gliner_exp/launchers/" + p.relative_to(REPO / "launchers").as_posix()
                 for p in (REPO / "launchers").rglob("*.yaml")}
    expected.add("hydra_plugins/gliner_exp_searchpath/__init__.py")
    expected |= {p.relative_to(REPO).as_posix() for p in (REPO / "hydra_plugins" / "gliner_exp_local_launcher").glob("*.py")}
    missing = sorted(expected - names)
    assert not missing, f"missing from the wheel: {missing}"
