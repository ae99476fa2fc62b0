"""A throwaway JupyterLab server on 127.0.0.1 serving a copy of the notebooks folder, in fast mode."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# User settings of the throwaway JupyterLab.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},  # every cell in the DOM
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},  # the UI run never writes back
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
JUPYTER_DIRS = [("HOME", "home"), ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data_dir"),
                ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                ("JUPYTERLAB_SETTINGS_DIR", "lab_settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]
START_TIMEOUT_S = 90


class LabError(RuntimeError):
    """The server did not start, or died."""


@dataclass
class Lab:
    url: str
    root: Path  # the temporary copy of notebooks/ that the server serves
    log: Path
    proc: subprocess.Popen
    env: dict[str, str]  # the server's environment (its Jupyter dirs)

    def trust(self, *notebooks: Path) -> None:
        trust(list(notebooks), self.env)

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for s in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{s['id']}")
        for k in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{k['id']}")

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


@contextlib.contextmanager
def start_lab(base: Path, notebooks: Path, data: Path):
    """Serve a copy of ``notebooks`` (beside a link to ``data``, for notebooks that say ../data) from ``base``,
    with throwaway HOME and Jupyter dirs and ``COURSE_FAST=1``; stop the server and its kernels on exit."""
    root = base / "notebooks"
    if notebooks.is_dir():
        shutil.copytree(notebooks, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    else:
        root.mkdir()
    (base / "data").symlink_to(data)
    env = _environment(base)
    trust([p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts], env)
    log = base / "jupyter.log"
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(_command(root, port), cwd=root, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}", root, log, proc, env)
    try:
        _wait_until_up(lab)
        yield lab
    finally:
        with contextlib.suppress(OSError):
            lab.shutdown_kernels()
        _stop(proc)


def _environment(base: Path) -> dict[str, str]:
    env = dict(os.environ, COURSE_FAST="1", PYTHONUNBUFFERED="1")
    for var, sub in JUPYTER_DIRS:
        (base / sub).mkdir()
        env[var] = str(base / sub)
    # The venv's kernelspec and lab extensions (ipywidgets' manager) live under sys.prefix: keep them on the path.
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                        os.environ.get("JUPYTER_PATH")]))
    env.pop("JUPYTER_TOKEN", None)
    for plugin, values in LAB_SETTINGS.items():
        f = base / "lab_settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    return env


def trust(notebooks: list[Path], env: dict[str, str]) -> None:
    """Sign notebooks in the trust database of the server with environment ``env`` (as ``jupyter trust`` does), so
    that their stored outputs render as committed: JupyterLab shows an untrusted notebook's widgets as plain text."""
    import nbformat
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary(data_dir=env["JUPYTER_DATA_DIR"])
    for path in notebooks:
        notary.sign(nbformat.read(str(path), as_version=nbformat.NO_CONVERT))


def _command(root: Path, port: int) -> list[str]:
    cmd = [str(Path(sys.prefix) / "bin" / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url="]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def _wait_until_up(lab: Lab) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if lab.proc.poll() is not None:
            raise LabError(f"JupyterLab exited with {lab.proc.returncode}:\n{lab.log_tail()}")
        with contextlib.suppress(OSError):
            if lab.api("GET", "/api/status") is not None:
                return
        if time.monotonic() > deadline:
            raise LabError(f"JupyterLab did not answer /api/status in {START_TIMEOUT_S} s:\n{lab.log_tail()}")
        time.sleep(0.5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server's process group, and any kernel it left behind (kernels get their own session)."""
    import psutil

    try:
        leftovers = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        leftovers = []
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
    for child in leftovers:
        with contextlib.suppress(psutil.Error):
            child.kill()
