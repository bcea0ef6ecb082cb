// The local workspace's only script (no build step): live updates without a reload, the small
// conveniences Slack's client has, and the options of menus with an external data source. It
// long-polls /version; when the workspace changed it fetches this same page and swaps in each
// region whose content hash differs, so a half-typed message or modal is left alone. Without it
// the page still works, one reload at a time (but an external select has no options).
(function () {
  "use strict";
  var version = Number(document.body.dataset.version);

  function submit(form) {
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  // A menu with an external data source: ask the bot (via /suggest) for its options when its
  // search box is opened or typed in, as Slack's client does, keeping the choice if still there.
  function suggest(box) {
    var select = box.querySelector("select");
    var typed = box.querySelector("input").value;
    box.dataset.loaded = "1";
    return fetch("/suggest", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: box.dataset.suggest + "&value=" + encodeURIComponent(typed)
    }).then(function (response) { return response.text(); }).then(function (html) {
      var chosen = select.value;
      select.innerHTML = html;
      select.value = chosen;
      if (select.selectedIndex < 0) { select.selectedIndex = 0; }
    });
  }

  function wire(root) {
    root.querySelectorAll("[data-suggest]").forEach(function (box) {
      var search = box.querySelector("input"), timer = null;
      search.addEventListener("focus", function () { if (!box.dataset.loaded) { suggest(box); } });
      search.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { suggest(box); }, 250);
      });
      search.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); suggest(box); }
      });
    });

    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { submit(select.form); });
    });
    root.querySelectorAll("textarea[data-enter-sends]").forEach(function (box) {
      box.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey) {
          event.preventDefault();
          if (box.value.trim()) { submit(box.form); }
        }
      });
    });
  }

  function scrollDown() {
    document.querySelectorAll(".messages").forEach(function (list) {
      list.scrollTop = list.scrollHeight;
    });
  }

  function refresh() {
    return fetch(location.href, { headers: { "X-Live": "1" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        fresh.querySelectorAll("[data-live]").forEach(function (region) {
          var old = document.querySelector('[data-live="' + region.dataset.live + '"]');
          if (old && old.dataset.version !== region.dataset.version) {
            var copy = document.importNode(region, true);
            old.replaceWith(copy);
            wire(copy);
          }
        });
        document.body.dataset.version = fresh.body.dataset.version;
        scrollDown();
      });
  }

  function poll() {
    fetch("/version?since=" + version)
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.version === version) { return null; }
        version = answer.version;
        return refresh();
      })
      .then(poll, function () { setTimeout(poll, 1000); });
  }

  wire(document);
  scrollDown();
  poll();
})();
