// The local workspace's only script (no build step): live updates without a reload, and the
// small conveniences Slack's client has. It long-polls /version; when the workspace changed it
// fetches this same page and swaps in each region whose content hash differs, so a half-typed
// message or modal is left alone. Without it the page still works, one reload at a time.
(function () {
  "use strict";
  var version = Number(document.body.dataset.version);

  function submit(form) {
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  function wire(root) {
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
