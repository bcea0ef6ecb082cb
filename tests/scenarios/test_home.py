"""The App Home: your open tickets and how to ask; admins also see what is wrong in the KB."""

from __future__ import annotations

from tests.scenarios.world import ADMIN, Employee, Engineers, Jethro, shown_text, wait_until


def test_home_shows_my_open_tickets_and_how_to_ask(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm("the quantum flux capacitor on floor 3 is humming")
    engineers.tickets_posted()
    [ticket] = jethro.tickets()
    colleague = Employee(jethro, "U0COLLEAGUE", "D0COLLEAGUE")

    mine = shown_text(employee.opens_home())
    theirs = shown_text(colleague.opens_home())

    assert f"#{ticket.id}" in mine and "quantum flux capacitor" in mine and "open" in mine
    assert "/triage" in mine and "Triage this" in mine
    assert "quantum flux capacitor" not in theirs and "None." in theirs
    assert "Knowledge base (admins)" not in mine


def test_admins_see_broken_articles_with_path_and_line(jethro: Jethro) -> None:
    broken = jethro.kb / "network" / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\nbody\n")
    wait_until(lambda: jethro.knowledge.current.problems, "the broken file was not noticed")
    admin = Employee(jethro, ADMIN, "D0ADMIN")

    home = shown_text(admin.opens_home())

    assert "Knowledge base (admins)" in home
    assert "network/broken.md:2:" in home
    assert f"{len(jethro.knowledge.current.kb.articles)} articles serving" in home
    assert "Thresholds: answer at" in home and "from the base" in home
