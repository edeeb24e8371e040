"""The dashboard server's defences against abuse, built on tornado's and Voila's supported
extension points (no monkeypatching of private internals):

* **A tornado ``Application`` subclass** (:class:`HardenedApplication`, created by the server's
  ``Voila.start`` override): ``find_handler`` refuses requests whose ``Host`` is not on the
  allow-list (a DNS-rebinding page cannot reach the server through a name it controls), and
  ``get_handler_delegate`` gives every handler class (pages, static files, redirects, websockets,
  tornado's own 404) the security headers in ``set_default_headers``, which tornado also calls
  before writing an error page, so errors carry them too.
* **Handler subclasses**, put in Voila's handler list in place of its own: :class:`PageHandler`
  (``TornadoVoilaHandler``) enforces the kernel caps, tells the :class:`KernelGuard` which
  kernel a viewer was given, replaces a pre-heated page rendered before a new ingest
  (:mod:`workbench.dashboards.freshness`), and, when no pre-heated kernel is ready, sends the
  page's saved first view before the viewer's kernel starts (:mod:`workbench.dashboards.first_view`); :class:`KernelSocketHandler` (``VoilaKernelWebsocketHandler``, the
  same extension point Voila itself uses to drop ``execute_input``) reports websocket opens and
  closes, and strips tracebacks, server paths and stderr from what a kernel sends back.
* **Tornado settings**: jupyter_server's websocket pings (``ws_ping_interval``/``ws_ping_timeout``)
  close the socket of a browser that vanished without closing it (laptop lid, lost network).

The :class:`KernelGuard` then shuts down a viewer's kernel once no browser has been connected to
it for a short grace (a page fetched by ``curl`` whose websocket never connects, a tab whose socket
closed or timed out), instead of leaving it for the 30-minute idle cull.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import tornado.web
from jupyter_core.utils import ensure_async
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_binary_message,
    serialize_msg_to_ws_v1,
)
from tornado.httputil import HTTPServerRequest
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from workbench.dashboards import first_view
from workbench.dashboards.freshness import StoreWatch, rendered_ingest
from workbench.dashboards.palette import TEXT

#: Sent with every response. The pages need inline scripts and styles (Voila's template writes the
#: page configuration and the widget state inline) and ``'unsafe-eval'`` (the widget manager
#: compiles code at run time); everything else is limited to this server, and nothing may frame
#: the pages, post forms elsewhere or load plugins. Downloads are ``data:`` links.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-ancestors 'self'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
])
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
#: Host names always accepted (the server itself); the configured ip and the deployment's own
#: names (``allowed_hosts``) are added to these.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
#: What a viewer sees instead of a traceback from the kernel.
GENERIC_ERROR = "The dashboard could not use that request."

BUSY_TITLE = "The dashboards are busy"
BUSY_TEXT = {
    "total": "Too many people are viewing the dashboards at the moment. Please try again in a minute.",
    "client": "You have too many dashboard pages open. Close one of them, or wait a minute, and try again.",
}


# --------------------------------------------------------------------------------------------
# Hosts and clients
# --------------------------------------------------------------------------------------------


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header, without port or IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8866
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def allowed_hosts(ip: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host allow-list: the local names, the address the server listens on (unless it is a
    wildcard) and the deployment's own names (e.g. the reverse proxy's public name)."""
    names = {*LOCAL_HOSTS, *(host_name(h) for h in extra if h.strip())}
    if ip and ip not in ("0.0.0.0", "::", "*"):
        names.add(host_name(ip) if not ip.startswith("[") else ip.strip("[]"))
    return frozenset(names)


def client_of(request: HTTPServerRequest, header: str | None, trusted: Iterable[str]) -> str:
    """Who a request is from, for the per-client cap: the connecting address, or, when the request
    comes from a trusted reverse proxy that sets ``header`` (X-Real-IP, X-Forwarded-For,
    X-Forwarded-User), that header's value (the last entry of a list: the one the proxy added)."""
    remote = request.remote_ip or ""
    if header and remote in set(trusted):
        value = request.headers.get(header, "")
        if value.strip():
            return value.split(",")[-1].strip()
    return remote


# --------------------------------------------------------------------------------------------
# Kernels of viewers: caps and clean-up
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelLimits:
    """Caps on viewers' kernels, and how soon the kernel of a viewer who left is stopped."""

    max_kernels: int = 40  # viewers' kernels in total (pre-heated ones waiting are not counted)
    max_kernels_per_client: int = 14  # every page (twelve) open in tabs, and two reloads
    connect_grace: float = 54.0  # s from the page being sent until its websocket must connect (+ a check: < 60)
    disconnect_grace: float = 15.0  # s a kernel may stay without a connected browser (reconnects)
    check_interval: float = 5.0  # s between checks for kernels nobody is connected to


@dataclass
class _Viewer:
    client: str
    sent_at: float | None = None  # None while the page is still being rendered and sent
    connections: int = 0
    left_at: float | None = None  # when its last websocket closed


@dataclass
class Reservation:
    """A page request's place under the caps, from admission until its kernel is known."""

    client: str
    kernel_id: str | None = None
    released: bool = False


@dataclass
class KernelGuard:
    """Which kernel belongs to which viewer, the caps on them, and the clean-up of kernels whose
    browser has gone. ``kernel_ids`` lists the kernels that are running (the kernel manager's)."""

    limits: KernelLimits
    kernel_ids: Callable[[], Iterable[str]]
    clock: Callable[[], float] = time.monotonic
    viewers: dict[str, _Viewer] = field(default_factory=dict)
    pending: list[Reservation] = field(default_factory=list)

    def _prune(self) -> None:
        running = set(self.kernel_ids())
        for kid in [k for k in self.viewers if k not in running]:
            del self.viewers[kid]

    def counts(self, client: str) -> tuple[int, int]:
        """(kernels and page requests in flight of this client, of everyone)."""
        self._prune()
        mine = sum(v.client == client for v in self.viewers.values()) + sum(r.client == client for r in self.pending)
        return mine, len(self.viewers) + len(self.pending)

    def admit(self, client: str) -> Reservation | str:
        """A reservation for a new page, or why there is no room ("client" or "total")."""
        mine, total = self.counts(client)
        if mine >= self.limits.max_kernels_per_client:
            return "client"
        if total >= self.limits.max_kernels:
            return "total"
        reservation = Reservation(client)
        self.pending.append(reservation)
        return reservation

    def assign(self, reservation: Reservation, kernel_id: str) -> None:
        """The page's kernel is known: it now counts instead of the reservation."""
        reservation.kernel_id = kernel_id
        # a kernel started in the background may be known only after its page request ended (the
        # browser went away): it then counts as sent, so that it is stopped if nobody connects
        self.viewers[kernel_id] = _Viewer(reservation.client, sent_at=self.clock() if reservation.released else None)
        self._drop(reservation)

    def release(self, reservation: Reservation) -> None:
        """The page has been sent (or failed): from now on its browser must connect."""
        self._drop(reservation)
        if reservation.kernel_id and reservation.kernel_id in self.viewers:
            self.viewers[reservation.kernel_id].sent_at = self.clock()

    def _drop(self, reservation: Reservation) -> None:
        if not reservation.released:
            reservation.released = True
            self.pending.remove(reservation)

    def connected(self, kernel_id: str) -> None:
        if viewer := self.viewers.get(kernel_id):
            viewer.connections += 1
            viewer.left_at = None

    def disconnected(self, kernel_id: str) -> None:
        if viewer := self.viewers.get(kernel_id):
            viewer.connections = max(0, viewer.connections - 1)
            if viewer.connections == 0:
                viewer.left_at = self.clock()

    def abandoned(self) -> list[str]:
        """Kernels whose viewer has gone: the page was sent but no browser connected within
        ``connect_grace``, or the last browser left more than ``disconnect_grace`` ago."""
        self._prune()
        now, out = self.clock(), []
        for kid, v in self.viewers.items():
            if v.connections or v.sent_at is None:
                continue
            if v.left_at is not None:
                if now - v.left_at > self.limits.disconnect_grace:
                    out.append(kid)
            elif now - v.sent_at > self.limits.connect_grace:
                out.append(kid)
        return out

    async def reap(self, manager: Any, log: Any) -> None:
        """Shut down the kernels of viewers who have gone (run every ``check_interval``)."""
        for kid in self.abandoned():
            viewer = self.viewers.pop(kid, None)
            # which grace ran out says whether a browser ever came (a slow one would come late)
            why = (f"its last browser left over {self.limits.disconnect_grace:.0f} s ago"
                   if viewer is not None and viewer.left_at is not None
                   else f"no browser connected within {self.limits.connect_grace:.0f} s of its page being sent")
            log.info("Stopping kernel %s: %s", kid, why)
            try:
                await ensure_async(manager.shutdown_kernel(kid))
            except Exception as exc:  # already gone: nothing to free
                log.debug("Kernel %s could not be shut down: %s", kid, exc)


# --------------------------------------------------------------------------------------------
# What kernels send back to browsers
# --------------------------------------------------------------------------------------------


def sanitise_content(msg_type: str, content: dict) -> dict | None:
    """A kernel message's content as a viewer may see it: ``None`` to drop it (stderr, which
    carries warnings and logged tracebacks with server paths), errors without traceback, value
    or type (a widget sent bad data: ipywidgets answers with the IPython traceback)."""
    if msg_type == "stream" and content.get("name") == "stderr":
        return None
    if msg_type == "error" or "traceback" in content:
        cleaned = {k: v for k, v in content.items() if k not in ("traceback", "ename", "evalue")}
        return {**cleaned, "ename": "Error", "evalue": GENERIC_ERROR, "traceback": []}
    return content


def sanitise_message(message: bytes | str | dict, v1: bool) -> bytes | str | dict | None:
    """A websocket message from a kernel, sanitised (see :func:`sanitise_content`); ``None`` to
    drop it. Handles jupyter_server's three encodings: the v1 binary protocol, and the legacy
    protocol's JSON text and binary (with buffers) messages. Messages are parsed only as far as
    needed: most pass through untouched."""
    if isinstance(message, bytes) and v1:
        channel, parts = deserialize_msg_from_ws_v1(message)
        if channel != "iopub" and channel != "shell":
            return message
        header = json.loads(bytes(parts[0]))
        if header.get("msg_type") not in ("stream", "error", "execute_reply"):
            return message
        content = sanitise_content(header["msg_type"], json.loads(bytes(parts[3])))
        if content is None:
            return None
        return serialize_msg_to_ws_v1([*parts[:3], json.dumps(content).encode(), *parts[4:]], channel)
    if isinstance(message, bytes):
        msg = deserialize_binary_message(message)
    elif isinstance(message, str):
        msg = json.loads(message)
    else:
        msg = message
    msg_type = (msg.get("header") or {}).get("msg_type", "")
    if msg_type not in ("stream", "error", "execute_reply"):
        return message
    content = sanitise_content(msg_type, msg.get("content") or {})
    if content is None:
        return None
    msg = {**msg, "content": content}
    if isinstance(message, bytes):
        return serialize_binary_message(msg)
    if isinstance(message, str):
        return json.dumps(msg, default=str)
    return msg


# --------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"


def plain_page(title: str, text: str) -> str:
    """A small self-contained page (no scripts, no template) for refusals."""
    from html import escape

    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
            f'<body style="font-family:system-ui,Arial,sans-serif;max-width:40em;margin:3em auto;color:{TEXT}">'
            f"<main><h1>{escape(title)}</h1><p>{escape(text)}</p></main></body></html>")


#: At most this many pre-heated pages of one page are found stale in a row (one per kernel in its
#: pool: each kernel taken is replaced by one started after the ingest).
MAX_STALE_PAGES = 10


async def _rendered_html(result: tuple) -> str:
    """The HTML a pre-heated page has rendered so far, or once its running cell has finished if
    that is not enough to tell which ingest it shows."""
    render_task, rendered_cache, _kernel_id = result
    html = "".join(rendered_cache)
    if rendered_ingest(html) is None:
        try:
            rendered, _rest = await render_task  # the handler awaits the same task next: same result
        except Exception:  # the page failed: the handler reports it as it would have
            return html
        html = "".join(rendered)
    return html


class KernelStarts:
    """Viewers' kernels starting and running their page, a few at a time, below the server.

    A kernel needs about 2.5 s of CPU to start and run its page; twenty started at once on two
    cores share them with the server and with each other, and every viewer waits for all of them
    (docs/assumptions/dashboards.md, "Twenty viewers at once"). Viewers who were sent the saved
    first view (they already see the page) queue for ``slots`` (one per CPU by default), first
    come first served, before Voila works on their page, and hold one until the page has been
    sent (:meth:`_KernelsForOnePage.take_slot`); their kernels run ``nice`` steps below the
    server, so the server answers pages and files at once however many kernels are working."""

    #: Seconds a start may hold its slot: a page whose cells never finish frees it then.
    hold_at_most = 60.0

    def __init__(self, at_once: int = 0, nice: int = 10) -> None:
        self.at_once = at_once if at_once > 0 else (os.cpu_count() or 1)
        self.slots = asyncio.Semaphore(self.at_once)
        self.nice = nice

    def lower_priority(self, manager: Any, kernel_id: str) -> None:
        """Run the kernel ``nice`` steps below the server (best effort: a kernel on another host,
        or a provisioner without a process id, runs as it is)."""
        if self.nice <= 0:
            return
        try:
            pid = manager.get_kernel(kernel_id).provisioner.pid
            os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + self.nice)
        except (AttributeError, KeyError, OSError, TypeError):
            pass


class _KernelsForOnePage:
    """The kernel manager as one page request sees it: tells the guard which kernel the viewer
    was given (a pre-heated one or a new one), replaces a pre-heated page rendered from an earlier
    ingest than the store's now (:mod:`workbench.dashboards.freshness`), and passes everything else
    through."""

    def __init__(self, manager: Any, on_kernel: Callable[[str], None], watch: StoreWatch | None = None,
                 log: Any = None, starts: KernelStarts | None = None) -> None:
        self._manager, self._on_kernel, self._watch, self._log = manager, on_kernel, watch, log
        self._starting: dict[str, asyncio.Future] = {}
        self._starts, self._holding, self._done = starts, False, False
        self._hold_timer: asyncio.TimerHandle | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    def get_pool_size(self, notebook_name: str) -> int:
        """Pre-heated kernels of this page that are *ready* (rendered). Voila counts the kernels
        still starting too, and a viewer given one waits, with a blank page, for its whole start
        and render; with none ready, Voila starts the viewer's own kernel at once instead and the
        handler sends the page's saved first view meanwhile (:mod:`workbench.dashboards.first_view`).
        Voila has no public list of its pools (``_pools``): without it, Voila's count is used."""
        pools = getattr(self._manager, "_pools", None)
        if not isinstance(pools, dict):
            return self._manager.get_pool_size(notebook_name)
        return sum(1 for task in pools.get(notebook_name, ())
                   if task.done() and not task.cancelled() and task.exception() is None)

    async def get_rendered_notebook(self, *args: Any, **kwargs: Any) -> Any:
        result = await self._manager.get_rendered_notebook(*args, **kwargs)
        for _ in range(MAX_STALE_PAGES if self._watch is not None else 0):
            stale, shown, now = self._watch.is_stale(await _rendered_html(result))
            if not stale:
                break
            if self._log is not None:
                self._log.info("Pre-heated kernel %s shows ingest %s, the store is at ingest %s: stopping it and "
                               "taking a newer one", result[2], shown or "(none)", now)
            await ensure_async(self._manager.shutdown_kernel(result[2]))
            result = await self._manager.get_rendered_notebook(*args, **kwargs)
        self._on_kernel(result[2])  # (render task, rendered cells, kernel id)
        return result

    #: Set by the page handler when it has a saved first view to send: the viewer's kernel is then
    #: started in the background, so that Voila sends the page head (with the view) at once.
    start_in_background = False

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        """Start the viewer's kernel. Voila awaits this before it renders anything, and the kernel
        manager returns only once the kernel process is up (seconds each when many start at once
        on two cores). With a saved first view to send, the kernel id is chosen here, the start
        runs in the background, and :meth:`get_kernel` gives Voila a future of the kernel (Voila
        awaits it inside the template, after the page head has been sent). The viewer counts
        under the caps through the page's reservation until the kernel has started."""
        if not self.start_in_background:
            kernel_id = await ensure_async(self._manager.start_kernel(*args, **kwargs))
            self._on_kernel(kernel_id)
            return kernel_id
        kernel_id = kwargs.pop("kernel_id", None) or str(uuid.uuid4())

        async def start() -> str:
            await self.take_slot()
            try:
                started = await ensure_async(self._manager.start_kernel(*args, kernel_id=kernel_id, **kwargs))
            except BaseException:
                self.finished()
                raise
            if self._starts is not None:
                self._starts.lower_priority(self._manager, started)
            self._on_kernel(started)
            return started

        self._starting[kernel_id] = asyncio.ensure_future(start())
        return kernel_id

    async def take_slot(self) -> None:
        """Queue for a kernel start's slot (:class:`KernelStarts`), unless already holding one. The
        page handler takes it before Voila starts work on the page, so that Voila's own rendering
        for the viewers queued behind does not compete with sending everyone's saved view."""
        if self._starts is None or self._holding:
            return
        await self._starts.slots.acquire()
        self._holding = True
        if self._done:  # the page ended (the viewer left) while it queued: hold nothing
            self.finished()
        else:  # a page that never ends does not hold its slot for ever
            self._hold_timer = asyncio.get_running_loop().call_later(self._starts.hold_at_most, self.finished)

    def finished(self) -> None:
        """The page is sent (its cells have run) or failed, or the viewer left: its kernel start's
        slot is free (and one still queued will not hold one)."""
        self._done = True
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        if self._holding and self._starts is not None:
            self._holding = False
            self._starts.slots.release()

    def get_kernel(self, kernel_id: str) -> Any:
        """The kernel, or, for one starting in the background, an awaitable of it (Voila's renderer
        awaits what it is given: ``kernel_future``)."""
        starting = self._starting.get(kernel_id)
        if starting is None:
            return self._manager.get_kernel(kernel_id)

        async def when_started() -> Any:
            await starting
            return self._manager.get_kernel(kernel_id)

        return when_started()


class PageHandler(TornadoVoilaHandler):
    """Voila's page handler with the kernel caps, also setting the ``_xsrf`` cookie.

    Beyond a cap the visitor gets a plain "busy, try again" page (429 for one client's cap, 503
    for the total) and no kernel is started. A page asks the server to shut its kernel down when
    the tab closes ("beforeunload"), sending the ``_xsrf`` cookie; tornado only sets that cookie
    once the token is used, so without using it here that request is refused (403) and every
    closed tab holds a kernel until it is found abandoned. Cross-site request protection stays on.
    A pre-heated page rendered from an earlier ingest than the store's is not handed out
    (:mod:`workbench.dashboards.freshness`). When no pre-heated kernel of the page is ready, the
    viewer's kernel is started at once and the page's saved first view is sent with the page's
    head, before the kernel is ready (:mod:`workbench.dashboards.first_view`)."""

    _page_kernels: _KernelsForOnePage | None = None

    @property
    def kernel_manager(self) -> Any:
        return self._page_kernels or self.settings["kernel_manager"]

    @tornado.web.authenticated
    async def get(self, path: str | None = None) -> None:
        _ = self.xsrf_token
        guard: KernelGuard = self.settings["workbench_guard"]
        client = client_of(self.request, self.settings.get("workbench_client_header"),
                           self.settings.get("workbench_trusted_proxies", ()))
        admitted = guard.admit(client)
        if isinstance(admitted, str):
            self.log.warning("Busy (%s cap): refused a page for %s", admitted, client)
            self.set_status(429 if admitted == "client" else 503)
            self.set_header("Retry-After", "60")
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.finish(plain_page(BUSY_TITLE, BUSY_TEXT[admitted]))
            return
        watch: StoreWatch | None = self.settings.get("workbench_store_watch")
        self._page_kernels = _KernelsForOnePage(self.settings["kernel_manager"],
                                                lambda kid: guard.assign(admitted, kid), watch, self.log,
                                                self.settings.get("workbench_kernel_starts"))
        key = (path or "").rsplit("/", 1)[-1].removesuffix(".ipynb")
        # the saved view goes first to every viewer, a pre-heated page's too: the browser draws it
        # before fetching Voila's styles (first_view.early_page), which a pre-heated page's head
        # would make it wait for
        early = first_view.load(watch.data_dir, key, watch.current()) if watch is not None and path else None
        self._page_kernels.start_in_background = early is not None
        heads: dict[str, str] = self.settings.setdefault("workbench_page_heads", {})
        skipping = ""  # Voila's own copy of a page head already sent, until its end
        try:
            if early is not None and key in heads:
                # the page head (the same for every viewer of the page) and the saved view, before
                # Voila has done anything for this viewer: no wait for the server either
                for name, value in first_view.PAGE_HEADERS.items():
                    self.set_header(name, value)
                self.write(first_view.early_page(heads[key], early))
                self.flush()
                # let the viewers who arrived with this one be sent theirs before Voila renders
                # this viewer's page (seconds of the server's one thread for twenty viewers); a
                # viewer who needs a kernel started queues for it first (KernelStarts)
                await asyncio.sleep(0)
                if self._page_kernels.get_pool_size(path) == 0:
                    await self._page_kernels.take_slot()
                    stream = getattr(self.request.connection, "stream", None)
                    if stream is not None and stream.closed():  # the viewer left while queued
                        return
                early, skipping = None, "\0"
            # Voila's TornadoVoilaHandler.get, keeping the page head for the next viewers and
            # writing the saved first view into it when it was not sent above
            start = ""  # the page so far, until its head is complete
            async for html in self.get_generator(path=path):
                if key and key not in heads and start is not None:
                    start += html
                    if (head := first_view.page_head(start)) is not None:
                        heads[key], start = head, None
                if skipping:
                    skipping = (skipping if skipping != "\0" else "") + html
                    rest = first_view.after_head(skipping)
                    if rest is None:
                        continue
                    html, skipping = rest, ""
                elif early is not None:
                    with_view = first_view.inject(html, early)
                    if with_view is not None or 'class="wb-snapshot' in html:
                        early = None
                    html = with_view or html
                self.write(html)
                self.flush()
        finally:
            self._page_kernels.finished()
            guard.release(admitted)


class KernelSocketHandler(VoilaKernelWebsocketHandler):
    """Voila's kernel websocket, reporting opens and closes to the guard and sanitising what the
    kernel sends (no tracebacks, server paths or stderr)."""

    _counted = False

    async def open(self, kernel_id: str) -> None:  # type: ignore[override]
        self.settings["workbench_guard"].connected(kernel_id)
        self._counted = True
        await super().open(kernel_id)

    def on_close(self) -> None:
        if self._counted:
            self._counted = False
            self.settings["workbench_guard"].disconnected(self.kernel_id)
        super().on_close()

    def write_message(self, message: Any, binary: bool = False) -> Any:
        try:
            cleaned = sanitise_message(message, self.selected_subprotocol == V1_PROTOCOL)
        except Exception:  # unreadable: never pass on what could not be checked
            self.log.warning("Dropped a kernel message that could not be read")
            return None
        if cleaned is None:
            return None
        return super().write_message(cleaned, binary)


class UnknownHostHandler(tornado.web.RequestHandler):
    """The answer to a request for a host name this server does not serve."""

    def prepare(self) -> None:
        self.set_status(400)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(plain_page("Unknown address", "This address is not served here."))


_WITH_HEADERS: dict[type, type] = {}


def with_security_headers(cls: type[tornado.web.RequestHandler]) -> type[tornado.web.RequestHandler]:
    """``cls`` setting the security headers (``settings["workbench_headers"]``) after its own
    defaults. tornado calls ``set_default_headers`` when a handler is created and again before an
    error page, so every response, errors included, carries them."""
    if cls in _WITH_HEADERS:
        return _WITH_HEADERS[cls]

    def set_default_headers(self: tornado.web.RequestHandler) -> None:
        super(sub, self).set_default_headers()
        for name, value in self.application.settings.get("workbench_headers", SECURITY_HEADERS).items():
            self.set_header(name, value)

    sub = type(cls.__name__, (cls,), {"set_default_headers": set_default_headers, "__module__": cls.__module__})
    _WITH_HEADERS[cls] = sub
    return sub


class HardenedApplication(tornado.web.Application):
    """tornado's Application with the host allow-list and the security headers on every handler."""

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> Any:
        hosts = self.settings.get("workbench_allowed_hosts")
        if hosts is not None and host_name(request.host or "") not in hosts:
            return self.get_handler_delegate(request, UnknownHostHandler)
        return super().find_handler(request, **kwargs)

    def get_handler_delegate(self, request: HTTPServerRequest, target_class: type[tornado.web.RequestHandler],
                             target_kwargs: dict[str, Any] | None = None, path_args: list[bytes] | None = None,
                             path_kwargs: dict[str, bytes] | None = None) -> Any:
        return super().get_handler_delegate(request, with_security_headers(target_class), target_kwargs,
                                            path_args, path_kwargs)
