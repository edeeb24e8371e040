"""The server's hardening settings, checked without starting it."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.dashboards.server import (
    TEMPLATE,
    ServerSettings,
    dashboards_dir,
    server_environment,
    voila_arguments,
)

ROOT = Path(__file__).resolve().parents[2]


def test_voila_json_is_hardened():
    cfg = json.loads((ROOT / "dashboards" / "voila.json").read_text())
    vc = cfg["VoilaConfiguration"]
    assert vc["allow_template_override"] == "NO" and vc["allow_theme_override"] == "NO"
    assert vc["show_tracebacks"] is False and vc["strip_sources"] is True
    assert vc["file_allowlist"] == [] and vc["preheat_kernel"] is True
    assert vc["template"] == TEMPLATE
    assert cfg["Voila"]["ip"] == "127.0.0.1"
    km = cfg["MappingKernelManager"]
    assert km["cull_idle_timeout"] > 0 and km["cull_interval"] > 0


def test_command_line_repeats_the_security_settings():
    args = voila_arguments(dashboards_dir(), ServerSettings(port=9999))
    for flag in (
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.preheat_kernel=True",
        "--Voila.ip=127.0.0.1",
        "--Voila.port=9999",
        "--Voila.port_retries=0",
    ):
        assert flag in args
    assert any(a.startswith("--MappingKernelManager.cull_idle_timeout=") for a in args)
    assert f"--Voila.config_file_paths={dashboards_dir()}" in args


def test_command_line_carries_the_abuse_limits():
    defaults = voila_arguments(dashboards_dir(), ServerSettings())
    for flag in ("--DashboardVoila.max_kernels=40", "--DashboardVoila.max_kernels_per_client=14",
                 "--DashboardVoila.client_header=X-Real-IP", "--DashboardVoila.ws_ping_timeout=25.0"):
        assert flag in defaults
    assert not any(a.startswith("--DashboardVoila.allowed_hosts") for a in defaults)  # local names only
    # kernels of vanished browsers go within a minute: ping answer overdue + one ping + grace
    s = ServerSettings()
    # (the check runs every 5 s)
    assert s.ws_ping_timeout + s.ws_ping_interval + s.disconnect_grace + 5 <= 60 and s.connect_grace + 5 < 60
    args = voila_arguments(dashboards_dir(), ServerSettings(allowed_hosts=("a.example.org", "b.example.org"),
                                                            max_kernels=7))
    assert "--DashboardVoila.allowed_hosts=a.example.org" in args and "--DashboardVoila.allowed_hosts=b.example.org" in args
    assert "--DashboardVoila.max_kernels=7" in args


def test_environment_points_kernels_at_the_data_and_the_template(tmp_path):
    env = server_environment(tmp_path, dashboards_dir())
    assert env["WORKBENCH_DATA_DIR"] == str(tmp_path.resolve())
    share = Path(env["JUPYTER_PATH"].split(":")[0])
    assert (share / "voila" / "templates" / TEMPLATE / "index.html.j2").exists()


def test_template_removes_third_party_requests():
    text = (ROOT / "dashboards" / ".share" / "voila" / "templates" / TEMPLATE / "index.html.j2").read_text()
    assert "cdn.jsdelivr.net" in text and "replace(" in text  # the CDN links are stripped
    assert "workbench_snapshot" in text


def test_command_passes_the_deployments_host_names_and_caps(small_data_dir, monkeypatch):
    from typer.testing import CliRunner

    from workbench import cli
    from workbench.dashboards import server

    seen: dict = {}
    monkeypatch.setattr(server, "serve", lambda data_dir, **kw: seen.update(kw, data_dir=data_dir))
    result = CliRunner().invoke(cli.app, ["dashboards", "--data-dir", str(small_data_dir), "--allowed-host",
                                          "dashboards.example.org", "--allowed-host", "intranet.example.org",
                                          "--max-kernels", "12", "--max-kernels-per-client", "3"])
    assert result.exit_code == 0, result.output
    assert list(seen["allowed_hosts"]) == ["dashboards.example.org", "intranet.example.org"]
    assert seen["max_kernels"] == 12 and seen["max_kernels_per_client"] == 3


def test_a_viewer_may_open_every_page_in_tabs():
    """The per-client cap leaves room for every page open at once (twelve once the last four
    arrive) and a reload or two; the total cap is not below one viewer's."""
    from workbench.dashboards.frame import PAGES
    from workbench.dashboards.hardening import KernelLimits

    for per_client, total in ((ServerSettings().max_kernels_per_client, ServerSettings().max_kernels),
                              (KernelLimits().max_kernels_per_client, KernelLimits().max_kernels)):
        assert per_client >= max(len(PAGES), 12) + 2
        assert total >= per_client
