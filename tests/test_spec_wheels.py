"""`deployment.container.wheels` (issue #15): package requirements only, built wheels only, from the
lab's index only; nothing of the host's configuration or files leaks into the build."""

import uuid
from pathlib import Path

import pytest

from harness.deploy.base import DeployError
from harness.deploy.container import ContainerDeployer, download_wheels
from harness.spec import load_spec
from tests.conftest import SPECS


def _spec(tmp_path: Path, *wheels: str) -> Path:
    p = tmp_path / "spec.yaml"
    items = "".join(f"      - '{w}'\n" for w in wheels)
    p.write_text(f"extends: {SPECS / 'refpay.yaml'}\ndeployment:\n  container:\n    wheels:\n{items}")
    return p


def test_pip_options_are_refused_again_at_use(tmp_path):
    """Should a spec ever reach the deployer unchecked, the requirement is checked again there."""
    p = _spec(tmp_path, "six==1.16.0", "six")
    loaded = load_spec(p)
    loaded.spec.deployment.container.wheels = ["six==1.16.0", "-r"]  # bypasses the model's validation
    with pytest.raises(DeployError) as e:
        download_wheels(loaded, tmp_path / "wheels")
    assert str(e.value).startswith(f"{p}:6: deployment.container.wheels[1]: '-r' is a pip option, not a package")


@pytest.mark.slow
def test_only_built_wheels_from_the_labs_index(tmp_path, monkeypatch):
    # The host's pip configuration must not matter: a PIP_ variable pointing elsewhere is ignored.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/nothing-here")
    monkeypatch.setenv("PIP_NO_BINARY", ":all:")
    p = _spec(tmp_path, "six==1.16.0", "pycrypto==2.6.1")  # pycrypto exists only as a source distribution
    with pytest.raises(DeployError) as e:
        download_wheels(load_spec(p), tmp_path / "wheels")
    first = str(e.value).splitlines()[0]
    assert first == (
        f"{p}:6: deployment.container.wheels[1]: no built wheel of 'pycrypto==2.6.1' (or of what it needs) on "
        "https://pypi.org/simple; the lab never builds from source"
    )
    assert [w.name for w in (tmp_path / "wheels").iterdir()] == ["six-1.16.0-py2.py3-none-any.whl"]


@pytest.mark.slow
@pytest.mark.docker
def test_a_build_context_gets_its_wheels_and_nothing_of_the_host(tmp_path):
    # Imported here: that module skips itself (and would skip this whole file) without an engine.
    from tests.test_container_backend import SERVER, TARGET, make_spec

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "server.py").write_text(SERVER)
    (ctx / "run-id").write_text(uuid.uuid4().hex)  # a fresh build every run: the download is exercised
    (ctx / "Dockerfile").write_text(
        "FROM harness-lab/base:bookworm\nWORKDIR /opt/sample\nCOPY server.py app/server.py\nCOPY wheels /wheels\n"
        "RUN python3 -m zipfile -e /wheels/six-1.16.0-py2.py3-none-any.whl /opt/six"
        " && PYTHONPATH=/opt/six python3 -c 'import six; print(six.__version__)' > installed.txt\n"
    )
    deployer = ContainerDeployer()
    (ctx / "host").symlink_to("/etc")  # a link out of the build context: refused, never sent
    spec = make_spec(tmp_path, install=[], container={"build_context": "ctx", "wheels": ["six==1.16.0"]})
    with pytest.raises(DeployError, match="host is a link to /etc, outside the medium"):
        deployer.deploy(spec, TARGET, tmp_path / "w0")
    (ctx / "host").unlink()
    dep = deployer.deploy(spec, TARGET, tmp_path / "w")
    try:
        assert dep.read_file("app/started.txt").decode().strip() == "hello 1.16.0"
    finally:
        deployer.teardown(dep)
        dep.client.images.remove(dep.info["image_id"], force=True)
