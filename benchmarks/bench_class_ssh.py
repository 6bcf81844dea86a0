#!/usr/bin/env python3
"""A class over SSH, as an instructor runs it: `bin/lab10 class`, then `bin/lab10 grade`, on N fresh lab VMs.

Per class size N: fresh lab VMs from the test bed's image (sshd, centos with a key and sudo, the app base
image loaded into each VM's engine: no registry here), host keys trusted once, a roster and the instructor's
group_vars in a folder outside the repository, the test Jaeger behind its login (scripts/testbed_lib/gate.py).
Measured is the controller only: ansible-playbook's process tree (its forks and their ssh clients, CPU from
getrusage(RUSAGE_CHILDREN) around the run) plus the ssh ControlPersist masters, which leave that tree
(CPU read from /proc before they are stopped). Memory is sampled from /proc every SAMPLE_S: RSS and PSS of
the tree and the masters. The VMs' own work (the image build, the app) runs in containers on the same CPUs:
it slows the run's wall time here, but is not the controller's.

    flock /tmp/lab10-docker.lock .venv/bin/python benchmarks/bench_class_ssh.py [-n 1 -n 3 -n 8] [--profile]

--profile adds ansible.posix.profile_tasks (every task's time, in the run's log): for finding where the time
goes, not for the figures (it costs CPU itself).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "support"))

from labvms import LabVMs  # noqa: E402
from testbed_lib import envfile, labvm_ssh  # noqa: E402
from testbed_lib.gate import GatedJaeger  # noqa: E402

LAB10 = ROOT / "bin" / "lab10"
SAMPLE_S = 0.25
TOKEN = "bench-ssh-not-a-secret"  # noqa: S105 -- the bench's own VMs
TARGET_CPU_PER_VM = 4.0  # issue 16: controller CPU-seconds per provisioned VM
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)"
                   r"\s+rescued=(\d+)\s+ignored=(\d+)", re.M)  # fmt: skip
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
TICKS = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- pure helpers (tests/unit/test_bench.py) --------------------------------------------------------------
def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP's counts per host (the last recap wins)."""
    keys = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
    return {m.group(1): dict(zip(keys, map(int, m.groups()[1:]), strict=True)) for m in RECAP.finditer(output)}


def parse_stat(text: str) -> tuple[int, float]:
    """/proc/<pid>/stat: (ppid, user + system CPU seconds). The name in parentheses may hold spaces."""
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    """root and every process below it, from {pid: ppid}."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


# --- /proc ----------------------------------------------------------------------------------------------
def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def processes() -> dict[int, tuple[int, float]]:
    """{pid: (ppid, cpu_s)} of every process now."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (text := _read(f"/proc/{entry}/stat")):
            table[int(entry)] = parse_stat(text)
    return table


def masters(control_dir: str) -> list[int]:
    """The ssh ControlPersist masters of this run (their command line names its control path directory)."""
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and control_dir in _read(f"/proc/{e}/cmdline")]


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of pid in kB; (0, 0) once it is gone."""
    statm = _read(f"/proc/{pid}/statm").split()
    pss = re.search(r"^Pss:\s+(\d+)", _read(f"/proc/{pid}/smaps_rollup"), re.M)
    return (int(statm[1]) * PAGE_KB if statm else 0), (int(pss.group(1)) if pss else 0)


class Sampler(threading.Thread):
    """Every SAMPLE_S: the process tree under root and the run's ssh masters, their RSS and PSS summed."""

    def __init__(self, root: int, control_dir: str):
        super().__init__(daemon=True)
        self.root, self.control_dir, self.done = root, control_dir, threading.Event()
        self.peak = {"rss_mb": 0.0, "pss_mb": 0.0, "processes": 0, "workers": 0, "pss_per_worker_mb": 0.0,
                     "largest_rss_mb": 0.0, "main_pss_mb": 0.0}  # fmt: skip

    def run(self) -> None:
        while not self.done.wait(SAMPLE_S):
            table = processes()
            tree = descendants(self.root, {pid: ppid for pid, (ppid, _) in table.items()})
            pids = tree | set(masters(self.control_dir))
            sizes = {pid: memory_kb(pid) for pid in pids}
            rss, pss = sum(r for r, _ in sizes.values()) / 1024, sum(p for _, p in sizes.values()) / 1024
            # The forks: ansible-playbook's direct children (each with its own ssh clients below it).
            workers = [pid for pid in tree if table[pid][0] == self.root]
            main_pss = sizes.get(self.root, (0, 0))[1] / 1024
            peak = self.peak
            peak["largest_rss_mb"] = max(peak["largest_rss_mb"], max((r for r, _ in sizes.values()), default=0) / 1024)
            if pss > peak["pss_mb"]:
                per_worker = (pss - main_pss) / len(workers) if workers else 0.0
                peak.update(pss_mb=pss, workers=len(workers), pss_per_worker_mb=per_worker, main_pss_mb=main_pss)
            peak["rss_mb"] = max(peak["rss_mb"], rss)
            peak["processes"] = max(peak["processes"], len(pids))
            peak["workers_max"] = max(peak.get("workers_max", 0), len(workers))


def measure(argv: list[str], cwd: Path, env: dict, out: Path, control_dir: str) -> dict:
    """Run argv; wall time, the controller's CPU seconds (tree + ssh masters) and peak memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with open(out, "w", encoding="utf-8") as stdout:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.STDOUT)
        sampler = Sampler(proc.pid, control_dir)
        sampler.start()
        rc = proc.wait()
        sampler.done.set()
        sampler.join()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # The masters outlive the run (ControlPersist): their CPU is read here, then they are stopped, by pid.
    table, master_pids = processes(), masters(control_dir)
    master_cpu = sum(table[pid][1] for pid in master_pids if pid in table)
    for pid in master_pids:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
    return {"rc": rc, "wall_s": round(wall, 2), "cpu_s": round(tree_cpu + master_cpu, 2),
            "cpu_tree_s": round(tree_cpu, 2), "cpu_ssh_masters_s": round(master_cpu, 2),
            "ssh_masters": len(master_pids), **{k: round(v, 1) if isinstance(v, float) else v
                                                for k, v in sampler.peak.items()}}  # fmt: skip


# --- the class ------------------------------------------------------------------------------------------
def vm_run(vm, *args: str, stdin=None, timeout: float = 300) -> str:
    return subprocess.run(["docker", "exec", "-i", vm.id, *args], stdin=stdin, capture_output=True, text=True,
                          timeout=timeout, check=True).stdout  # fmt: skip


def boot(vm, gate: GatedJaeger, key: Path, base_tar: Path) -> str:
    """A fresh VM as a course VM is (sshd, centos with the key and sudo) with the app base image loaded."""
    subprocess.run(["docker", "network", "connect", gate.network, vm.id], check=True, capture_output=True)
    labvm_ssh.wait_sshd(vm)
    labvm_ssh.authorize_key(vm, key.with_suffix(".pub").read_text())
    for _ in range(120):
        if subprocess.run(["docker", "exec", vm.id, "docker", "info"], capture_output=True).returncode == 0:
            break
        time.sleep(1)
    with open(base_tar, "rb") as tar:
        vm_run(vm, "docker", "load", "-q", stdin=tar)
    return labvm_ssh.address(vm, gate.network)


def write_folder(folder: Path, names: list[str], addresses: list[str], gate: GatedJaeger, images: dict) -> None:
    """The instructor's folder: roster, key, known_hosts and group_vars (molecule/ssh's prepare writes the same)."""
    (folder / "group_vars" / "lab_vms").mkdir(parents=True, exist_ok=True)
    pairs = enumerate(zip(names, addresses, strict=True))
    rows = [f"{name},Student {i},{address},centos\n" for i, (name, address) in pairs]
    (folder / "roster.csv").write_text("vm_name,student,host,user\n" + "".join(rows))
    settings = {
        "ansible_ssh_private_key_file": str(folder / "id_ed25519"),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={folder / 'known_hosts'}",
        "inventory_api_token": TOKEN,
        "inventory_api_otlp_endpoint": gate.url,
        "inventory_api_base_image": images["APP_BASE_IMAGE"],
        "inventory_api_extra_ca_bundle": images.get("EXTRA_CA_BUNDLE", ""),
        "class_jaeger_url": gate.url,
        "class_jaeger_bearer_token": gate.token,
        "class_report_dir": str(folder / "reports"),
    }
    (folder / "group_vars" / "lab_vms" / "main.yml").write_text(json.dumps(settings, indent=1) + "\n")


def run_class(size: int, gate: GatedJaeger, images: dict, base_tar: Path, work: Path, args) -> dict:
    folder = work / f"class-{size}"
    folder.mkdir()
    key = labvm_ssh.make_key(folder)
    vms = LabVMs(docker.from_env(timeout=300), images)
    try:
        started = time.monotonic()
        started_vms = [vms.start() for _ in range(size)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            addresses = list(pool.map(lambda vm: boot(vm, gate, key, base_tar), started_vms))
        labvm_ssh.trust_host_keys(addresses, folder / "known_hosts")
        write_folder(folder, [vm.name for vm in started_vms], addresses, gate, images)
        log(f"{size} VMs ready in {time.monotonic() - started:.0f}s")
        env = {"HOME": os.environ["HOME"], "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "LAB10_PROGRESS": "always",  # what an instructor sees in a terminal: one line per VM
               "ANSIBLE_SSH_CONTROL_PATH_DIR": str(folder / "cp")}  # fmt: skip
        if args.profile:
            env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        env.update(item.split("=", 1) for item in args.env)
        extra = ["-f", str(args.forks)] if args.forks else []
        result = {"vms": size}
        for step in ("class", "grade"):
            argv = [str(LAB10), step, "-i", "roster.csv", *extra]
            if step == "grade":
                argv += ["-e", f"class_report_dir={folder / 'grades'}"]
            out = folder / f"{step}.out"
            r = measure(argv, folder, env, out, env["ANSIBLE_SSH_CONTROL_PATH_DIR"])
            text = out.read_text()
            report = json.loads((folder / ("reports" if step == "class" else "grades") / "latest" / "report.json")
                                .read_text()) if r["rc"] in (0, 2) else {}  # fmt: skip
            recap = parse_recap(text)
            vm_tasks = [sum(c[k] for k in ("ok", "failed", "skipped", "unreachable", "rescued"))
                        for host, c in recap.items() if host != "localhost"]  # fmt: skip
            r.update(passed=report.get("summary", {}).get("passed"), tasks_per_vm=max(vm_tasks, default=0),
                     output_tail=text[-1500:])  # fmt: skip
            if args.keep_logs:
                shutil.copy(out, Path(args.keep_logs) / f"{step}-{size}.out")
            log(f"{step} x{size}: rc {r['rc']}, {r['wall_s']} s, CPU {r['cpu_s']} s "
                f"(ssh masters {r['cpu_ssh_masters_s']}), passed {r['passed']}, {r['tasks_per_vm']} tasks/VM, "
                f"peak PSS {r['pss_mb']} MB ({r['workers']} forks, {r['pss_per_worker_mb']} MB each)")  # fmt: skip
            result[step] = r
        return result
    finally:
        vms.remove_all()


def figures(results: list[dict], forks: int) -> list[dict]:
    items = []
    for r in results:
        n, c, g = r["vms"], r["class"], r["grade"]
        cpu_per_vm = round(c["cpu_s"] / n, 2)
        items += [
            {"section": "class over SSH", "name": f"{n} VMs: bin/lab10 class, wall", "value": c["wall_s"],
             "unit": "s", "ok": c["rc"] == 0 and c["passed"] == n, "target": f"{n} of {n} passed",
             "note": f"{round(c['wall_s'] / n, 1)} s per VM; {c['passed']} passed; {c['tasks_per_vm']} tasks per VM"},
            {"section": "class over SSH", "name": f"{n} VMs: controller CPU per VM", "value": cpu_per_vm,
             "unit": "s", "target": f"<= {TARGET_CPU_PER_VM}", "ok": cpu_per_vm <= TARGET_CPU_PER_VM,
             "note": f"{c['cpu_s']} s in all ({c['cpu_ssh_masters_s']} s in {c['ssh_masters']} ssh masters)"},
            {"section": "class over SSH", "name": f"{n} VMs: controller peak memory (PSS)", "value": c["pss_mb"],
             "unit": "MB", "note": f"{c['workers']} forks then, {c['pss_per_worker_mb']} MB per fork with its ssh; "
             f"main {c['main_pss_mb']} MB; RSS sum {c['rss_mb']} MB, largest process {c['largest_rss_mb']} MB"},
            {"section": "grade over SSH roster", "name": f"{n} VMs: bin/lab10 grade, wall", "value": g["wall_s"],
             "unit": "s", "ok": g["rc"] == 0, "target": "rc 0",
             "note": f"CPU {g['cpu_s']} s ({round(g['cpu_s'] / n, 2)} per VM); peak PSS {g['pss_mb']} MB"},
        ]  # fmt: skip
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--vms", type=int, action="append", help="class size (repeatable; 1, 3 and 8)")
    parser.add_argument("-f", "--forks", type=int, help="ansible-playbook -f (default: the kit's ansible.cfg)")
    parser.add_argument("--profile", action="store_true", help="add profile_tasks (for analysis, costs CPU)")
    parser.add_argument("--keep-logs", help="copy each run's output to this folder")
    parser.add_argument(
        "--env", action="append", default=[], help="KEY=VALUE for the runs (repeatable), e.g. a setting to compare"
    )
    args = parser.parse_args()
    env_sizes = [int(s) for s in os.environ.get("LAB10_BENCH_SSH_VMS", "").split(",") if s]
    sizes = args.vms or env_sizes or [1, 3, 8]
    images = envfile.read(ROOT / ".testbed" / "images.env")
    if not images.get("LABVM_IMAGE"):
        raise SystemExit("no .testbed/images.env: run `make testbed`")
    forks = args.forks or int(re.search(r"^forks\s*=\s*(\d+)", (ROOT / "ansible.cfg").read_text(), re.M).group(1))
    results = []
    with tempfile.TemporaryDirectory(prefix="lab10-bench-ssh-") as tmp, GatedJaeger() as gate:
        work = Path(tmp)
        base_tar = work / "app-base.tar"
        subprocess.run(["docker", "save", "-o", str(base_tar), images["APP_BASE_IMAGE"]], check=True)
        log(f"{gate.version}; forks {forks}")
        for size in sizes:
            results.append(run_class(size, gate, images, base_tar, work, args))
    for r in results:
        for step in ("class", "grade"):
            s = r[step]
            print(f"{step:>5} {r['vms']:>3} VMs: wall {s['wall_s']:>6} s, {s['wall_s'] / r['vms']:.1f} s/VM, CPU "
                  f"{s['cpu_s']:>6} s ({s['cpu_s'] / r['vms']:.2f} s/VM), peak PSS {s['pss_mb']} MB, "
                  f"{s['pss_per_worker_mb']} MB/fork")  # fmt: skip
    if os.environ.get("LAB10_BENCH_JSON"):
        Path(os.environ["LAB10_BENCH_JSON"]).write_text(json.dumps({
            "title": "class over SSH", "figures": figures(results, forks), "forks": forks, "runs": results,
            "cpus": os.cpu_count(), "profile": args.profile}))  # fmt: skip
    ok = all(r["class"]["rc"] == 0 and r["class"]["passed"] == r["vms"] and r["grade"]["rc"] == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
