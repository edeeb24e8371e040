"""Serve the commissioner dashboards with Voila, hardened for sharing with people outside the team.

``serve(data_dir, port)`` builds the precomputed aggregates if they are missing or older than the
store, then runs Voila (in a child process) on the ``dashboards/`` folder: every notebook there is
a page at ``/voila/render/<name>.ipynb`` and ``/`` goes to the overview. Directory mode (one
notebook per page) rather than one app with tabs, because each page then has its own address that
can be bookmarked and shared, each kernel only holds and computes its own page (a fast first view
and a small memory footprint per viewer), and pages fail independently.

Hardening (see ``dashboards/voila.json``, repeated on the command line so a stray user config
cannot undo it):

* visitors cannot change the template or theme from the query string
  (``allow_template_override``/``allow_theme_override`` = NO);
* no tracebacks (``show_tracebacks=False``) and no source code (``strip_sources=True``); the
  dashboards folder serves no files (``file_allowlist=[]``);
* only the widget extensions are loaded; Voila's kernel websocket only accepts widget messages,
  so a visitor cannot run code;
* idle kernels are culled (30 minutes; a page left open that long must be reloaded);
* pre-heated kernels (a pool per page, already executed) so the first view opens at once; one
  rendered before a new ingest is replaced as it is handed out, so a new quarter shows without a
  restart (:mod:`workbench.dashboards.freshness`);
* bound to 127.0.0.1: put it behind the organisation's reverse proxy and login
  (``docs/dashboards.md``);
* against abuse (:mod:`workbench.dashboards.hardening`, through a tornado Application subclass and
  Voila's handler list, see there): caps on viewers' kernels per client and in total with a plain
  "busy, try again" page beyond them; kernels whose browser has gone stopped within a minute
  (websocket pings, then a short grace); no tracebacks or stderr from kernels; a Host allow-list;
  security headers on every response, static files, redirects and errors included;
* the pages read only ``aggregates.duckdb``; the data folder comes from ``$WORKBENCH_DATA_DIR``.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from workbench.store import DATA_DIR_ENV, Store, default_data_dir

DASHBOARDS_DIR_ENV = "WORKBENCH_DASHBOARDS_DIR"
TEMPLATE = "workbench"
LANDING_PAGE = "voila/render/overview.ipynb"


def dashboards_dir() -> Path:
    """The folder of dashboard notebooks: ``$WORKBENCH_DASHBOARDS_DIR`` or the package's own
    (``workbench/dashboards/notebooks``, shipped as package data with the Voila template)."""
    env = os.environ.get(DASHBOARDS_DIR_ENV)
    folder = Path(env) if env else Path(str(resources.files("workbench") / "dashboards" / "notebooks"))
    if not (folder / "overview.ipynb").exists():
        raise FileNotFoundError(
            f"No dashboards in {folder}. Reinstall the workbench, or set {DASHBOARDS_DIR_ENV}."
        )
    return folder


@dataclass(frozen=True)
class ServerSettings:
    """What may differ between deployments; everything else is fixed in voila.json."""

    port: int = 8866
    ip: str = "127.0.0.1"
    pool_size: int = 1  # pre-heated kernels waiting per page
    cull_idle_timeout: int = 1800  # seconds without activity before a viewer's kernel is stopped
    cull_interval: int = 60
    base_url: str = "/"  # e.g. "/dashboards/" behind a reverse proxy path
    fill_delay: float = 1.0  # seconds before a used pre-heated kernel is replaced
    #: Viewers' kernels at once, in total and per client (about 130 MB of memory each, proportional
    #: set size: docs/assumptions/dashboards.md); beyond them a plain "busy, try again" page, and no
    #: kernel (the saved first view is not sent either: the page says to try again). Per client:
    #: every page open in a tab (twelve) and two reloads.
    max_kernels: int = 40
    max_kernels_per_client: int = 14
    #: Host names served besides localhost, 127.0.0.1, ::1 and ``ip``: the public name(s) the
    #: reverse proxy passes on (e.g. "dashboards.example.org"). Any other Host is refused.
    allowed_hosts: tuple[str, ...] = ()
    #: The header naming the viewer, set by the reverse proxy (trusted only from 127.0.0.1/::1);
    #: without it every viewer behind the proxy would be one client.
    client_header: str = "X-Real-IP"
    #: A browser that vanished is noticed by websocket pings (no answer for ``ws_ping_timeout``
    #: seconds); a kernel no browser is connected to is stopped after a grace: ``connect_grace``
    #: from the page being sent (a page fetched without a browser), ``disconnect_grace`` after its
    #: socket closed (time to reconnect after a network blip). All within a minute.
    ws_ping_interval: float = 10.0
    ws_ping_timeout: float = 25.0
    connect_grace: float = 54.0
    disconnect_grace: float = 15.0
    #: Viewers' kernels starting and running their page at once (0: one per CPU), and how many
    #: nice steps below the server they run (hardening.KernelStarts).
    kernel_starts: int = 0
    kernel_nice: int = 10
    #: Kernels forked from a process that has imported what pages need (shared memory, faster
    #: starts: dashboards.forked_kernels); False starts each kernel as a new Python.
    forked_kernels: bool = True


def voila_arguments(folder: Path, settings: ServerSettings) -> list[str]:
    """Voila's command line. Security settings are repeated here (they are also in voila.json):
    the command line wins over any configuration file."""
    hosts = [f"--DashboardVoila.allowed_hosts={h}" for h in settings.allowed_hosts]
    return [
        str(folder),
        f"--Voila.config_file_paths={folder}",  # only our voila.json, never a user's
        f"--Voila.ip={settings.ip}",
        f"--Voila.port={settings.port}",
        "--Voila.port_retries=0",  # a busy port is an error, not a silent move elsewhere
        "--Voila.open_browser=False",
        f"--Voila.base_url={settings.base_url}",
        f"--VoilaConfiguration.template={TEMPLATE}",
        "--VoilaConfiguration.theme=light",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.preheat_kernel=True",
        f"--VoilaConfiguration.default_pool_size={settings.pool_size}",
        f"--VoilaKernelManager.fill_delay={settings.fill_delay}",
        f"--MappingKernelManager.cull_idle_timeout={settings.cull_idle_timeout}",
        f"--MappingKernelManager.cull_interval={settings.cull_interval}",
        "--MappingKernelManager.cull_connected=True",
        f"--DashboardVoila.max_kernels={settings.max_kernels}",
        f"--DashboardVoila.max_kernels_per_client={settings.max_kernels_per_client}",
        *hosts,
        f"--DashboardVoila.client_header={settings.client_header}",
        f"--DashboardVoila.ws_ping_interval={settings.ws_ping_interval}",
        f"--DashboardVoila.ws_ping_timeout={settings.ws_ping_timeout}",
        f"--DashboardVoila.connect_grace={settings.connect_grace}",
        f"--DashboardVoila.disconnect_grace={settings.disconnect_grace}",
        f"--DashboardVoila.kernel_starts={settings.kernel_starts}",
        f"--DashboardVoila.kernel_nice={settings.kernel_nice}",
        f"--DashboardVoila.forked_kernels={settings.forked_kernels}",
    ]


def server_environment(data_dir: Path, folder: Path) -> dict[str, str]:
    """Environment of the Voila process (and so of every kernel it starts)."""
    env = dict(os.environ)
    env[DATA_DIR_ENV] = str(data_dir.resolve())
    # the workbench template lives in dashboards/.share (a hidden folder: never listed or served)
    share = str((folder / ".share").resolve())
    env["JUPYTER_PATH"] = os.pathsep.join([share, *filter(None, [os.environ.get("JUPYTER_PATH")])])
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugger warning in kernels
    return env


def start(
    data_dir: str | Path | None = None,
    *,
    settings: ServerSettings | None = None,
    folder: Path | None = None,
    log: Path | None = None,
) -> subprocess.Popen:
    """Build the aggregates if needed, then start Voila in a child process (not waiting)."""
    from workbench.dashboards.aggregates import ensure_aggregates

    settings = settings or ServerSettings()
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    Store(data_dir)  # a clear StoreNotFound before anything starts
    ensure_aggregates(data_dir)
    folder = folder or dashboards_dir()
    cmd = [sys.executable, "-m", "workbench.dashboards.server", *voila_arguments(folder, settings)]
    out = open(log, "ab") if log else None  # noqa: SIM115 - the child keeps it open
    return subprocess.Popen(
        cmd, env=server_environment(data_dir, folder), cwd=str(folder),
        stdout=out or None, stderr=subprocess.STDOUT if out else None,
        start_new_session=True,  # Ctrl-C in a terminal reaches us; we stop the server cleanly
    )


def wait_until_ready(url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    """Wait until the server answers ``url`` (raise if it exits or does not answer in time).

    Redirects are not followed: following ``/`` to a page would use up a pre-heated kernel."""
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"The dashboard server stopped (exit code {proc.returncode}).")
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=5)
        try:
            conn.request("GET", parts.path or "/")
            if conn.getresponse().status < 500:
                return
        except OSError as exc:
            last = exc
        finally:
            conn.close()
        time.sleep(0.25)
    raise TimeoutError(f"The dashboard server did not answer at {url} within {timeout:.0f}s ({last}).")


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Stop the server and its kernels (SIGTERM to its process group; SIGKILL if it hangs)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def serve(
    data_dir: str | Path | None = None,
    port: int = 8866,
    *,
    ip: str = "127.0.0.1",
    pool_size: int = 1,
    base_url: str = "/",
    allowed_hosts: Sequence[str] = (),
    max_kernels: int = ServerSettings.max_kernels,
    max_kernels_per_client: int = ServerSettings.max_kernels_per_client,
) -> None:
    """Serve the dashboards until interrupted (Ctrl-C). Binds to 127.0.0.1 unless told otherwise.

    Behind a reverse proxy, ``allowed_hosts`` names the public host name(s) the proxy passes on
    (any other ``Host`` is refused)."""
    settings = ServerSettings(port=port, ip=ip, pool_size=pool_size, base_url=base_url,
                              allowed_hosts=tuple(allowed_hosts), max_kernels=max_kernels,
                              max_kernels_per_client=max_kernels_per_client)
    print("Preparing the dashboard figures (aggregates)...", flush=True)
    proc = start(data_dir, settings=settings)

    def _terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # runs the finally below: the server and kernels stop too

    signal.signal(signal.SIGTERM, _terminate)
    host = "localhost" if ip in ("127.0.0.1", "localhost") else ip
    url = f"http://{host}:{port}{base_url}"
    try:
        wait_until_ready(url, proc, timeout=120)
        print(f"Dashboards: {url} (Ctrl-C stops them)", flush=True)
        proc.wait()
    except KeyboardInterrupt:
        print("Stopping the dashboards...", flush=True)
    finally:
        stop(proc)


# --------------------------------------------------------------------------------------------
# The Voila process itself (python -m workbench.dashboards.server VOILA-ARGS)
# --------------------------------------------------------------------------------------------


def _voila_app_class():
    import atexit
    import tempfile

    import tornado.ioloop
    from tornado.web import RedirectHandler
    from traitlets import Bool, Float, Int, List, Unicode
    from voila.app import Voila
    from voila.tornado.handler import TornadoVoilaHandler
    from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

    from workbench.dashboards import first_view, hardening
    from workbench.dashboards.freshness import StoreWatch

    class DashboardVoila(Voila):
        """Voila with ``/`` sending visitors to the overview (not a file listing), and the
        defences of :mod:`workbench.dashboards.hardening`: its page and websocket handlers in
        place of Voila's, its tornado Application (host allow-list, security headers on every
        response), websocket pings, and a periodic check that stops kernels whose viewer left.

        ``start`` is Voila's own (temporary connection folder, settings, handlers, listen) with
        that Application class and those settings; the extra options are configurable traits
        (``--DashboardVoila.max_kernels=...``), set by :func:`voila_arguments`."""

        max_kernels = Int(40, config=True, help="Viewers' kernels at once, in total.")
        max_kernels_per_client = Int(14, config=True, help="Viewers' kernels at once, per client.")
        allowed_hosts = List(Unicode(), config=True,
                             help="Host names served besides localhost, 127.0.0.1, ::1 and the ip.")
        client_header = Unicode("X-Real-IP", config=True,
                                help="Header naming the viewer, set by the reverse proxy ('' for none).")
        trusted_proxies = List(Unicode(), ["127.0.0.1", "::1"], config=True,
                               help="Addresses whose client_header is believed.")
        ws_ping_interval = Float(10.0, config=True, help="Seconds between websocket pings.")
        ws_ping_timeout = Float(25.0, config=True, help="Seconds without an answer before a socket is closed.")
        connect_grace = Float(54.0, config=True, help="Seconds for a sent page's browser to connect.")
        disconnect_grace = Float(15.0, config=True, help="Seconds a kernel may have no browser connected.")
        kernel_starts = Int(0, config=True, help="Viewers' kernels starting at once (0: one per CPU).")
        kernel_nice = Int(10, config=True, help="Nice steps of viewers' kernels below the server.")
        forked_kernels = Bool(True, config=True, help="Fork kernels from a process that has imported the pages.")

        def init_handlers(self) -> list:
            from jupyter_server.utils import url_path_join

            ours = {TornadoVoilaHandler: hardening.PageHandler,
                    VoilaKernelWebsocketHandler: hardening.KernelSocketHandler}
            handlers = [(h[0], ours.get(h[1], h[1]), *h[2:]) if len(h) > 1 else h for h in super().init_handlers()]
            landing = url_path_join(self.base_url, LANDING_PAGE)
            # first match wins in tornado, so these shadow the tree (file listing) handlers
            return [
                (self.server_url, RedirectHandler, {"url": landing}),
                (url_path_join(self.server_url, r"/voila/tree/?"), RedirectHandler, {"url": landing}),
                *handlers,
            ]

        def start(self) -> None:
            self.connection_dir = tempfile.mkdtemp(prefix="voila_", dir=self.connection_dir_root)
            if self.forked_kernels:
                from workbench.dashboards import forked_kernels

                template, _socket = forked_kernels.start_template(self.connection_dir, self.log)
                atexit.register(template.terminate)
                os.environ[forked_kernels.DEFAULT_PROVISIONER_ENV] = forked_kernels.PROVISIONER_NAME
            settings = self.init_settings()
            limits = hardening.KernelLimits(
                max_kernels=self.max_kernels, max_kernels_per_client=self.max_kernels_per_client,
                connect_grace=self.connect_grace, disconnect_grace=self.disconnect_grace,
                check_interval=min(5.0, max(0.5, min(self.connect_grace, self.disconnect_grace) / 3)))
            guard = hardening.KernelGuard(limits, self.kernel_manager.list_kernel_ids)
            watch = StoreWatch()
            # the pool's kernels save every page's first view again as soon as they have rendered it
            if removed := first_view.clear(watch.data_dir):
                self.log.info("Removed %d saved first views of the last server (rendered again at start)", removed)
            self.app = hardening.HardenedApplication(**settings)
            self.app.settings.update(self.tornado_settings)
            self.app.settings.update(
                workbench_guard=guard,
                workbench_headers={**hardening.SECURITY_HEADERS, **self.app.settings.get("headers", {})},
                workbench_allowed_hosts=hardening.allowed_hosts(self.ip, self.allowed_hosts),
                workbench_client_header=self.client_header or None,
                workbench_trusted_proxies=tuple(self.trusted_proxies),
                # pre-heated pages rendered before a new ingest are replaced (dashboards.freshness)
                workbench_store_watch=watch,
                workbench_kernel_starts=hardening.KernelStarts(self.kernel_starts, self.kernel_nice),
                ws_ping_interval=int(self.ws_ping_interval * 1000),  # jupyter_server's, in ms
                ws_ping_timeout=int(self.ws_ping_timeout * 1000),
            )
            self.app.add_handlers(".*$", self.init_handlers())
            self.log.info("Kernels: at most %d for viewers, %d per client; hosts served: %s", limits.max_kernels,
                          limits.max_kernels_per_client, ", ".join(sorted(self.app.settings["workbench_allowed_hosts"])))
            reaper = tornado.ioloop.PeriodicCallback(lambda: guard.reap(self.kernel_manager, self.log),
                                                     limits.check_interval * 1000)
            reaper.start()
            self.listen()

    return DashboardVoila


def main(argv: Sequence[str] | None = None) -> None:
    _voila_app_class().launch_instance(argv=list(argv) if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
