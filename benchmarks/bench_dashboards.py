"""Commissioner dashboards against a plain one-cell Voila notebook, served the same way, in one run.

Both servers are started by ``workbench.dashboards.server.start`` with the same settings
(hardened voila.json, pre-heated kernels, the workbench template); the baseline folder holds a
single notebook with one cell: a drop-down and an ``ipywidgets.HTML`` chart that the drop-down
updates. Debian's Chromium (Playwright) then measures, for each:

* **first chart** - from the request to the first chart on screen, median over ``--loads``
  loads (a fresh browser context each time, so nothing is cached), spaced so a pre-heated kernel
  is waiting, as for a commissioner arriving at a quiet server. Two clocks: the browser's own
  paint time of the chart (Element Timing API; what the reader sees) and the moment Playwright
  can see it (later when the page's JavaScript keeps the main thread busy). For the dashboards,
  also when the live, filterable widgets are on screen ("interactive");
* **filter update** - from changing the district drop-down to the updated chart in the page
  (measured inside the page with a MutationObserver), median over ``--changes`` changes; for the
  dashboards also until every chart on the page has updated;
* **memory per viewer** - resident memory (RSS, and USS where available) of the kernel serving
  one open page;
* **simultaneous viewers** - for each of ``--viewers`` (default 10 and 20), that many browser tabs
  opened at once. For each viewer: its first chart, on the browser's own clock from navigation
  start (Element Timing: the paint of the first chart or headline, whether the saved first view
  sent before any kernel, a pre-heated page's snapshot or the live widgets) and as seen by
  Playwright from the request; and when its live, filterable widgets were on screen. Reported:
  median, 95th percentile and slowest of each, and the server's memory per viewer: the
  proportional set size (PSS, from /proc/<pid>/smaps_rollup: shared pages split between the
  processes sharing them, so the sum over processes is the memory actually used) of the Voila
  server and all its kernels with every viewer's page live, less the same before the crowd
  (server and pre-heated pools), divided by the number of viewers;
* **simultaneous viewers whose browsers are elsewhere** - the same crowd as the server meets it
  when each viewer's browser runs on their own computer: ``--probes`` (default 3) Chromium tabs
  and the rest simulated over HTTP (the page, and every stylesheet and blocking script a browser
  must fetch before it can draw the first chart; then the page's other scripts and styles; no
  websocket). Twenty Chromium tabs on a 2-core server use most of its CPU themselves, so the
  target is judged on this crowd; the all-Chromium crowd is reported beside it.

    python benchmarks/bench_dashboards.py                       # builds the synthetic county
    python benchmarks/bench_dashboards.py --data-dir ~/wb-data  # an existing store
    python benchmarks/bench_dashboards.py --loads 9 --viewers 10 --json results.json

Targets (issue 8): first chart within 1.5 s (median), filter update within 300 ms, all 10
simultaneous viewers served; (issue 20) with 20 simultaneous viewers (browsers elsewhere), first chart within 2 s for
95% of them, and at most 120 MB of server memory (PSS) per viewer. The machine's load average is printed: on a shared 2-core machine
the absolute times move with it, the ratios to the baseline much less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BASELINE_CELL = '''import ipywidgets as w

def chart(v):
    n = {"Oxfordshire": 8, "Cherwell": 3, "Oxford City": 5}[v]
    bars = "".join(f'<rect x="10" y="{12 + 26 * i}" width="{40 * (n + i)}" height="20" fill="#0072B2"/>' for i in range(5))
    return (f'<p elementtiming="headline-baseline">{v}: {n}</p>'
            f'<svg class="wb-chart" data-chart="baseline" data-filters="{v}" elementtiming="chart-baseline" '
            f'viewBox="0 0 760 150" width="100%">{bars}</svg>')

district = w.Dropdown(options=["Oxfordshire", "Cherwell", "Oxford City"], description="District")
district.add_class("wb-filter-district")
figure = w.HTML(chart(district.value))
district.observe(lambda change: setattr(figure, "value", chart(change["new"])), names="value")
page = w.VBox([district, figure])
page.add_class("wb-live")
page'''

PAINT_JS = """() => new Promise(resolve => {
  const out = [];
  new PerformanceObserver(list => { for (const e of list.getEntries()) out.push([e.identifier, e.renderTime || e.loadTime]); })
    .observe({type: 'element', buffered: true});
  setTimeout(() => resolve(out), 50);
})"""

CHANGE_JS = r"""async ([label, chartSel, allSel]) => {
  const select = document.querySelector('.wb-live .wb-filter-district select');
  const option = [...select.options].find(o => o.value === label || o.textContent.replace(/\s/g, ' ').trim() === label);
  const before = document.querySelector(chartSel).dataset.filters;
  const done = () => document.querySelector(chartSel)?.dataset.filters !== before;
  const allDone = () => [...document.querySelectorAll(allSel)].every(c => c.dataset.filters !== before);
  const t0 = performance.now();
  let first = null;
  return await new Promise(resolve => {
    const check = () => {
      if (first === null && done()) first = performance.now() - t0;
      if (first !== null && allDone()) { obs.disconnect(); resolve([first, performance.now() - t0]); }
    };
    const obs = new MutationObserver(check);
    obs.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
    select.value = option.value;
    select.dispatchEvent(new Event('change', {bubbles: true}));
  });
}"""


def _median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _baseline_folder(workdir: Path) -> Path:
    """A dashboards-like folder with the same server configuration and one plain notebook."""
    import nbformat

    folder = workdir / "baseline"
    folder.mkdir()
    shutil.copy(ROOT / "dashboards" / "voila.json", folder / "voila.json")
    shutil.copytree(ROOT / "dashboards" / ".share", folder / ".share")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(BASELINE_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "baseline.ipynb")
    return folder


def _kernel_memory(kernel_id: str) -> tuple[float | None, float | None, float | None]:
    """RSS, USS and PSS (MB) of the kernel with this id: the process listening on the shell port
    of its connection file (a kernel forked from the template has the template's command line)."""
    import glob

    import psutil
    from jupyter_core.paths import jupyter_runtime_dir

    name = f"kernel-{kernel_id}.json"
    files = glob.glob(os.path.join(tempfile.gettempdir(), "voila_*", name)) + glob.glob(os.path.join(jupyter_runtime_dir(), name))
    if not files:
        return None, None, None
    port = json.loads(Path(files[0]).read_text())["shell_port"]
    pid = next((c.pid for c in psutil.net_connections(kind="tcp")
                if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid), None)
    if pid is None:
        return None, None, None
    proc = psutil.Process(pid)
    full = proc.memory_full_info()
    return full.rss / 2**20, full.uss / 2**20, getattr(full, "pss", 0) / 2**20 or None


async def _load(browser, url: str, live_sel: str) -> dict:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    t0 = time.perf_counter()
    await page.goto(url, wait_until="commit")
    await page.wait_for_selector("svg.wb-chart >> visible=true", timeout=120_000)
    seen = time.perf_counter() - t0
    await page.wait_for_selector(live_sel, timeout=120_000)
    interactive = time.perf_counter() - t0
    paints = await page.evaluate(PAINT_JS)
    charts = [t for ident, t in paints if ident and (ident.startswith("chart-") or ident.startswith("headline-")) and t]
    kernel = await page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    return {"page": page, "ctx": ctx, "paint": (min(charts) / 1000) if charts else None, "seen": seen,
            "interactive": interactive, "kernel": kernel, "errors": errors}


async def _close(res: dict) -> None:
    await res["page"].close(run_before_unload=True)
    await res["ctx"].close()


async def _measure(browser, url: str, *, loads: int, gap: float, changes: int, labels: list[str]) -> dict:
    live_chart = ".wb-live svg.wb-chart"
    first_chart = "svg.wb-chart[data-chart]"
    out: dict = {"paint": [], "seen": [], "interactive": [], "update": [], "update_all": [], "rss": [], "uss": [], "pss": [],
                 "errors": []}
    for i in range(loads):
        await asyncio.sleep(gap)  # let the pool refill: each load finds a pre-heated kernel
        res = await _load(browser, url, live_chart)
        for k in ("paint", "seen", "interactive"):
            out[k].append(res[k])
        out["errors"] += res["errors"]
        await asyncio.sleep(1.0)  # let the page settle (downloads are built after the charts)
        rss, uss, pss = _kernel_memory(res["kernel"])
        out["rss"].append(rss)
        out["uss"].append(uss)
        out["pss"].append(pss)
        if i == 0:
            chart_sel = f".wb-live {first_chart}"
            for j in range(changes):
                first, every = await res["page"].evaluate(CHANGE_JS, [labels[(j + 1) % len(labels)], chart_sel, live_chart])
                out["update"].append(first / 1000)
                out["update_all"].append(every / 1000)
                await asyncio.sleep(0.3)
        await _close(res)
    return out


def _pss_tree(pid: int) -> tuple[float, float, int]:
    """PSS and RSS (MB) of process ``pid`` and all its descendants, and how many processes."""
    import psutil

    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0.0, 0
    pss = rss = 0.0
    for proc in procs:
        try:
            text = Path(f"/proc/{proc.pid}/smaps_rollup").read_text()
        except OSError:
            continue
        fields = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()[1:] if line.split()[1:2]}
        pss += fields.get("Pss", 0) / 1024
        rss += fields.get("Rss", 0) / 1024
    return pss, rss, len(procs)


def _p95(xs: list[float]) -> float | None:
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    return xs[min(len(xs) - 1, max(0, int(round(0.95 * len(xs) + 0.5)) - 1))]  # nearest rank


async def _crowd(browser, url: str, viewers: int, server_pid: int, timeout_s: float = 180.0,
                 keep_open: bool = False) -> dict:
    before = _pss_tree(server_pid)

    async def one() -> dict:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
        page = await ctx.new_page()
        t0 = time.perf_counter()
        out: dict = {"seen": None, "paint": None, "live": None, "ctx": ctx, "page": page}
        try:
            await page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
            # visible: a saved first view sent early stays in the page, hidden, once a newer view is there
            await page.wait_for_selector("svg.wb-chart[data-chart] >> visible=true", timeout=timeout_s * 1000)
            out["seen"] = time.perf_counter() - t0
            await page.wait_for_selector(".wb-live svg.wb-chart >> visible=true", timeout=timeout_s * 1000)
            out["live"] = time.perf_counter() - t0
            paints = await page.evaluate(PAINT_JS)
            charts = [t for ident, t in paints if ident and (ident.startswith("chart-") or ident.startswith("headline-")) and t]
            out["paint"] = (min(charts) / 1000) if charts else None
        except Exception as exc:
            out["error"] = str(exc)[:200]
        return out

    results = await asyncio.gather(*(one() for _ in range(viewers)))
    await asyncio.sleep(1.0)  # every page live: downloads built
    during = _pss_tree(server_pid)

    async def close() -> None:
        for res in results:
            await res.pop("page").close(run_before_unload=True)
            await res.pop("ctx").close()

    if keep_open:  # the caller measures the server with these pages open, then closes them
        return {"per_viewer": results, "close": close}
    await close()
    live = [r["live"] for r in results if r["live"] is not None]
    first = [r["paint"] if r["paint"] is not None else r["seen"] for r in results]
    return {"served": len(live), "viewers": viewers, "per_viewer": results,
            "first_median": _median(first), "first_p95": _p95(first), "first_slowest": max((x for x in first if x is not None), default=None),
            "seen_p95": _p95([r["seen"] for r in results]), "live_median": _median(live), "live_p95": _p95(live),
            "slowest": max(live) if live else None,
            "pss_before": before[0], "pss_during": during[0], "rss_during": during[1], "processes": during[2],
            "pss_per_viewer": (during[0] - before[0]) / viewers}


#: What stops a browser drawing what follows it: stylesheets, and scripts with a source that are
#: neither async, deferred nor modules (as workbench.dashboards.first_view).
BLOCKING = re.compile(rb'<link\b[^>]*\brel="stylesheet"[^>]*>|<script\b(?![^>]*\b(?:async|defer|type="module")\b)'
                      rb'[^>]*\bsrc="[^"]*"[^>]*>')
RESOURCE = re.compile(rb'(?:href|src)="(/[^"]+\.(?:js|css)[^"]*)"')


def _http_viewer(url: str, timeout_s: float) -> dict:
    """A viewer whose browser runs on their own computer, seen from the server: the page over
    HTTP, and everything a browser must fetch before it can draw the page's first chart (the
    stylesheets and blocking scripts that come before it in the page, fetched one after another:
    a browser fetches them side by side). ``first``: when all of that has arrived (from the
    request). Then the page's other scripts and styles, as a browser loads them, and the rest of
    the page (``complete``: the viewer's kernel has run the page). No websocket: the kernel's
    widget traffic after the page is not simulated."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)

    def fetch(path: bytes) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
        try:
            conn.request("GET", path.decode())
            conn.getresponse().read()
        finally:
            conn.close()

    t0 = time.perf_counter()
    out: dict = {"first": None, "complete": None, "error": None, "response": None, "saved_view": None}
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    try:
        conn.request("GET", parts.path)
        resp = conn.getresponse()
        buf, fetched = b"", set()
        out["response"] = time.perf_counter() - t0
        while chunk := resp.read1(65536):
            buf += chunk
            if out["first"] is None and (at := buf.find(b"data-chart=")) >= 0 and buf.find(b"</svg>", at) >= 0:
                for tag in BLOCKING.findall(buf[:at]):
                    for path in RESOURCE.findall(tag):
                        fetch(path)
                        fetched.add(path)
                out["first"] = time.perf_counter() - t0
                out["saved_view"] = b"wb-snapshot wb-early" in buf[:at]
                for path in RESOURCE.findall(buf):
                    if path not in fetched:
                        fetch(path)
                        fetched.add(path)
        out["complete"] = time.perf_counter() - t0
        if resp.status != 200 or out["first"] is None:
            out["error"] = f"HTTP {resp.status}, first chart {'found' if out['first'] else 'not found'}"
    except OSError as exc:
        out["error"] = str(exc)[:200]
    finally:
        conn.close()
    return out


async def _crowd_elsewhere(browser, url: str, viewers: int, probes: int, server_pid: int,
                           timeout_s: float = 180.0) -> dict:
    """``viewers`` at once whose browsers are not on the server: ``viewers - probes`` simulated
    over HTTP (:func:`_http_viewer`), and ``probes`` real Chromium tabs arriving with them, whose
    paint of the first chart is measured as in :func:`_crowd`. On a 2-core machine, twenty
    Chromium tabs use most of the CPU the server would have (docs/assumptions/dashboards.md), so
    this is the crowd as a server meets it."""
    from concurrent.futures import ThreadPoolExecutor

    before = _pss_tree(server_pid)
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=viewers) as pool:
        http_viewers = [loop.run_in_executor(pool, _http_viewer, url, timeout_s) for _ in range(viewers - probes)]
        tabs = _crowd(browser, url, probes, server_pid, timeout_s, keep_open=True)
        tab_results, *http_results = await asyncio.gather(tabs, *http_viewers)
    during = _pss_tree(server_pid)
    await tab_results.pop("close")()
    firsts = [r["first"] for r in http_results] + [r["paint"] if r["paint"] is not None else r["seen"]
                                                   for r in tab_results["per_viewer"]]
    return {"viewers": viewers, "probes": probes, "http": http_results, "tabs": tab_results["per_viewer"],
            "first_median": _median(firsts), "first_p95": _p95(firsts),
            "first_slowest": max((x for x in firsts if x is not None), default=None),
            "tabs_paint": [r["paint"] for r in tab_results["per_viewer"]],
            "complete_p95": _p95([r["complete"] for r in http_results]),
            "errors": [r["error"] for r in http_results if r["error"]],
            "pss_per_viewer": (during[0] - before[0]) / viewers}


async def _run(args: argparse.Namespace, data_dir: Path, workdir: Path) -> dict:
    from playwright.async_api import async_playwright

    from workbench.dashboards.server import ServerSettings, start, stop, wait_until_ready

    servers = {}
    results: dict = {}
    try:
        for name, folder, page in (("dashboards", None, f"{args.page}.ipynb"),
                                   ("baseline", _baseline_folder(workdir), "baseline.ipynb")):
            port = _free_port()
            # every simulated viewer comes from 127.0.0.1: lift the per-client kernel cap to the crowd
            crowd = max(args.viewers)
            settings = ServerSettings(port=port, pool_size=args.pool_size,
                                      max_kernels_per_client=max(crowd + 2, ServerSettings.max_kernels_per_client),
                                      max_kernels=max(crowd + 2, ServerSettings.max_kernels))
            proc = start(data_dir, settings=settings, folder=folder, log=workdir / f"{name}.log")
            servers[name] = proc
            base = f"http://127.0.0.1:{port}/"
            wait_until_ready(base, proc, timeout=180)
            servers[name + "_url"] = f"{base}voila/render/{page}"
        await asyncio.sleep(args.warmup)  # pools filled
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, labels in (("dashboards", ["Oxfordshire (all districts)", "Cherwell", "Oxford City"]),
                                 ("baseline", ["Oxfordshire", "Cherwell", "Oxford City"])):
                print(f"measuring {name} ...", flush=True)
                results[name] = await _measure(browser, servers[name + "_url"], loads=args.loads, gap=args.gap,
                                               changes=args.changes, labels=labels)
            for viewers in args.viewers:
                for name in ("dashboards", "baseline"):
                    await asyncio.sleep(args.gap * 2)  # the previous crowd's kernels stopped, the pools refilled
                    print(f"{viewers} simultaneous viewers on {name} (load average {os.getloadavg()[0]:.1f}) ...", flush=True)
                    results[name].setdefault("crowds", {})[viewers] = await _crowd(
                        browser, servers[name + "_url"], viewers, servers[name].pid)
                    if args.probes:
                        await asyncio.sleep(args.gap * 2)
                        print(f"{viewers} simultaneous viewers on {name}, browsers elsewhere "
                              f"(load average {os.getloadavg()[0]:.1f}) ...", flush=True)
                        results[name].setdefault("elsewhere", {})[viewers] = await _crowd_elsewhere(
                            browser, servers[name + "_url"], viewers, args.probes, servers[name].pid)
            await browser.close()
    finally:
        for name, proc in servers.items():
            if not name.endswith("_url"):
                stop(proc)
    return results


def _fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.0f} ms" if unit == "s" and x < 1 else f"{x:.2f} s" if unit == "s" else f"{x:.0f} MB"


def report(results: dict, args: argparse.Namespace) -> str:
    d, b = results["dashboards"], results["baseline"]
    rows = [
        ("first chart on screen (paint), median", _median(d["paint"]), _median(b["paint"]), "s", 1.5),
        ("first chart seen by Playwright, median", _median(d["seen"]), _median(b["seen"]), "s", None),
        ("interactive (live widgets), median", _median(d["interactive"]), _median(b["interactive"]), "s", None),
        ("filter change -> updated chart, median", _median(d["update"]), _median(b["update"]), "s", 0.3),
        ("filter change -> every chart updated, median", _median(d["update_all"]), _median(b["update_all"]), "s", None),
        ("kernel memory per viewer (RSS), median", _median(d["rss"]), _median(b["rss"]), "MB", None),
        ("kernel memory per viewer (USS), median", _median(d["uss"]), _median(b["uss"]), "MB", None),
        ("kernel memory per viewer (PSS), median", _median(d["pss"]), _median(b["pss"]), "MB", None),
    ]
    def first_chart(prefix: str, x: dict, y: dict) -> list[tuple]:
        return [(f"{prefix}: first chart, median", x["first_median"], y["first_median"], "s", None),
                (f"{prefix}: first chart, 95th pct", x["first_p95"], y["first_p95"], "s", 2.0),
                (f"{prefix}: first chart, slowest", x["first_slowest"], y["first_slowest"], "s", None)]

    for n in args.viewers:
        dc, bc = d["crowds"][n], b["crowds"][n]
        rows += first_chart(f"{n} viewers at once", dc, bc) + [
            (f"{n} viewers at once: live widgets, median", dc["live_median"], bc["live_median"], "s", None),
            (f"{n} viewers at once: live widgets, 95th pct", dc["live_p95"], bc["live_p95"], "s", None),
            (f"{n} viewers at once: server PSS per viewer", dc["pss_per_viewer"], bc["pss_per_viewer"], "MB", 120),
            (f"{n} viewers at once: server PSS in all", dc["pss_during"], bc["pss_during"], "MB", None),
        ]
        if n in d.get("elsewhere", {}):
            de, be = d["elsewhere"][n], b["elsewhere"][n]
            rows += first_chart(f"{n} at once, browsers elsewhere", de, be) + [
                (f"{n} at once, browsers elsewhere: page complete, 95th", de["complete_p95"], be["complete_p95"], "s", None),
                (f"{n} at once, browsers elsewhere: PSS per viewer", de["pss_per_viewer"], be["pss_per_viewer"], "MB", 120),
            ]
    lines = [f"Dashboards ({args.page}) vs a plain one-cell Voila notebook, same server settings; "
             f"{args.loads} loads, {args.changes} filter changes, {'/'.join(map(str, args.viewers))} simultaneous viewers; "
             f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs at the end "
             f"({args.load_at_start} at the start). First chart in a crowd: the browser's paint time from navigation start.", ""]
    lines.append(f"{'measure':48s} {'dashboards':>12s} {'baseline':>12s} {'ratio':>7s} {'target':>10s}  ok")
    for label, x, y, unit, target in rows:
        ratio = f"{x / y:.2f}" if x is not None and y else "-"
        tgt = _fmt(target, unit) if target is not None else ""
        ok = "" if target is None or x is None else ("yes" if x <= target else "NO")
        lines.append(f"{label:48s} {_fmt(x, unit):>12s} {_fmt(y, unit):>12s} {ratio:>7s} {tgt:>10s}  {ok}")
    for n in args.viewers:
        dc, bc = d["crowds"][n], b["crowds"][n]
        lines.append(f"{f'{n} viewers: served (live page)':48s} {dc['served']:>9d}/{dc['viewers']:<2d} {bc['served']:>9d}/{bc['viewers']:<2d}"
                     f" {'':>7s} {'all':>10s}  {'yes' if dc['served'] == dc['viewers'] else 'NO'}")
        firsts = [r["paint"] if r["paint"] is not None else r["seen"] for r in dc["per_viewer"]]
        lines.append(f"  dashboards, each viewer's first chart (s): {' '.join('-' if x is None else f'{x:.2f}' for x in sorted(firsts, key=lambda x: (x is None, x)))}")
        if n in d.get("elsewhere", {}):
            de = d["elsewhere"][n]
            http_first = sorted(r["first"] for r in de["http"] if r["first"] is not None)
            lines.append(f"  browsers elsewhere, dashboards: first chart delivered over HTTP (s): {' '.join(f'{x:.2f}' for x in http_first)}; "
                         f"Chromium tabs' paint (s): {' '.join('-' if x is None else f'{x:.2f}' for x in de['tabs_paint'])}"
                         + (f"; errors: {de['errors'][:3]}" if de["errors"] else ""))
    if d["errors"] or b["errors"]:
        lines.append(f"page errors: dashboards {d['errors'][:3]}, baseline {b['errors'][:3]}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, help="an existing store (default: build the synthetic county)")
    ap.add_argument("--page", default="overview", help="dashboard page to measure (default overview)")
    ap.add_argument("--loads", type=int, default=7)
    ap.add_argument("--changes", type=int, default=9)
    ap.add_argument("--viewers", type=lambda v: [int(x) for x in v.split(",")], default=[10, 20],
                    help="simultaneous viewers, one crowd per number (default 10,20)")
    ap.add_argument("--pool-size", type=int, default=1, help="pre-heated kernels per page")
    ap.add_argument("--gap", type=float, default=6.0, help="seconds between loads (pool refill)")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--probes", type=int, default=3,
                    help="Chromium tabs in each crowd of viewers whose browsers are elsewhere (0: no such crowd)")
    args = ap.parse_args()
    args.load_at_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
        workdir = Path(tmp)
        data_dir = args.data_dir
        if data_dir is None:
            from workbench.demo import build_demo_store

            data_dir = workdir / "data"
            print("building the synthetic county ...", flush=True)
            build_demo_store(data_dir, progress=False)
        results = asyncio.run(_run(args, data_dir, workdir))
    text = report(results, args)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({k: {kk: vv for kk, vv in v.items()} for k, v in results.items()}, indent=2, default=str))


if __name__ == "__main__":
    main()
