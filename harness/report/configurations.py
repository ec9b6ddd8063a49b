"""Where each result was obtained (CNAS-CL01 7.8.2.1 c; rule 001 §8.1.1): every deployment the run
used, named as the report names it, which declared model it stands for, and whether the declared
hardware was used at all."""

from __future__ import annotations

from typing import Any

from harness.report.terms import tx
from harness.results.content import Configuration, Text


def configurations(
    deployments: list[dict[str, Any]], hardware: list[dict[str, Any]], env: dict[str, Any]
) -> list[Configuration]:
    """Each deployment the run used, as the report names it: what it is, which declared model it
    stands for, and whether it is the declared hardware (CNAS-CL01 7.8.2.1 c; rule 001 §8.1.1)."""
    declared = [str(h.get("model")) for h in hardware]
    out = []
    for d in deployments:
        backend, model = d.get("backend", ""), str(d.get("model", ""))
        host = d.get("host") or ""
        if backend == "terminal":
            unit = f"{d.get('unit', '')}（{d.get('serial', '')}）" if d.get("serial") else str(d.get("unit", ""))
            unit_en = f"{d.get('unit', '')} ({d.get('serial', '')})" if d.get("serial") else str(d.get("unit", ""))
            standin = bool(d.get("standin"))
            label = tx(f"{model} 代用单元" if standin else f"{model} 单元", f"{model} stand-in" if standin else model)
            what = tx(
                f"{'代用单元' if standin else '声明型号单元'} {unit}，地址 {host}，{d.get('os', '')}",
                f"{'stand-in unit' if standin else 'unit of the declared model'} {unit_en}, address {host}, "
                f"{d.get('os', '')}",
            )
            stands_for, used = [model], not standin
        elif backend == "container":
            image = str(d.get("image_id") or "")[:19]
            label = tx("实验室容器", "lab container")
            what = tx(
                f"实验室主机 {env.get('host', '')} 上的容器（镜像 {image}，{d.get('cpus', '-')} CPU，"
                f"内存 {d.get('memory_mb', '-')} MB）",
                f"a container on the lab host {env.get('host', '')} (image {image}, {d.get('cpus', '-')} CPU, "
                f"{d.get('memory_mb', '-')} MB memory)",
            )
            stands_for, used = declared, not declared
        else:
            label = tx("实验室主机", "lab host")
            what = tx(
                f"实验室主机 {env.get('host', '')}（{env.get('os', '')}），样品以进程方式部署",
                f"the lab host {env.get('host', '')} ({env.get('os', '')}), the sample deployed as a process",
            )
            stands_for, used = declared, not declared
        out.append(
            Configuration(
                model=model,
                backend=backend,
                label=label,
                what=what,
                stands_for=stands_for,
                declared_hardware=used,
                deployed=d.get("status") == "deployed",
            )
        )
    return out


def hardware_statement(configs: list[Configuration], hardware: list[dict[str, Any]]) -> Text:
    declared = [str(h.get("model")) for h in hardware]
    if not declared:
        return tx(
            "样品未声明专用硬件，检测在下列配置上进行。",
            "The sample declares no dedicated hardware; it was tested on the configurations below.",
        )
    not_used = [c for c in configs if not c.declared_hardware]
    if not not_used:
        return tx(
            f"检测在委托方声明型号（{'、'.join(declared)}）的单元上进行。",
            f"The sample was tested on units of the declared models ({', '.join(declared)}).",
        )
    on = "、".join(str(c.label["zh"]) for c in not_used)
    on_en = ", ".join(str(c.label["en"]) for c in not_used)
    return tx(
        f"本次检测未使用委托方声明的硬件（{'、'.join(declared)}）：检测在{on}上进行，代替声明型号；"
        "检测结果是在该配置上获得的，不代表样品在声明硬件上的表现。",
        f"The declared hardware ({', '.join(declared)}) was NOT used: the sample was tested on the {on_en} "
        "standing in for the declared models; the results were obtained on that configuration and do not "
        "show how the sample behaves on the declared hardware.",
    )
