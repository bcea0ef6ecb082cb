"""What an admin sees of the knowledge base: its articles, its problems at path:line, edits on
disk within moments, and the thresholds it is served with."""

from __future__ import annotations

from collections.abc import Callable

from knowledge.loader import load_kb, sample_kb_path
from tests.local.admin.conftest import Admin, Element, parse_html, wait_until

BROKEN = "---\ntitle: [never closed\nexamples:\n  - vpn\n---\nDo this.\n"
NEW = (
    "---\ntitle: The <b>coffee</b> machine is empty\nid: coffee\nteam: facilities\n"
    "visibility: private\ntags: [kitchen]\nexamples:\n  - no coffee left\n"
    "  - the coffee machine is empty\n---\nRefill it from the cupboard.\n"
)


def rows(page: Element) -> dict[str, Element]:
    return {row.attrs["data-article"]: row for row in page.find_all("tr", data_article=None)}


def cells(row: Element) -> list[str]:
    return [cell.text for cell in row.find_all("td")]


def problems(page: Element) -> list[str]:
    return [item.text for item in page.find_all("li", class_="problem")]


def test_every_article_of_the_base_is_listed_with_what_admins_set(admin: Admin) -> None:
    page = admin.html()

    listed = rows(page)
    sample = load_kb(sample_kb_path())
    assert sorted(listed) == sorted(article.id for article in sample.articles)
    vpn = sample.by_id("vpn-disconnects")
    assert vpn is not None
    title, ident, path, action, team, tags, visibility, examples = cells(listed["vpn-disconnects"])
    assert (title, ident, path) == ("VPN keeps disconnecting", "vpn-disconnects", vpn.path)
    assert (action, team, visibility) == ("answer", "network", "public")
    assert tags == "network, remote-work" and int(examples) == len(vpn.examples)
    assert "every file loaded cleanly" in page.one(id="problems").text


def test_a_broken_file_shows_its_line_while_its_last_good_version_and_the_rest_are_listed(
    admin: Admin,
) -> None:
    before = admin.version()
    admin.write("network/vpn-disconnects.md", BROKEN)
    admin.write("drafts/half-written.md", BROKEN)
    wait_until(lambda: admin.version() != before, "the page never saw the broken files")

    page = admin.html()

    found = problems(page)
    assert any(
        p.startswith("network/vpn-disconnects.md:2: invalid YAML in front matter") for p in found
    ), found
    assert any(p.startswith("drafts/half-written.md:2: ") for p in found), found
    listed = rows(page)
    assert "file has errors: last good version serving" in cells(listed["vpn-disconnects"])[0]
    assert "vpn-cannot-connect" in listed and "guest-wifi" in listed
    assert not any(row.attrs["data-article"].startswith("drafts") for row in listed.values())


def test_an_article_written_on_disk_appears_on_the_polled_body(admin: Admin) -> None:
    before = admin.version()
    admin.write("facilities/coffee.md", NEW)

    wait_until(lambda: admin.version() != before, "the version never changed after the edit")
    response = admin.get("/admin/body")

    assert response.status == 200 and response.headers["X-Admin-Version"] != before
    row = rows(parse_html(response.text))["coffee"]
    title, _, path, _, team, tags, visibility, examples = cells(row)
    assert (title, path, team, tags, visibility, examples) == (
        "The <b>coffee</b> machine is empty",
        "facilities/coffee.md",
        "facilities",
        "kitchen",
        "private",
        "2",
    )
    assert "The &lt;b&gt;coffee&lt;/b&gt; machine" in response.text
    assert "<b>coffee</b>" not in response.text


def test_the_lint_checks_between_articles_are_shown_too(admin: Admin) -> None:
    """An example in two articles: what `jethro kb lint` reports, which loading alone does not."""
    copy = (admin.kb / "network" / "vpn-disconnects.md").read_text()
    admin.write("network/vpn-again.md", copy.replace("id: vpn-disconnects", "id: vpn-again"))
    wait_until(lambda: "vpn-again" in rows(admin.html()), "the copy was never loaded")

    found = problems(admin.html())

    assert (
        "network/vpn-disconnects.md:5: example 'vpn drops every few minutes' is also in "
        "network/vpn-again.md:5 ('vpn-again'): keep it in one article"
    ) in found, found


def figures(page: Element) -> dict[str, str]:
    section = page.one("section", id="thresholds")
    return {cell.attrs["data-figure"]: cell.text for cell in section.find_all("td")}


def test_the_thresholds_are_those_in_use_with_their_source_and_expectations(admin: Admin) -> None:
    used = admin.settings.thresholds(admin.knowledge.current.matcher)

    shown = figures(admin.html())

    assert shown["answer"] == f"{used.answer:.3f}" and shown["suggest"] == f"{used.suggest:.3f}"
    assert shown["source"].startswith(f"{used.source}: ")
    assert used.source == "base", "the sample base is big enough to calibrate"
    assert shown["source"] == "base: calibrated on this knowledge base's held-out examples"
    assert used.expected_precision is not None and used.expected_deflection is not None
    assert shown["precision"] == f"{used.expected_precision:.2f} (target 0.95)"
    assert shown["deflection"] == f"{used.expected_deflection:.2f}"


def test_thresholds_an_operator_set_say_so(make_admin: Callable[..., Admin]) -> None:
    admin = make_admin(answer_threshold=0.9, suggest_threshold=0.6)

    shown = figures(admin.html())

    assert (shown["answer"], shown["suggest"]) == ("0.900", "0.600")
    assert shown["source"] == "setting: set by the operator"
    assert shown["deflection"] == "not measured"
    assert "JETHRO_ANSWER_THRESHOLD" in shown["note"]
