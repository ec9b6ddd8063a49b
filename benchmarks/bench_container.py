"""Timings of the container backend on this machine: base image build (fresh vs reused) and
deploy-to-healthy of a tiny sample, cold (install steps + commit) and with its image cached.

    python benchmarks/bench_container.py [--runs 5] [--skip-fresh]

The fresh build goes to a throwaway repository (harness-lab/bench-base), so the lab's base image
and every sample image cached on it stay valid. It needs the Debian mirror (~45 s).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from harness.deploy import Target, deployer_for  # noqa: E402
from harness.deploy.images import CACHE_DIR, ensure_base_image  # noqa: E402

BENCH_REPO = "harness-lab/bench-base"


def bench_base_image(fresh: bool) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    if fresh:
        import docker

        r = ensure_base_image(force=True, log=False, repo=BENCH_REPO)
        rows += [
            ("base image fresh: debootstrap", r.timings.get("debootstrap", 0.0)),
            ("base image fresh: docker import", r.timings["import"]),
            ("base image fresh: total", r.timings["total"]),
        ]
        client = docker.from_env()
        for tag in client.images.get(r.image).tags:
            client.images.remove(tag)
        for p in CACHE_DIR.glob(f"rootfs-{BENCH_REPO.replace('/', '_')}-*"):
            shutil.rmtree(p)
    ensure_base_image(log=False)  # make sure the lab image exists before timing its reuse
    t = time.monotonic()
    r = ensure_base_image(log=False)
    assert r.reused
    rows.append(("base image reused (recipe hash hit)", time.monotonic() - t))
    return rows


def bench_deploy(runs: int) -> list[tuple[str, float]]:
    from test_container_backend import SERVER, make_spec  # the tests' tiny stdlib HTTP sample

    deployer = deployer_for("container")
    target = Target(model="container", backend="container")
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-container-") as tmp:
        base = Path(tmp)
        # A unique marker makes the first deploy miss the image cache: install steps + commit.
        cold_dir = base / "cold"
        cold_dir.mkdir()
        spec = make_spec(cold_dir)
        (cold_dir / "app" / "server.py").write_text(SERVER + f"\n# bench {uuid.uuid4().hex}\n")
        t = time.monotonic()
        dep = deployer.deploy(spec, target, cold_dir / "w")
        rows.append(("deploy to healthy, cold (install + commit)", time.monotonic() - t))
        t = time.monotonic()
        deployer.teardown(dep)
        rows.append(("teardown", time.monotonic() - t))
        cold_image = dep.info["image_id"]

        totals, healthy = [], []
        for i in range(runs):
            t = time.monotonic()
            dep = deployer.deploy(spec, target, base / f"w{i}")
            totals.append(time.monotonic() - t)
            healthy.append(dep.info["healthy_after_s"])
            assert dep.info["image_reused"]
            deployer.teardown(dep)
        rows.append((f"deploy to healthy, image cached (median of {runs})", statistics.median(totals)))
        rows.append(("  of which: health wait after start (median)", statistics.median(healthy)))
        rows.append(("deploy to healthy, image cached (max)", max(totals)))
        import docker

        docker.from_env().images.remove(cold_image, force=True)  # the marker image is of no further use
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-fresh", action="store_true", help="do not debootstrap a fresh base image")
    args = ap.parse_args()
    rows = bench_base_image(fresh=not args.skip_fresh) + bench_deploy(args.runs)
    width = max(len(name) for name, _ in rows)
    print(f"{'phase':<{width}}  seconds")
    print(f"{'-' * width}  -------")
    for name, secs in rows:
        print(f"{name:<{width}}  {secs:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
