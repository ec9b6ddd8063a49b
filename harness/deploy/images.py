"""The lab's base container image, built offline from a Debian rootfs (there is no registry to pull
from) once, and reused while its recipe is unchanged.

The recipe's hash is both a label and a second tag (``harness-lab/base:recipe-<hash>``), so a changed
recipe (another package, another suite) builds a new image and an unchanged one returns at once.
Run it as ``python -m harness.deploy.images`` or ``lab_env/build_base_image.sh``.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.errors import LabError

BASE_REPO = "harness-lab/base"
BASE_IMAGE = f"{BASE_REPO}:bookworm"
RECIPE_LABEL = "harness-lab.recipe"
CACHE_DIR = Path("/var/cache/harness-lab")


@dataclass(frozen=True)
class Recipe:
    suite: str = "bookworm"
    variant: str = "minbase"
    include: tuple[str, ...] = ("python3", "openssl", "ca-certificates", "procps")
    # Bump when the build steps below change in a way the fields above do not show.
    version: int = 1

    def digest(self) -> str:
        # The mirror is left out on purpose: the same suite from another mirror is the same recipe.
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


# The image declared services run from in the container backend (harness.deploy.services): the
# base recipe plus Debian's PostgreSQL server and redis-server, built the same way, offline from the
# Debian mirror apt uses, on first use.
SERVICES_REPO = "harness-lab/services"
SERVICES_RECIPE = Recipe(include=(*Recipe().include, "postgresql", "redis-server"))


@dataclass
class BuildResult:
    image: str
    image_id: str
    recipe: str
    reused: bool
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds


class ImageBuildError(LabError, RuntimeError):
    pass


def debian_mirror(suite: str = "bookworm") -> str:
    """The Debian mirror apt already uses for ``suite`` (deb822 .sources or one-line .list)."""
    apt = Path("/etc/apt")
    files = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]
    for f in files:
        if not f.is_file():
            continue
        for line in f.read_text().splitlines():
            m = re.match(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m and m.group(2) == suite:
                return m.group(1)
    for f in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", f.read_text()):
            fields = dict(
                (k.strip().lower(), v.strip())
                for k, _, v in (ln.partition(":") for ln in stanza.splitlines() if not ln.startswith("#"))
                if _
            )
            if "deb" in fields.get("types", "").split() and suite in fields.get("suites", "").split():
                return fields["uris"].split()[0]
    return "http://deb.debian.org/debian"


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        r = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise ImageBuildError("no docker client on PATH; run lab_env/setup_docker.sh") from None
    if check and r.returncode != 0:
        raise ImageBuildError(f"docker {' '.join(args[:2])} failed: {r.stderr.strip()}")
    return r


def _image_id(ref: str) -> str | None:
    r = _docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def ensure_base_image(
    recipe: Recipe | None = None, force: bool = False, log: bool = True, repo: str = BASE_REPO
) -> BuildResult:
    """Return the base image, building it only if no image of this recipe exists (or ``force``).
    ``repo`` other than the lab's lets a benchmark build beside the lab image without replacing it."""
    recipe = recipe or Recipe()
    digest = recipe.digest()
    recipe_tag = f"{repo}:recipe-{digest}"
    image = f"{repo}:{recipe.suite}"
    say = (lambda msg: print(msg, flush=True)) if log else (lambda msg: None)
    timings: dict[str, float] = {}
    t0 = time.monotonic()

    info = _docker("info", "--format", "{{.ServerVersion}}", check=False)
    if info.returncode != 0:
        raise ImageBuildError(f"docker engine not reachable ({info.stderr.strip()}); run lab_env/setup_docker.sh")

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # One builder at a time: parallel test workers would otherwise debootstrap side by side.
    with (CACHE_DIR / f"{repo.replace('/', '_')}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = _image_id(recipe_tag)
        if existing and not force:
            if _image_id(image) != existing:
                _docker("tag", recipe_tag, image)
            timings["check"] = time.monotonic() - t0
            say(f"reused {image} ({existing[:19]}, recipe {digest}) in {timings['check']:.2f} s")
            return BuildResult(image, existing, digest, True, timings)

        rootfs = CACHE_DIR / f"rootfs-{repo.replace('/', '_')}-{recipe.suite}-{digest}"
        if force or not (rootfs / ".complete").exists():
            mirror = debian_mirror(recipe.suite)
            tmp = rootfs.with_name(rootfs.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(rootfs, ignore_errors=True)
            say(f"debootstrap {recipe.suite} ({recipe.variant}, +{','.join(recipe.include)}) from {mirror} ...")
            t = time.monotonic()
            r = subprocess.run(
                [
                    "debootstrap",
                    f"--variant={recipe.variant}",
                    f"--include={','.join(recipe.include)}",
                    recipe.suite,
                    str(tmp),
                    mirror,
                ],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-15:])
                raise ImageBuildError(f"debootstrap failed ({r.returncode}):\n{tail}")
            # Slim the image: apt lists and caches are not needed at run time (samples get no network).
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for p in (tmp / junk).glob("*"):
                    if p.is_file():
                        p.unlink()
            (tmp / ".complete").write_text(digest)
            tmp.rename(rootfs)
            timings["debootstrap"] = time.monotonic() - t
            say(f"  debootstrap: {timings['debootstrap']:.1f} s")
        else:
            say(f"using cached rootfs {rootfs}")

        t = time.monotonic()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--exclude=./.complete", "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            [
                "docker",
                "import",
                "--change",
                f"LABEL {RECIPE_LABEL}={digest}",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
                "--change",
                'CMD ["/bin/bash"]',
                "-",
                recipe_tag,
            ],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
        )
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0 or imp.returncode != 0:
            raise ImageBuildError(f"docker import failed: {imp.stderr.strip()}")
        _docker("tag", recipe_tag, image)
        timings["import"] = time.monotonic() - t
        image_id = _image_id(image) or ""
        timings["total"] = time.monotonic() - t0
        say(f"  docker import: {timings['import']:.1f} s")
        say(f"built {image} = {recipe_tag} ({image_id[:19]}) in {timings['total']:.1f} s")
        return BuildResult(image, image_id, digest, False, timings)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build (or reuse) the lab's base container image.")
    ap.add_argument("--force", action="store_true", help="rebuild the rootfs and the image")
    ap.add_argument(
        "--services", action="store_true", help=f"also the image declared services run from ({SERVICES_REPO})"
    )
    args = ap.parse_args(argv)
    try:
        ensure_base_image(force=args.force)
        if args.services:
            ensure_base_image(SERVICES_RECIPE, force=args.force, repo=SERVICES_REPO)
    except ImageBuildError as e:
        print(f"build_base_image: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
