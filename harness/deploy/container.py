"""Run the sample in a container of the local engine, limited to its declared minimum configuration
and cut off from every network but the lab's.

Network design (verified on Debian's docker.io 20.10, see tests/test_container_backend.py):
an ``internal=True`` network gives the sample no route out, but the engine then ignores published
ports, so the host could not reach ``127.0.0.1:PORT``. So each deployment has two containers:

- the *sample*, attached only to its own internal network: no way out;
- an *edge* (a tiny TCP forwarder, lab code on the lab base image), attached to the default bridge
  with the ports published on 127.0.0.1 (random host port) and to the sample's internal network.

The host talks to 127.0.0.1:PORT -> docker-proxy -> edge -> sample. The edge, not the harness
process, forwards, so the published ports survive as long as the containers do and a busy check
does not compete with the harness for the GIL. Only TCP is forwarded.

The docker SDK is imported inside functions, so this module imports (and ``deployer_for`` works)
on a machine without an engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import lab_config
from harness.deploy import hostfw, leftovers, services
from harness.deploy.base import (
    INSTALL_LOG,
    OUTPUT_LOG,
    Deployer,
    DeployError,
    Deployment,
    Target,
    register,
    wait_healthy,
)
from harness.deploy.images import BASE_IMAGE, SERVICES_RECIPE, SERVICES_REPO
from harness.deploy.process import copy_media, copy_tree
from harness.files import FileRefused, regular_file
from harness.spec import LoadedSpec
from harness.spec.model import check_package_requirement
from harness.templating import TemplateError, deploy_values, render

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container
    from docker.models.images import Image

SAMPLE_DIR = "/opt/sample"
LABEL_OWNER = "harness-lab.run-owner-pid"
LABEL_OWNER_START = "harness-lab.run-owner-start"  # guards against a reused pid
LABEL_DEPLOYMENT = "harness-lab.deployment"
LABEL_ROLE = "harness-lab.role"
LABEL_CACHE = "harness-lab.sample-cache"  # images kept across runs, keyed by what built them
CACHE_REPO = "harness-lab/sample"
# Bump when the way an image is made from a spec changes, so cached sample images are rebuilt.
CACHE_VERSION = "1"
# The install container runs applicant code too: no network, and only the capabilities that
# file-owning installers (pip, useradd, chown) need.
INSTALL_CAPS = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID"]

# The edge's forwarder: python3 -c FORWARDER <sample-name> <listen:target> ...
FORWARDER = r"""
import asyncio, sys
async def pipe(r, w):
    try:
        while True:
            b = await r.read(65536)
            if not b:
                break
            w.write(b)
            await w.drain()
        if w.can_write_eof():
            w.write_eof()
    except Exception:
        pass
async def main():
    ip = sys.argv[1]
    servers = []
    for spec in sys.argv[2:]:
        lp, tp = (int(x) for x in spec.split(":"))
        async def handle(cr, cw, tp=tp):
            try:
                tr, tw = await asyncio.open_connection(ip, tp)
            except OSError:
                cw.close()
                return
            await asyncio.gather(pipe(cr, tw), pipe(tr, cw))
            for w in (cw, tw):
                w.close()
        servers.append(await asyncio.start_server(handle, "0.0.0.0", lp, reuse_address=True))
    print("edge ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))
asyncio.run(main())
"""


def owner_labels() -> dict[str, str]:
    pid = os.getpid()
    return {LABEL_OWNER: str(pid), LABEL_OWNER_START: leftovers.process_start(pid), LABEL_DEPLOYMENT: "1"}


def _owner_gone(labels: dict[str, str]) -> bool:
    try:
        pid = int(labels.get(LABEL_OWNER, ""))
    except ValueError:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    start = labels.get(LABEL_OWNER_START)
    return bool(start) and leftovers.process_start(pid) not in ("", start)


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


def docker_client() -> DockerClient:
    """A client of the local engine, or a DeployError saying how to start one."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        raise DeployError("the container backend needs the 'docker' Python package") from None
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as e:
        raise DeployError(f"docker engine not reachable ({e}); start it with lab_env/setup_docker.sh") from None
    return client


def _tree_hash(root: Path) -> str:
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


def _archive_member(container: Container, path: str) -> bytes:
    """One regular file out of a (running or stopped) container."""
    from docker.errors import NotFound

    try:
        stream, _stat = container.get_archive(path)
    except NotFound:
        raise FileNotFoundError(f"{path} does not exist in container {container.short_id}") from None
    buf = io.BytesIO(b"".join(stream))
    with tarfile.open(fileobj=buf) as tar:
        member = tar.next()
        if member is None or not member.isfile():
            raise IsADirectoryError(f"{path} is not a regular file in container {container.short_id}")
        f = tar.extractfile(member)
        assert f is not None
        return f.read()


@dataclass
class ContainerDeployment(Deployment):
    client: Any = None  # docker.DockerClient; Any so the dataclass needs no docker import
    container_id: str = ""
    edge_id: str = ""
    network_id: str = ""
    sample_dir: str = SAMPLE_DIR
    log_files: list[str] = field(default_factory=list)
    collect_files: list[str] = field(default_factory=list)
    ledger_key: str = ""
    bridge: str = ""
    service_ids: list[str] = field(default_factory=list)  # containers of the declared services
    torn_down: bool = False

    @property
    def collected_dir(self) -> Path:
        return self.workdir / "collected"

    def _container(self) -> Container | None:
        from docker.errors import NotFound

        if not self.container_id or self.client is None:
            return None
        try:
            return self.client.containers.get(self.container_id)
        except NotFound:
            return None

    def container_logs(self) -> str:
        c = self._container()
        return c.logs(stdout=True, stderr=True).decode(errors="replace") if c else ""

    def _path(self, relative: str) -> str:
        norm = posixpath.normpath(posixpath.join(self.sample_dir, relative))
        if not (norm + "/").startswith(self.sample_dir.rstrip("/") + "/") or norm == self.sample_dir:
            raise PermissionError(f"{relative} is outside the sample's directory")
        return norm

    def logs(self) -> str:
        if self.torn_down:  # everything was kept in the workdir before the container went
            out = self.workdir / OUTPUT_LOG
            return out.read_text(errors="replace") if out.exists() else ""
        parts = [self.container_logs()]
        for rel in self.log_files:
            try:
                parts.append(f"--- {rel} ---\n" + self.read_file(rel).decode(errors="replace"))
            except (OSError, PermissionError):
                continue
        return "\n".join(p for p in parts if p)

    def read_file(self, relative: str) -> bytes:
        path = self._path(relative)
        c = self._container()
        if c is not None:
            return _archive_member(c, path)
        kept = (self.collected_dir / relative).resolve()
        if kept.is_relative_to(self.collected_dir.resolve()) and kept.is_file():
            return kept.read_bytes()
        raise FileNotFoundError(f"{relative}: the container is gone and the file was not collected at teardown")

    def alive(self) -> bool:
        c = self._container()
        if c is None:
            return False
        return c.status == "running"

    def exit_status(self) -> int | None:
        c = self._container()
        return None if c is None or c.status == "running" else c.attrs["State"].get("ExitCode")

    # answering_socket_holder: the base's None holds here. The host port is one the engine allocated
    # and published on the edge, which forwards only into the sample's own container.

    def kill(self) -> None:
        from docker.errors import DockerException

        c = self._container()
        if c is None:
            raise DeployError("the sample container is gone: nothing to kill")
        try:
            c.kill()  # SIGKILL to the container's init and with it every process in it
            c.wait(timeout=30)
        except DockerException as e:
            raise DeployError(f"docker kill of the sample failed: {e}") from None

    def restart(self, timeout_s: float) -> float:
        """The same container started again: the engine runs its start step on the files it kept."""
        from docker.errors import DockerException

        assert self.loaded is not None, "deployed without its spec"
        c = self._container()
        if c is None:
            raise DeployError("the sample container is gone: nothing to start again")
        try:
            c.start()
            c.reload()
        except DockerException as e:
            raise DeployError(f"docker start of the sample failed: {e}") from None
        networks = c.attrs["NetworkSettings"]["Networks"]
        self.info["sample_ip"] = next((n.get("IPAddress") for n in networks.values()), None)
        return wait_healthy(self.loaded, self, self.alive, self.logs, timeout_s)


@register("container")
class ContainerDeployer(Deployer):
    def deploy(self, loaded: LoadedSpec, target: Target, workdir: Path) -> ContainerDeployment:
        d = loaded.spec.deployment
        udp = [p.name for p in d.ports if p.protocol != "tcp"]
        if udp:
            raise DeployError(f"the container backend forwards TCP only; UDP ports declared: {', '.join(udp)}")
        client = docker_client()
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        declared = {p.name: p.port for p in d.ports}
        # bind 0.0.0.0: inside its own network namespace; only the edge can reach it
        values = deploy_values(SAMPLE_DIR, "0.0.0.0", "127.0.0.1", declared, _NotWhileBuilding())
        try:
            # The image is built without any network: variables naming a service are set at start only.
            env = {k: render(v, values) for k, v in d.env.items() if "{services." not in v}
        except TemplateError as e:
            raise DeployError(f"spec template: {e}") from None

        t0 = time.monotonic()
        image, base_id, source, reused = self._image(client, loaded, workdir, values, env)
        image_s = time.monotonic() - t0
        _note_image(workdir / INSTALL_LOG, source, reused, image.id)
        sample_dir = (image.attrs.get("Config") or {}).get("WorkingDir") or SAMPLE_DIR
        if source != "install":
            sample_dir = sample_dir if sample_dir != "/" else SAMPLE_DIR

        dep = ContainerDeployment(
            target=target,
            host="127.0.0.1",
            ports={},
            workdir=workdir,
            info={
                "backend": "container",
                "host": "127.0.0.1",
                "image_id": image.id,
                "image_tags": list(image.tags),
                "base_image_id": base_id,
                "image_source": source,
                "image_reused": reused,
                "image_s": round(image_s, 3),
                "install_transcript": INSTALL_LOG,
                "cpus": d.resources.cpus,
                "memory_mb": d.resources.memory_mb,
            },
            loaded=loaded,
            client=client,
            sample_dir=sample_dir,
            log_files=list(d.log_files),
            collect_files=list(dict.fromkeys([*d.log_files, *d.data_files])),
        )
        try:
            self._run(client, dep, loaded, image, values)
            dep.info["healthy_after_s"] = round(wait_healthy(loaded, dep, dep.alive, dep.logs), 3)
        except DeployError as e:
            c = dep._container()
            if c is not None:
                c.reload()
                if c.status != "running":
                    code = c.attrs["State"].get("ExitCode")
                    logs = dep.logs()
                    self.teardown(dep)
                    raise DeployError(
                        f"the sample container exited with code {code} before it became healthy", logs
                    ) from None
            e.logs = e.logs or dep.logs()
            self.teardown(dep)
            raise
        except BaseException:
            self.teardown(dep)
            raise
        dep.info["deploy_s"] = round(time.monotonic() - t0, 3)
        return dep

    # --- image -------------------------------------------------------------------------------

    def _image(
        self, client: DockerClient, loaded: LoadedSpec, workdir: Path, values: dict[str, Any], env: dict[str, str]
    ) -> tuple[Image, str | None, str, bool]:
        """The sample's image: (image, lab base image ID or None, source, reused from cache)."""
        src = loaded.spec.deployment.container
        if src.image_archive:
            image = self._load_archive(client, loaded.resolve(src.image_archive))
            return image, self._base_of(client, image, src.base_image), "archive", False
        base = self._base_image(client, src.base_image)
        if src.build_context:
            image, reused = self._build(client, loaded, loaded.resolve(src.build_context), src.wheels, base)
            return image, self._base_of(client, image, src.base_image), "build", reused
        image, reused = self._install(client, loaded, workdir, values, env, base)
        return image, base.id, "install", reused

    @staticmethod
    def _base_image(client: DockerClient, ref: str) -> Image:
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

    @staticmethod
    def _base_of(client: DockerClient, image: Image, base_ref: str) -> str | None:
        """The base image's ID if ``image`` is built on it (its layers are a prefix of the image's)."""
        from docker.errors import ImageNotFound

        try:
            base = client.images.get(base_ref)
        except ImageNotFound:
            return None
        bl = base.attrs.get("RootFS", {}).get("Layers", [])
        il = image.attrs.get("RootFS", {}).get("Layers", [])
        return base.id if bl and il[: len(bl)] == bl else None

    @staticmethod
    def _load_archive(client: DockerClient, path: Path) -> Image:
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

    @staticmethod
    def _cached(client: DockerClient, tag: str) -> Image | None:
        from docker.errors import ImageNotFound

        try:
            return client.images.get(tag)
        except ImageNotFound:
            return None

    def _build(
        self, client: DockerClient, loaded: LoadedSpec, context: Path, wheels: list[str], base: Image
    ) -> tuple[Image, bool]:
        from docker.errors import BuildError, DockerException

        if not (context / "Dockerfile").is_file():
            raise DeployError(f"build context {context} has no Dockerfile")
        key = hashlib.sha256(
            f"{CACHE_VERSION}\nbuild\n{base.id}\n{_tree_hash(context)}\n{sorted(wheels)}".encode()
        ).hexdigest()[:20]
        tag = f"{CACHE_REPO}:build-{key}"
        if (hit := self._cached(client, tag)) is not None:
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

    def _install(
        self,
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
                    [CACHE_VERSION, "install", base.id, _tree_hash(media), repr(steps), repr(sorted(env.items()))]
                ).encode()
            ).hexdigest()[:20]
            tag = f"{CACHE_REPO}:install-{key}"
            if (hit := self._cached(client, tag)) is not None:
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
                        "Cmd": ["/bin/sh", "-c", _default_cmd(d.start.run, values)],
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

    # --- run ---------------------------------------------------------------------------------

    def _run(
        self,
        client: DockerClient,
        dep: ContainerDeployment,
        loaded: LoadedSpec,
        image: Image,
        values: dict[str, Any],
    ) -> None:
        from docker.errors import APIError, DockerException

        d = loaded.spec.deployment
        run_id = uuid.uuid4().hex[:10]
        labels = {**owner_labels(), "harness-lab.sample": loaded.spec.sample.name[:60]}
        # The ledger is written first, so a crash between any two steps below leaves a record.
        dep.ledger_key = leftovers.record("container", {"run": run_id, "workdir": str(dep.workdir)})
        try:
            bridge = f"hl-{run_id}"  # a known interface name, for the host firewall rule below
            net = client.networks.create(
                f"harness-lab-{run_id}",
                driver="bridge",
                internal=True,
                options={"com.docker.network.bridge.name": bridge},
                labels={**labels, LABEL_ROLE: "network"},
            )
            dep.network_id = net.id
            dep.bridge = bridge
            dep.info["host_firewall"] = hostfw.close_host(bridge)
            self._services(client, dep, loaded, net.name, run_id, labels)
            try:
                values = {**values, "services": services.template_namespace(dep.services)}
                env = {k: render(v, values) for k, v in d.env.items()}
                start_cmd = render(d.start.run, values)
            except TemplateError as e:
                raise DeployError(f"spec template: {e}") from None
            c = client.containers.create(
                image.id,
                name=f"harness-lab-{run_id}-sample",
                entrypoint=["/bin/sh", "-c"],
                command=[start_cmd],
                working_dir=dep.sample_dir,
                environment=env,
                network=net.name,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                nano_cpus=int(d.resources.cpus * 1e9),
                mem_limit=f"{d.resources.memory_mb}m",
                memswap_limit=f"{d.resources.memory_mb}m",  # no swap beyond the declared memory
                stop_signal=d.stop_signal,
                init=True,  # signals reach the sample, zombies are reaped
                labels={**labels, LABEL_ROLE: "sample"},
            )
            dep.container_id = c.id
            self._ledger(dep)
            c.start()
            c.reload()
            ip = c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
            dep.info.update(container_id=c.id, network=net.name, sample_ip=ip)
            # The edge runs lab code on the lab image (it needs python3, the sample's image may not).
            # It finds the sample by name (the engine's DNS on the internal network), not by this IP:
            # a sample the continuity checks kill and start again comes back at another address.
            edge = client.containers.create(
                self._base_image(client, BASE_IMAGE).id,
                name=f"harness-lab-{run_id}-edge",
                command=["python3", "-c", FORWARDER, c.name, *(f"{p.port}:{p.port}" for p in d.ports)],
                ports={f"{p.port}/tcp": ("127.0.0.1", None) for p in d.ports},
                network="bridge",
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                mem_limit="64m",
                nano_cpus=int(1e9),
                labels={**labels, LABEL_ROLE: "edge"},
            )
            dep.edge_id = edge.id
            self._ledger(dep)
            net.connect(edge)
            edge.start()
            edge.reload()
        except APIError as e:
            msg = e.explanation or str(e)
            if "already allocated" in msg or "address already in use" in msg:
                raise DeployError(f"a host port for the sample is already in use: {msg}") from None
            raise DeployError(f"the docker engine refused to start the sample: {msg}") from None
        except DockerException as e:
            raise DeployError(f"the docker engine failed while starting the sample: {e}") from None
        published = edge.attrs["NetworkSettings"]["Ports"]
        for p in d.ports:
            bindings = published.get(f"{p.port}/tcp") or []
            if not bindings:
                raise DeployError(f"the engine published no host port for {p.name} ({p.port}/tcp)")
            dep.ports[p.name] = int(bindings[0]["HostPort"])
        dep.info["ports"] = dict(dep.ports)

    def _services(
        self, client: DockerClient, dep: ContainerDeployment, loaded: LoadedSpec, network: str, run_id: str,
        labels: dict[str, str],
    ) -> None:  # fmt: skip
        """Each declared service in a container of its own beside the sample, on its internal
        network, from the lab's services image; the lab reaches it from the host on its address."""
        decls = loaded.spec.deployment.services
        if not decls:
            return
        image = self._services_image(client)
        for decl in decls:
            lab_pw = services.password()
            c = client.containers.create(
                image.id,
                name=f"harness-lab-{run_id}-svc-{decl.name}",
                command=["/bin/sh", "-c", services.CONTAINER_SCRIPT[decl.kind]],
                user=services.SYSTEM_USER[decl.kind],
                environment={"LAB_PASSWORD": lab_pw},
                network=network,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                mem_limit="256m",
                nano_cpus=int(1e9),
                init=True,
                labels={**labels, LABEL_ROLE: f"service-{decl.kind}"},
            )
            dep.service_ids.append(c.id)
            self._ledger(dep)
            c.start()
            c.reload()
            ip = c.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
            inst = services.container_instance(decl, ip, c.id, lab_pw)
            dep.services[decl.name] = inst
            services.wait_ready(inst, partial(_service_exit, client), partial(_service_logs, client))
            services.set_up(inst, partial(_service_logs, client))
        dep.info["services"] = [s.describe() for s in dep.services.values()]

    @staticmethod
    def _services_image(client: DockerClient) -> Image:
        from harness.deploy import images

        try:  # built on first use from the Debian mirror, like the base image, then reused
            built = images.ensure_base_image(SERVICES_RECIPE, log=False, repo=SERVICES_REPO)
        except images.ImageBuildError as e:
            raise DeployError(f"cannot build the lab's services image: {e}") from None
        return client.images.get(built.image_id)

    @staticmethod
    def _ledger(dep: ContainerDeployment) -> None:
        """Rewrite the ledger entry with everything created so far."""
        old = dep.ledger_key
        dep.ledger_key = leftovers.record(
            "container",
            {
                "containers": [i for i in (dep.container_id, dep.edge_id, *dep.service_ids) if i],
                "networks": [dep.network_id] if dep.network_id else [],
                "workdir": str(dep.workdir),
            },
        )
        leftovers.forget(old)

    # --- teardown ------------------------------------------------------------------------------

    def teardown(self, deployment: Deployment) -> None:
        assert isinstance(deployment, ContainerDeployment)
        dep = deployment
        if dep.torn_down:
            return
        from docker.errors import DockerException

        c = dep._container()
        if c is not None:
            try:
                c.stop(timeout=5)
                c.reload()
                dep.info["exit_code"] = c.attrs["State"].get("ExitCode")
            except DockerException:
                pass
            # Keep what the sample printed and wrote before the container goes.
            (dep.workdir / OUTPUT_LOG).write_text(dep.logs())
            for rel in dep.collect_files:
                try:
                    data = dep.read_file(rel)
                except (OSError, PermissionError):
                    continue
                out = dep.collected_dir / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
        dep.torn_down = True
        for svc in dep.services.values():  # the lab's record of its services, kept with the deployment
            with contextlib.suppress(DockerException):
                log = dep.client.containers.get(svc.container_id).logs(stdout=True, stderr=True)
                (dep.workdir / "services").mkdir(exist_ok=True)
                (dep.workdir / "services" / f"{svc.name}.log").write_bytes(log)
        _remove(dep.client, [dep.edge_id, dep.container_id, *dep.service_ids], [dep.network_id])
        if dep.bridge:
            hostfw.reopen_host(dep.bridge)
        if dep.ledger_key:
            leftovers.forget(dep.ledger_key)

    def cleanup_stale(self) -> list[str]:
        """Remove containers and networks whose owning harness process is gone: by label (catches
        what even the ledger missed) and by the ledger (catches a label-less leftover)."""
        from docker.errors import DockerException

        try:
            client = docker_client()
        except DeployError:
            return []
        removed: list[str] = []
        try:
            for c in client.containers.list(all=True, filters={"label": f"{LABEL_DEPLOYMENT}=1"}):
                if _owner_gone(c.labels):
                    _remove(client, [c.id], [])
                    removed.append(f"removed leftover container {c.name} (owner pid {c.labels.get(LABEL_OWNER)})")
            for n in client.networks.list(filters={"label": f"{LABEL_DEPLOYMENT}=1"}):
                labels = n.attrs.get("Labels") or {}
                if _owner_gone(labels):
                    _remove(client, [], [n.id])
                    removed.append(f"removed leftover network {n.name} (owner pid {labels.get(LABEL_OWNER)})")
        except DockerException as e:
            removed.append(f"could not list leftovers: {e}")
        for key, payload in leftovers.orphans("container"):
            _remove(client, payload.get("containers", []), payload.get("networks", []))
            leftovers.forget(key)
        for bridge in hostfw.closed_interfaces():
            if not Path(f"/sys/class/net/{bridge}").exists():  # its network is gone
                hostfw.reopen_host(bridge)
                removed.append(f"removed leftover host firewall rule for {bridge}")
        return removed


def _default_cmd(template: str, values: dict[str, Any]) -> str:
    """The image's default command, for someone looking at the image: the start step as far as it
    can be known when the image is made (deployments always give their own)."""
    try:
        return render(template, values)
    except TemplateError:
        return template


class _NotWhileBuilding(Mapping[str, Any]):
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


def _service_exit(client: DockerClient, inst: services.ServiceInstance) -> int | None:
    from docker.errors import DockerException

    try:
        c = client.containers.get(inst.container_id)
    except DockerException:
        return -1
    return None if c.status in ("created", "running") else int(c.attrs["State"].get("ExitCode", -1))


def _service_logs(client: DockerClient, inst: services.ServiceInstance) -> str:
    from docker.errors import DockerException

    try:
        return client.containers.get(inst.container_id).logs(stdout=True, stderr=True).decode(errors="replace")
    except DockerException:
        return ""


def _note_image(transcript: Path, source: str, reused: bool, image_id: str) -> None:
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


def _remove(client: DockerClient | None, containers: list[str], networks: list[str]) -> None:
    """Force-remove by ID; what is already gone is fine (teardown and cleanup may race)."""
    if client is None:
        return
    from docker.errors import DockerException

    for cid in filter(None, containers):
        with contextlib.suppress(DockerException):  # NotFound included
            client.containers.get(cid).remove(force=True)
    for nid in filter(None, networks):
        with contextlib.suppress(DockerException):
            client.networks.get(nid).remove()
