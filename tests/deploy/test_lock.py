"""The lock files agree with pyproject.toml: every dependency (and the extras dev, postgres and
bench) pinned to a release its range allows, every pin hash-checked, the image's lock the same
pins without the test and benchmark tools; and make and the Dockerfile install from them.
A failure here means pyproject.toml changed without `make lock`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(path: Path) -> dict[str, tuple[str, int]]:
    """name: (version, number of hashes) of every pin in a pip-compile lock."""
    found: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            found[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
        elif not line.startswith(" "):
            current = None
    return found


def requirements(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + [
        r for extra in extras for r in project["optional-dependencies"][extra]
    ]
    return [Requirement(text) for text in listed]


LOCK = ROOT / "requirements.lock"
PROD_LOCK = ROOT / "requirements-prod.lock"


@pytest.mark.parametrize(
    ("lock", "extras"), [(LOCK, ("dev", "postgres", "bench")), (PROD_LOCK, ("postgres",))]
)
def test_every_dependency_is_pinned_within_its_range_with_hashes(lock, extras):
    pinned = pins(lock)
    assert len(pinned) >= 20, f"{lock.name} holds no pins: run `make lock`"
    for requirement in requirements(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in {lock.name}: run `make lock`"
        version, _ = pinned[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock.name} pins {name}=={version}, outside pyproject.toml's {requirement}: run `make lock`"
        )
    unhashed = [name for name, (_, hashes) in pinned.items() if hashes == 0]
    assert not unhashed, f"pins without a hash in {lock.name}: {unhashed}"


def test_the_images_lock_has_the_same_pins_and_no_test_or_benchmark_tools():
    everything, image = pins(LOCK), pins(PROD_LOCK)
    for name, (version, _) in image.items():
        assert name in everything and everything[name][0] == version, name
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for tool in [Requirement(text) for extra in ("dev", "bench") for text in optional[extra]]:
        assert canonicalize_name(tool.name) not in image, f"{tool.name} would ship in the image"


def test_make_and_the_image_install_from_the_locks_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
    assert "$(STAMP): pyproject.toml $(LOCK)" in makefile  # a new lock reinstalls
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements-prod.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    assert "requirements-prod.lock" not in (ROOT / ".dockerignore").read_text()
