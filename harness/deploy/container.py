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

A sample declaring several instances behind its own entry point runs one container per instance
and one for the entry step, all of the sample's image on its internal network, sharing one volume
at the sample's directory (filled from the image, so every instance starts on the data the install
made); the edge forwards to the entry container, which reaches the instances by name.

The docker SDK is imported inside functions, so this module imports (and ``deployer_for`` works)
on a machine without an engine.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

from harness.deploy import hostfw, leftovers
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
from harness.deploy.container_deployment import LISTENING, ContainerDeployment
from harness.deploy.container_engine import (
    LABEL_CACHE,
    LABEL_DEPLOYMENT,
    LABEL_OWNER,
    LABEL_OWNER_START,
    LABEL_ROLE,
    SAMPLE_DIR,
    docker_client,
    owner_gone,
    owner_labels,
    remove,
)
from harness.deploy.container_image import (
    CACHE_REPO,
    CACHE_VERSION,
    INSTALL_CAPS,
    NotWhileBuilding,
    download_wheels,
    note_image,
    sample_image,
)
from harness.deploy.container_start import FORWARDER, start_sample
from harness.spec import LoadedSpec
from harness.templating import TemplateError, deploy_values, render

# What other modules import from here, kept where they look for it.
__all__ = [
    "CACHE_REPO",
    "CACHE_VERSION",
    "FORWARDER",
    "INSTALL_CAPS",
    "LABEL_CACHE",
    "LABEL_DEPLOYMENT",
    "LABEL_OWNER",
    "LABEL_OWNER_START",
    "LABEL_ROLE",
    "LISTENING",
    "SAMPLE_DIR",
    "ContainerDeployer",
    "ContainerDeployment",
    "docker_client",
    "download_wheels",
    "owner_labels",
]


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
        values = deploy_values(SAMPLE_DIR, "0.0.0.0", "127.0.0.1", declared, NotWhileBuilding())
        try:
            # The image is built without any network: variables naming a service are set at start only.
            env = {k: render(v, values) for k, v in d.env.items() if "{services." not in v}
        except TemplateError as e:
            raise DeployError(f"spec template: {e}") from None

        t0 = time.monotonic()
        image, base_id, source, reused = sample_image(client, loaded, workdir, values, env)
        image_s = time.monotonic() - t0
        note_image(workdir / INSTALL_LOG, source, reused, image.id)
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
            start_sample(client, dep, loaded, image, values)
            for i in range(len(dep.instance_ids)):
                dep.wait_instance(i, d.health.timeout_s)
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

    # --- teardown ------------------------------------------------------------------------------

    def teardown(self, deployment: Deployment) -> None:
        assert isinstance(deployment, ContainerDeployment)
        dep = deployment
        if dep.torn_down:
            return
        from docker.errors import DockerException

        c = dep._container()
        for cid in dep.instance_ids:
            ci = dep._by_id(cid)
            if ci is not None:
                with contextlib.suppress(DockerException):
                    ci.stop(timeout=5)
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
        remove(
            dep.client,
            [dep.edge_id, dep.container_id, *dep.service_ids, *dep.instance_ids],
            [dep.network_id],
            [dep.volume],
        )
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
                if owner_gone(c.labels):
                    remove(client, [c.id], [])
                    removed.append(f"removed leftover container {c.name} (owner pid {c.labels.get(LABEL_OWNER)})")
            for n in client.networks.list(filters={"label": f"{LABEL_DEPLOYMENT}=1"}):
                labels = n.attrs.get("Labels") or {}
                if owner_gone(labels):
                    remove(client, [], [n.id])
                    removed.append(f"removed leftover network {n.name} (owner pid {labels.get(LABEL_OWNER)})")
            for v in client.volumes.list(filters={"label": f"{LABEL_DEPLOYMENT}=1"}):
                labels = v.attrs.get("Labels") or {}
                if owner_gone(labels):
                    remove(client, [], [], [v.name])
                    removed.append(f"removed leftover volume {v.name} (owner pid {labels.get(LABEL_OWNER)})")
        except DockerException as e:
            removed.append(f"could not list leftovers: {e}")
        for key, payload in leftovers.orphans("container"):
            remove(client, payload.get("containers", []), payload.get("networks", []), payload.get("volumes", []))
            leftovers.forget(key)
        for bridge in hostfw.closed_interfaces():
            if not Path(f"/sys/class/net/{bridge}").exists():  # its network is gone
                hostfw.reopen_host(bridge)
                removed.append(f"removed leftover host firewall rule for {bridge}")
        return removed
