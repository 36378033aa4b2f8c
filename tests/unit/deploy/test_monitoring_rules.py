"""deploy/monitoring: the alert rules pass `promtool check rules` and their unit tests
(`promtool test rules`), the scrape configuration passes `promtool check config`, and every
`modelbay_*` series the rules and the Grafana dashboard use is one the services export.

promtool comes from Debian's `prometheus` package (scripts/bootstrap.sh installs it); without it
these tests fail and say so rather than skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from modelbay_common.metrics import PlatformMetrics

MONITORING = Path(__file__).resolve().parents[3] / "deploy" / "monitoring"
RULES = MONITORING / "prometheus" / "alerts.yml"
SERIES = re.compile(r"\bmodelbay_[a-z0-9_]+")
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: run scripts/bootstrap.sh (Debian package 'prometheus')")
    return subprocess.run(
        [tool, *args],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_the_alert_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_scrape_configuration_is_valid() -> None:
    result = promtool("check", "config", "scrape.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def exported_series() -> set[str]:
    names: set[str] = set()
    for family in PlatformMetrics().registry.collect():
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES)
    return names


def test_every_series_the_rules_and_the_dashboard_use_is_exported() -> None:
    dashboard = json.loads((MONITORING / "grafana" / "modelbay.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = set(SERIES.findall(RULES.read_text())) | {
        name for expr in expressions for name in SERIES.findall(expr)
    }
    assert used, "no modelbay series found"
    assert used - exported_series() == set()


def test_the_dashboard_is_importable_grafana_json() -> None:
    dashboard = json.loads((MONITORING / "grafana" / "modelbay.json").read_text())
    assert dashboard["uid"] == "modelbay-platform"
    assert dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["type"] == "prometheus"
