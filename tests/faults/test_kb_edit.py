"""A knowledge-base edit that breaks one article while the bot runs: that article's last good
version keeps answering, the problem is reported (log, admins' App Home), and the other edits
made with it are served (the watcher polls every second; here every 50 ms)."""

from __future__ import annotations

import logging

import pytest

from tests.scenarios.world import ADMIN, Employee, Jethro, shown_text, wait_until

NEWS = "New since today: the 2nd floor printer moved to room 204."


def test_a_broken_article_keeps_its_last_good_version_while_the_rest_reloads(
    jethro: Jethro, employee: Employee, caplog: pytest.LogCaptureFixture
) -> None:
    vpn = jethro.kb / "network" / "vpn-disconnects.md"
    printer = jethro.kb / "hardware" / "printer.md"
    vpn.write_text(vpn.read_text().replace("title: VPN keeps", "title: [VPN keeps", 1))
    printer.write_text(printer.read_text().rstrip() + f"\n\n{NEWS}\n")

    def reloaded() -> bool:
        now = jethro.knowledge.current
        article = now.kb.by_id("printer")
        return bool(now.problems) and article is not None and NEWS in article.body

    wait_until(reloaded, "the edits were not picked up")
    answer = employee.dm("my vpn keeps dropping").last_reply()
    printed = Employee(jethro, "U0PRINT", "D0PRINT").dm("my print job is stuck").last_reply()
    home = shown_text(Employee(jethro, ADMIN, "D0ADMIN").opens_home())

    assert answer["blocks"][0]["text"]["text"] == "VPN keeps disconnecting"
    assert "Quit GlobalProtect completely" in shown_text(answer)
    assert NEWS in shown_text(printed)
    assert "network/vpn-disconnects.md:2:" in home
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"{vpn}:2:" in w for w in warnings), warnings
