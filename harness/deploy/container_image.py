"""The sample's image in the container backend: loaded from the submitted archive, built from the
submitted context, or made by running the spec's install steps on the lab's base image; images
the lab made are cached, keyed by what made them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import lab_config
from harness.deploy import leftovers
from harness.deploy.base import INSTALL_LOG, DeployError
from harness.deploy.container_engine import (
    LABEL_CACHE,
    LABEL_DEPLOYMENT,
    LABEL_OWNER,
    LABEL_OWNER_START,
    LABEL_ROLE,
    SAMPLE_DIR,
    owner_labels,
)
from harness.deploy.images import BASE_IMAGE
from harness.deploy.process import copy_media, copy_tree
from harness.files import FileRefused, regular_file
from harness.spec import LoadedSpec
from harness.spec.model import check_package_requirement
from harness.templating import TemplateError, render

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image


CACHE_REPO = "harness-lab/sample"
# Bump when the way an image is made from a spec changes, so cached sample images are rebuilt.
CACHE_VERSION = "1"
# The install container runs applicant code too: no network, and only the capabilities that
# file-owning installers (pip, useradd, chown) need.
INSTALL_CAPS = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID"]


def _pip_env(home: Path) -> dict[str, str]:
    """Only what pip needs to reach the index: no PIP_* variable, no host configuration of the user."""
    keep = ("PATH", "LANG", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "HOME": str(home)}


def download_wheels(loaded: LoadedSpec, dest: Path) -> None:
    """Built wheels of the spec's ``deployment.container.wheels`` (and of what they need), from the
    lab's index only, into ``dest``. Each item is a package requirement (checked again here: never a
    pip option such as ``-r /etc/shadow``); pip runs isolated from the host's environment and user
    configuration, and never builds a source distribution (that would run the applicant's setup.py
    on the host)."""
    index = lab_config().pip_index_url
    dest.mkdir(parents=True, exist_ok=True)
    for i, req in enumerate(loaded.spec.deployment.container.wheels):
        field = f"deployment.container.wheels[{i}]"
        try:
            check_package_requirement(req)
        except ValueError as e:
            raise DeployError(str(loaded.problem(field, str(e)))) from None
        cmd = [sys.executable, "-m", "pip", "download", "--isolated", "--no-input", "--disable-pip-version-check"]
        cmd += ["--only-binary=:all:", "--index-url", index, "--dest", str(dest), "--", req]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=_pip_env(dest.parent), cwd=dest)
        except subprocess.TimeoutExpired:
            raise DeployError(str(loaded.problem(field, f"downloading {req!r} from {index} took over 600 s"))) from None
        if r.returncode != 0:
            msg = f"no built wheel of {req!r} (or of what it needs) on {index}; the lab never builds from source"
            raise DeployError(str(loaded.problem(field, msg)), r.stdout + r.stderr)


def tree_hash(root: Path) -> str:
    """Content hash of a directory (relative paths + bytes), the key of the sample image cache."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            h.update(f"L {rel} {os.readlink(p)}\n".encode())
        elif p.is_file():
            h.update(f"F {rel} {p.stat().st_mode & 0o111:o}\n".encode())
            with p.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        elif p.is_dir():
            h.update(f"D {rel}\n".encode())
    return h.hexdigest()


def sample_image(
    client: DockerClient, loaded: LoadedSpec, workdir: Path, values: dict[str, Any], env: dict[str, str]
) -> tuple[Image, str | None, str, bool]:
    """The sample's image: (image, lab base image ID or None, source, reused from cache)."""
    src = loaded.spec.deployment.container
    if src.image_archive:
        image = load_archive(client, loaded.resolve(src.image_archive))
        return image, base_of(client, image, src.base_image), "archive", False
    base = base_image(client, src.base_image)
    if src.build_context:
        image, reused = build(client, loaded, loaded.resolve(src.build_context), src.wheels, base)
        return image, base_of(client, image, src.base_image), "build", reused
    image, reused = install(client, loaded, workdir, values, env, base)
    return image, base.id, "install", reused


def base_image(client: DockerClient, ref: str) -> Image:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(ref)
    except ImageNotFound:
        pass
    from harness.deploy import images

    if ref != BASE_IMAGE:
        raise DeployError(f"base image {ref} is not in the local engine (there is no registry to pull from)")
    try:  # the lab's own base image is built on first use (~45 s once, then reused)
        images.ensure_base_image(log=False)
    except images.ImageBuildError as e:
        raise DeployError(f"cannot build the lab base image: {e}") from None
    return client.images.get(ref)


def base_of(client: DockerClient, image: Image, base_ref: str) -> str | None:
    """The base image's ID if ``image`` is built on it (its layers are a prefix of the image's)."""
    from docker.errors import ImageNotFound

    try:
        base = client.images.get(base_ref)
    except ImageNotFound:
        return None
    bl = base.attrs.get("RootFS", {}).get("Layers", [])
    il = image.attrs.get("RootFS", {}).get("Layers", [])
    return base.id if bl and il[: len(bl)] == bl else None


def load_archive(client: DockerClient, path: Path) -> Image:
    from docker.errors import DockerException

    try:
        regular_file(path)
    except FileRefused as e:
        raise DeployError(f"image archive {path}: {e}") from None
    try:
        with path.open("rb") as f:
            loaded = client.images.load(f)
    except DockerException as e:
        msg = getattr(e, "explanation", None) or str(e)
        raise DeployError(f"cannot load image archive {path}: {msg}") from None
    if not loaded:
        raise DeployError(f"image archive {path} holds no image")
    return loaded[0]


def cached(client: DockerClient, tag: str) -> Image | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(tag)
    except ImageNotFound:
        return None


def build(
    client: DockerClient, loaded: LoadedSpec, context: Path, wheels: list[str], base: Image
) -> tuple[Image, bool]:
    from docker.errors import BuildError, DockerException

    if not (context / "Dockerfile").is_file():
        raise DeployError(f"build context {context} has no Dockerfile")
    key = hashlib.sha256(
        f"{CACHE_VERSION}\nbuild\n{base.id}\n{tree_hash(context)}\n{sorted(wheels)}".encode()
    ).hexdigest()[:20]
    tag = f"{CACHE_REPO}:build-{key}"
    if (hit := cached(client, tag)) is not None:
        return hit, True
    with tempfile.TemporaryDirectory(prefix="harness-build-") as tmp:
        ctx = Path(tmp) / "context"
        copy_tree(context, ctx)  # links stay links; one leading out of the context is refused
        if wheels:
            # The build has no network (and a container's TLS fails here): the host fetches wheels.
            if (ctx / "wheels").is_symlink():
                raise DeployError(f"build context {context}: 'wheels' is a link; the lab downloads wheels there")
            download_wheels(loaded, ctx / "wheels")
        try:
            image, _log = client.images.build(
                path=str(ctx),
                tag=tag,
                network_mode="none",  # nothing inside the build reaches any network
                rm=True,
                forcerm=True,
                pull=False,
                labels={LABEL_CACHE: key},
            )
        except BuildError as e:
            log = "".join(str(x.get("stream") or x.get("error") or "") for x in e.build_log)
            raise DeployError(f"building {context} failed: {e.msg}", log) from None
        except DockerException as e:
            raise DeployError(f"building {context} failed: {e}") from None
    return image, False


def install(
    client: DockerClient,
    loaded: LoadedSpec,
    workdir: Path,
    values: dict[str, Any],
    env: dict[str, str],
    base: Image,
) -> tuple[Image, bool]:
    """The spec's install steps, run in a container of the base image and committed, so the
    image of an unchanged sample is made once."""
    from docker.errors import DockerException

    d = loaded.spec.deployment
    try:
        steps = [(render(s.run, values), s.timeout_s) for s in d.install]
    except TemplateError as e:
        raise DeployError(f"spec template: {e}") from None
    with tempfile.TemporaryDirectory(prefix="harness-media-") as tmp:
        media = Path(tmp) / "sample"
        copy_media(loaded, media)
        key = hashlib.sha256(
            "\n".join(
                [CACHE_VERSION, "install", base.id, tree_hash(media), repr(steps), repr(sorted(env.items()))]
            ).encode()
        ).hexdigest()[:20]
        tag = f"{CACHE_REPO}:install-{key}"
        if (hit := cached(client, tag)) is not None:
            return hit, True
        tar_path = Path(tmp) / "media.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(media, arcname=SAMPLE_DIR.lstrip("/"))
        log = workdir / INSTALL_LOG
        c = None
        key_ledger = ""
        try:
            c = client.containers.create(
                base.id,
                command=["sleep", "infinity"],
                network_mode="none",
                cap_drop=["ALL"],
                cap_add=INSTALL_CAPS,
                security_opt=["no-new-privileges"],
                labels={**owner_labels(), LABEL_ROLE: "install"},
                init=True,
            )
            key_ledger = leftovers.record("container", {"containers": [c.id], "networks": []})
            c.start()
            with tar_path.open("rb") as f:
                c.put_archive("/", f)
            for cmd, timeout_s in steps:
                # coreutils' timeout bounds a step; exec_run itself has no timeout.
                rc, out = c.exec_run(
                    ["timeout", "-k", "5", f"{timeout_s:g}", "/bin/sh", "-c", cmd],
                    workdir=SAMPLE_DIR,
                    environment=env,
                )
                with log.open("ab") as f:
                    f.write(f"$ {cmd}\n".encode() + (out or b""))
                if rc == 124:
                    raise DeployError(
                        f"install step timed out after {timeout_s:g} s: {cmd}", log.read_text(errors="replace")
                    )
                if rc != 0:
                    raise DeployError(f"install step exited {rc}: {cmd}", log.read_text(errors="replace"))
            c.stop(timeout=2)
            image = c.commit(
                repository=CACHE_REPO,
                tag=f"install-{key}",
                conf={
                    # The engine merges the container's labels into the image and cannot drop a
                    # key, so the run labels are overridden: the cache outlives this run and no
                    # cleanup of dead owners' leftovers may match it.
                    "Labels": {
                        LABEL_CACHE: key,
                        LABEL_DEPLOYMENT: "0",
                        LABEL_OWNER: "",
                        LABEL_OWNER_START: "",
                        LABEL_ROLE: "sample-cache",
                    },
                    "WorkingDir": SAMPLE_DIR,
                    "Cmd": ["/bin/sh", "-c", default_cmd(d.start.run, values)],
                },
            )
        except DockerException as e:
            raise DeployError(f"installing the sample in a container failed: {e}") from None
        finally:
            if c is not None:
                with contextlib.suppress(DockerException):
                    c.remove(force=True)
            if key_ledger:
                leftovers.forget(key_ledger)
        return client.images.get(image.id), False


def default_cmd(template: str, values: dict[str, Any]) -> str:
    """The image's default command, for someone looking at the image: the start step as far as it
    can be known when the image is made (deployments always give their own)."""
    try:
        return render(template, values)
    except TemplateError:
        return template


class NotWhileBuilding(Mapping[str, Any]):
    """``{services.…}`` while the image is made: install steps run without any network there.
    A mapping, as templates look names up in mappings only; asking it for a service says why not."""

    def __getitem__(self, name: str) -> Any:
        raise TemplateError(
            f"service {name}: in the container backend the install steps build the image without any network, "
            "so no service is reachable there; use the service in deployment.start or deployment.env"
        )

    def __contains__(self, name: object) -> bool:
        return self[str(name)] is not None  # raises: the reason, not "unknown placeholder"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def note_image(transcript: Path, source: str, reused: bool, image_id: str) -> None:
    """Say in the install transcript where the image came from when no install step ran now."""
    note = {
        "archive": "the image was loaded from the submitted archive: no install step ran in the lab",
        "build": "the image was built from the submitted build context",
    }.get(source, "")
    if reused:
        note = (note + "; " if note else "") + "an image the lab made earlier of the same media and steps was reused"
    if note:
        with transcript.open("a", encoding="utf-8") as f:
            f.write(f"# {note} ({image_id})\n")
