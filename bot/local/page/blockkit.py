"""Block Kit as HTML: what the bot's messages, modals and App Home look like in Slack.

Sections (text, fields, accessory), headers, context, actions, dividers, images, inputs, and the
elements Jethro uses: buttons (primary, danger), static, user and external selects (whose
options the bot serves as the person types), plain text inputs, checkboxes, radio buttons. A
control on a message is a small form that posts the click to the page server, which sends it to
the bot as `block_actions`; inside a modal the inputs are the modal form's fields
(`in.<block_id>.<action_id>`), sent as the view's state on Submit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from bot.local.page.mrkdwn_html import Names, mrkdwn_html, plain_html

FIELD = "in"
"""Prefix of a modal's field names: `in.<block_id>.<action_id>`."""
SELECTS = frozenset(
    {"static_select", "users_select", "external_select", "conversations_select", "channels_select"}
)


@dataclass(frozen=True)
class Place:
    """Where blocks are shown, so that their controls say so when used."""

    user: str
    back: str
    channel: str = ""
    ts: str = ""
    ephemeral: bool = False
    view_id: str = ""
    modal: bool = False
    errors: Mapping[str, str] = field(default_factory=dict)


def field_name(block_id: str, action_id: str) -> str:
    return f"{FIELD}.{block_id}.{action_id}"


class BlockKit:
    def __init__(
        self,
        names: Names,
        people: Sequence[tuple[str, str]],
        channels: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.names = names
        self.people = people
        self.channels = channels

    def text(self, obj: Any) -> Markup:
        if not isinstance(obj, dict):
            return Markup("")
        body = str(obj.get("text", ""))
        if obj.get("type") == "mrkdwn":
            return mrkdwn_html(body, self.names)
        return plain_html(body)

    def message(self, message: Mapping[str, Any], place: Place) -> Markup:
        """A message's blocks, or its `text` (mrkdwn) when it has none."""
        blocks = message.get("blocks")
        if isinstance(blocks, list) and blocks:
            return self.blocks(blocks, place)
        return Markup('<div class="text">%s</div>') % mrkdwn_html(
            str(message.get("text", "")), self.names
        )

    def blocks(self, blocks: Sequence[Any], place: Place) -> Markup:
        return Markup("").join(self.block(b, place) for b in blocks if isinstance(b, dict))

    def block(self, block: Mapping[str, Any], place: Place) -> Markup:
        kind = str(block.get("type", ""))
        render = getattr(self, "_" + kind, None)
        if render is None:
            return Markup('<div class="block unknown">(a %s block)</div>') % kind
        inner: Markup = render(block, place)
        return Markup('<div class="block %s">%s</div>') % (kind, inner)

    def _section(self, block: Mapping[str, Any], place: Place) -> Markup:
        parts = [Markup('<div class="section-text">%s</div>') % self.text(block.get("text"))]
        fields = block.get("fields") or []
        if fields:
            cells = Markup("").join(
                Markup('<div class="field">%s</div>') % self.text(f) for f in fields
            )
            parts.append(Markup('<div class="fields">%s</div>') % cells)
        body = Markup('<div class="section-body">%s</div>') % Markup("").join(parts)
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            side = self.element(accessory, str(block.get("block_id", "")), place)
            return body + Markup('<div class="accessory">%s</div>') % side
        return body

    def _header(self, block: Mapping[str, Any], place: Place) -> Markup:
        return Markup("<h3>%s</h3>") % self.text(block.get("text"))

    def _divider(self, block: Mapping[str, Any], place: Place) -> Markup:
        return Markup("<hr>")

    def _context(self, block: Mapping[str, Any], place: Place) -> Markup:
        items = []
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") == "image":
                items.append(
                    Markup('<span class="image-alt">[%s]</span>') % element.get("alt_text")
                )
            else:
                items.append(Markup("<span>%s</span>") % self.text(element))
        return Markup("").join(items)

    def _actions(self, block: Mapping[str, Any], place: Place) -> Markup:
        block_id = str(block.get("block_id", ""))
        return Markup("").join(
            self.element(e, block_id, place) for e in block.get("elements") or []
        )

    def _image(self, block: Mapping[str, Any], place: Place) -> Markup:
        return Markup('<div class="image-alt">[image: %s]</div>') % str(block.get("alt_text", ""))

    def _markdown(self, block: Mapping[str, Any], place: Place) -> Markup:
        return Markup('<div class="markdown">%s</div>') % plain_html(str(block.get("text", "")))

    def _rich_text(self, block: Mapping[str, Any], place: Place) -> Markup:
        words: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("type") == "text":
                    words.append(str(node.get("text", "")))
                for child in node.get("elements") or []:
                    walk(child)

        walk(block)
        return plain_html("".join(words))

    def _input(self, block: Mapping[str, Any], place: Place) -> Markup:
        block_id = str(block.get("block_id", ""))
        label = self.text(block.get("label"))
        optional = (
            Markup(' <span class="optional">(optional)</span>') if block.get("optional") else ""
        )
        element = block.get("element") or {}
        control = self.element(element, block_id, place) if isinstance(element, dict) else ""
        hint = block.get("hint")
        parts = [Markup('<label class="input-label">%s%s</label>') % (label, optional), control]
        if hint:
            parts.append(Markup('<div class="hint">%s</div>') % self.text(hint))
        error = place.errors.get(block_id)
        if error:
            parts.append(Markup('<div class="input-error" role="alert">%s</div>') % error)
        return Markup("").join(parts)

    # Elements.

    def element(self, element: Mapping[str, Any], block_id: str, place: Place) -> Markup:
        kind = str(element.get("type", ""))
        if kind in ("mrkdwn", "plain_text"):
            return self.text(element)
        if kind == "button":
            return self._button(element, block_id, place)
        if kind in SELECTS:
            return self._select(element, block_id, place)
        if kind == "plain_text_input":
            return self._text_input(element, block_id)
        if kind in ("checkboxes", "radio_buttons"):
            return self._choices(element, block_id)
        if kind == "image":
            return Markup('<span class="image-alt">[%s]</span>') % str(element.get("alt_text", ""))
        return Markup('<span class="unknown">(%s)</span>') % kind

    def _button(self, element: Mapping[str, Any], block_id: str, place: Place) -> Markup:
        style = str(element.get("style", ""))
        css = "btn" + (f" btn-{style}" if style in ("primary", "danger") else "")
        label = self.text(element.get("text"))
        url = str(element.get("url", ""))
        if url.startswith(("http://", "https://")):
            link = Markup('<a class="%s" href="%s" target="_blank" rel="noopener">%s</a>')
            return link % (css, url, label)
        if place.modal:
            return Markup('<button type="button" class="%s" disabled>%s</button>') % (css, label)
        fields = self._action_fields(element, block_id, place, "button")
        fields += _hidden("value", str(element.get("value", "")))
        fields += _hidden("text", str((element.get("text") or {}).get("text", "")))
        button = Markup('<button type="submit" class="%s" data-action-id="%s">%s</button>') % (
            css,
            element.get("action_id", ""),
            label,
        )
        return Markup('<form method="post" action="/action" class="control">%s%s</form>') % (
            fields,
            button,
        )

    def _select(self, element: Mapping[str, Any], block_id: str, place: Place) -> Markup:
        kind = str(element.get("type"))
        action_id = str(element.get("action_id", ""))
        options = self._options(element)
        placeholder = (element.get("placeholder") or {}).get("text", "Choose…")
        choices = Markup('<option value="">%s</option>') % placeholder + Markup("").join(
            Markup('<option value="%s">%s</option>') % (value, text) for value, text in options
        )
        if place.modal:
            name = field_name(block_id, action_id)
            select = Markup('<select name="%s">%s</select>') % (name, choices)
            return self._searched(element, block_id, place, select)
        fields = self._action_fields(element, block_id, place, kind)
        select = Markup(
            '<select name="selected" data-autosubmit data-action-id="%s">%s</select>'
            '<noscript><button type="submit" class="btn">Go</button></noscript>'
        ) % (action_id, choices)
        return Markup('<form method="post" action="/action" class="control">%s%s</form>') % (
            fields,
            self._searched(element, block_id, place, select),
        )

    def _searched(
        self, element: Mapping[str, Any], block_id: str, place: Place, select: Markup
    ) -> Markup:
        """An external data source's menu: a search box beside it; the page's script asks the
        bot for options (`/suggest`, a `block_suggestion`) when it is opened or typed in."""
        if element.get("type") != "external_select":
            return select
        where = {"as": place.user, "view_id": place.view_id, "channel": place.channel}
        where |= {"ts": place.ts, "ephemeral": "1" if place.ephemeral else ""}
        where |= {"block_id": block_id, "action_id": str(element.get("action_id", ""))}
        placeholder = (element.get("placeholder") or {}).get("text", "Type to search")
        return Markup(
            '<span class="external-select" data-suggest="%s">'
            '<input type="search" class="suggest-query" placeholder="%s" autocomplete="off">'
            "%s</span>"
        ) % (urlencode(where), placeholder, select)

    def suggestions(
        self, groups: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], placeholder: str
    ) -> Markup:
        """The `<option>`s of a menu whose options the bot served: groups with a label become
        `<optgroup>`s, as Slack's client shows them."""

        def options(found: Sequence[Mapping[str, Any]]) -> Markup:
            return Markup("").join(
                Markup('<option value="%s">%s</option>')
                % (str(o.get("value", "")), str((o.get("text") or {}).get("text", "")))
                for o in found
            )

        shown = Markup('<option value="">%s</option>') % placeholder
        for label, found in groups:
            if label:
                shown += Markup('<optgroup label="%s">%s</optgroup>') % (label, options(found))
            else:
                shown += options(found)
        return shown

    def _options(self, element: Mapping[str, Any]) -> list[tuple[str, str]]:
        kind = element.get("type")
        if kind == "users_select":
            return list(self.people)
        if kind in ("conversations_select", "channels_select"):
            return list(self.channels)
        found = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            found += group.get("options") or []
        return [
            (str(o.get("value", "")), str((o.get("text") or {}).get("text", ""))) for o in found
        ]

    def _text_input(self, element: Mapping[str, Any], block_id: str) -> Markup:
        name = field_name(block_id, str(element.get("action_id", "")))
        initial = str(element.get("initial_value", ""))
        limit = element.get("max_length")
        extra = Markup(' maxlength="%s"') % limit if isinstance(limit, int) else Markup("")
        if element.get("multiline"):
            return Markup('<textarea name="%s" rows="4"%s>%s</textarea>') % (name, extra, initial)
        return Markup('<input type="text" name="%s" value="%s"%s>') % (name, initial, extra)

    def _choices(self, element: Mapping[str, Any], block_id: str) -> Markup:
        kind = "checkbox" if element.get("type") == "checkboxes" else "radio"
        name = field_name(block_id, str(element.get("action_id", "")))
        rows = []
        for option in element.get("options") or []:
            description = option.get("description")
            note = (
                Markup('<span class="hint">%s</span>') % self.text(description)
                if description
                else ""
            )
            rows.append(
                Markup('<label class="choice"><input type="%s" name="%s" value="%s"> %s %s</label>')
                % (kind, name, option.get("value", ""), self.text(option.get("text")), note)
            )
        return Markup("").join(rows)

    def _action_fields(
        self, element: Mapping[str, Any], block_id: str, place: Place, kind: str
    ) -> Markup:
        return Markup("").join(
            _hidden(name, value)
            for name, value in (
                ("as", place.user),
                ("back", place.back),
                ("channel", place.channel),
                ("ts", place.ts),
                ("ephemeral", "1" if place.ephemeral else ""),
                ("view_id", place.view_id),
                ("block_id", block_id),
                ("action_id", str(element.get("action_id", ""))),
                ("type", kind),
            )
        )


def _hidden(name: str, value: str) -> Markup:
    return Markup('<input type="hidden" name="%s" value="%s">') % (name, value)


Served = Callable[[str, str], Mapping[str, Mapping[str, Any]]]
"""(block_id, action_id) -> the options the bot served for that external select, by value."""


def view_state(
    view: Mapping[str, Any], form: Mapping[str, list[str]], served: Served | None = None
) -> dict[str, dict[str, Any]]:
    """A modal's `view.state.values` from its submitted form, as Slack builds it; an external
    select's choice is one of the options the bot `served` (Slack's client sends it whole)."""
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") if isinstance(block, dict) else None
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        block_id, action_id = str(block.get("block_id", "")), str(element.get("action_id", ""))
        given = form.get(field_name(block_id, action_id), [])
        if element.get("type") == "external_select" and served is not None:
            element = dict(element, options=list(served(block_id, action_id).values()))
        values.setdefault(block_id, {})[action_id] = _element_state(element, given)
    return values


def _element_state(element: Mapping[str, Any], given: list[str]) -> dict[str, Any]:
    kind = str(element.get("type"))
    options = {str(o.get("value")): o for o in element.get("options") or [] if isinstance(o, dict)}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": [options[v] for v in given if v in options]}
    chosen = given[0] if given else ""
    if kind in ("radio_buttons", "static_select", "external_select"):
        return {"type": kind, "selected_option": options.get(chosen)}
    if kind == "users_select":
        return {"type": kind, "selected_user": chosen or None}
    return {"type": kind, "value": chosen or None}


def action_payload(form: Mapping[str, str], element: Mapping[str, Any] | None) -> dict[str, Any]:
    """The `actions[0]` Slack sends for a click or a chosen option."""
    kind = form.get("type", "button")
    action: dict[str, Any] = {
        "action_id": form.get("action_id", ""),
        "block_id": form.get("block_id", ""),
        "type": kind,
    }
    if kind == "button":
        action["value"] = form.get("value", "")
        action["text"] = {"type": "plain_text", "text": form.get("text", ""), "emoji": True}
        return action
    chosen = form.get("selected", "")
    if kind == "users_select":
        action["selected_user"] = chosen
        return action
    option = next(
        (
            o
            for o in (element or {}).get("options") or []
            if isinstance(o, dict) and str(o.get("value")) == chosen
        ),
        {"text": {"type": "plain_text", "text": chosen}, "value": chosen},
    )
    action["selected_option"] = option
    return action
