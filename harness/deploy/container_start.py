"""Starting a deployment's containers: the sample (or the entry step and one container per instance)
on its own internal network, the declared services beside it, and the edge that publishes its ports.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

from harness.deploy import hostfw, leftovers, services
from harness.deploy.base import DeployError
from harness.deploy.container_deployment import ContainerDeployment
from harness.deploy.container_engine import LABEL_ROLE, owner_labels
from harness.deploy.container_image import base_image
from harness.deploy.images import BASE_IMAGE, SERVICES_RECIPE, SERVICES_REPO
from harness.spec import LoadedSpec
from harness.templating import ENTRY_NAMESPACES, TemplateError, render

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image


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


def start_sample(
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
        start_services(client, dep, loaded, net.name, run_id, labels)
        try:
            values = {**values, "services": services.template_namespace(dep.services)}
            env = {k: render(v, values) for k, v in d.env.items()}
            start_cmd = render(d.start.run, values)
        except TemplateError as e:
            raise DeployError(f"spec template: {e}") from None
        mounts: dict[str, dict[str, str]] = {}
        if d.entry is not None:
            start_cmd = start_instances(client, dep, loaded, image, env, values, run_id, net.name, labels)
            mounts = {dep.volume: {"bind": dep.sample_dir, "mode": "rw"}}
        c = client.containers.create(
            image.id,
            name=f"harness-lab-{run_id}-sample" if d.entry is None else f"harness-lab-{run_id}-entry",
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
            labels={**labels, LABEL_ROLE: "sample" if d.entry is None else "entry"},
            volumes=mounts or None,
        )
        dep.container_id = c.id
        record_ledger(dep)
        c.start()
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
        dep.info.update(container_id=c.id, network=net.name, sample_ip=ip)
        # The edge runs lab code on the lab image (it needs python3, the sample's image may not).
        # It finds the sample by name (the engine's DNS on the internal network), not by this IP:
        # a sample the continuity checks kill and start again comes back at another address.
        edge = client.containers.create(
            base_image(client, BASE_IMAGE).id,
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
        record_ledger(dep)
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


def start_instances(
    client: DockerClient,
    dep: ContainerDeployment,
    loaded: LoadedSpec,
    image: Image,
    env: dict[str, str],
    values: dict[str, Any],
    run_id: str,
    network: str,
    labels: dict[str, str],
) -> str:
    """Start one container per instance on a volume shared at the sample's directory (the engine
    fills the empty volume from the image at the first mount); return the rendered entry step."""
    d = loaded.spec.deployment
    assert d.entry is not None
    vol = client.volumes.create(name=f"harness-lab-{run_id}-data", labels={**labels, LABEL_ROLE: "data"})
    dep.volume = vol.name
    record_ledger(dep)
    names = [f"harness-lab-{run_id}-instance-{i}" for i in range(d.instances)]
    try:
        for i, name in enumerate(names):
            ci = client.containers.create(
                image.id,
                name=name,
                entrypoint=["/bin/sh", "-c"],
                command=[render(d.start.run, {**values, "instance": i})],
                working_dir=dep.sample_dir,
                environment=env,
                network=network,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                nano_cpus=int(d.resources.cpus * 1e9),
                mem_limit=f"{d.resources.memory_mb}m",
                memswap_limit=f"{d.resources.memory_mb}m",
                stop_signal=d.stop_signal,
                init=True,
                labels={**labels, LABEL_ROLE: "instance"},
                volumes={vol.name: {"bind": dep.sample_dir, "mode": "rw"}},
            )
            dep.instance_ids.append(ci.id)
            record_ledger(dep)
            ci.start()  # one by one: the first fills the volume
        upstreams = {p.name: ",".join(f"{n}:{p.port}" for n in names) for p in d.ports}
        return render(d.entry.run, {**values, "upstreams": upstreams}, ENTRY_NAMESPACES)
    except TemplateError as e:
        raise DeployError(f"spec template: {e}") from None


def start_services(
    client: DockerClient, dep: ContainerDeployment, loaded: LoadedSpec, network: str, run_id: str,
    labels: dict[str, str],
) -> None:  # fmt: skip
    """Each declared service in a container of its own beside the sample, on its internal
    network, from the lab's services image; the lab reaches it from the host on its address."""
    decls = loaded.spec.deployment.services
    if not decls:
        return
    image = services_image(client)
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
        record_ledger(dep)
        c.start()
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        inst = services.container_instance(decl, ip, c.id, lab_pw)
        dep.services[decl.name] = inst
        services.wait_ready(inst, partial(_service_exit, client), partial(_service_logs, client))
        services.set_up(inst, partial(_service_logs, client))
    dep.info["services"] = [s.describe() for s in dep.services.values()]


def services_image(client: DockerClient) -> Image:
    from harness.deploy import images

    try:  # built on first use from the Debian mirror, like the base image, then reused
        built = images.ensure_base_image(SERVICES_RECIPE, log=False, repo=SERVICES_REPO)
    except images.ImageBuildError as e:
        raise DeployError(f"cannot build the lab's services image: {e}") from None
    return client.images.get(built.image_id)


def record_ledger(dep: ContainerDeployment) -> None:
    """Rewrite the ledger entry with everything created so far."""
    old = dep.ledger_key
    dep.ledger_key = leftovers.record(
        "container",
        {
            "containers": [i for i in (dep.container_id, dep.edge_id, *dep.service_ids, *dep.instance_ids) if i],
            "volumes": [dep.volume] if dep.volume else [],
            "networks": [dep.network_id] if dep.network_id else [],
            "workdir": str(dep.workdir),
        },
    )
    leftovers.forget(old)


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
