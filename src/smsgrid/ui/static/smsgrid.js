// smsgrid web UI: small progressive enhancements on top of server-rendered pages and htmx.
// No inline scripts anywhere (the Content-Security-Policy allows only files served by smsgrid).
(function () {
  "use strict";

  // Times are rendered in UTC by the server; show them in the browser's zone, keeping UTC in the tooltip.
  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.localized) return;
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      el.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
      el.title = when.toLocaleString() + " (" + el.getAttribute("datetime") + ")";
      el.dataset.localized = "1";
    });
  }

  function setLive(state, text) {
    var el = document.getElementById("live-indicator");
    if (!el) return;
    el.dataset.state = state;
    var label = el.querySelector(".live-text");
    if (label) label.textContent = text;
  }

  document.addEventListener("DOMContentLoaded", function () {
    localizeTimes(document);
    // Enter sends from the phone's reply box; a textarea keeps Enter for new lines, Ctrl/Cmd+Enter sends.
    document.querySelectorAll("textarea").forEach(function (area) {
      area.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && area.form) {
          ev.preventDefault();
          area.form.requestSubmit();
        }
      });
    });
  });

  // Forms that ask first (delete a subscription); delegated, so forms swapped in live keep asking.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form instanceof HTMLFormElement && form.classList.contains("confirm")) {
      if (!window.confirm(form.dataset.confirm || "Are you sure?")) ev.preventDefault();
    }
  });

  document.addEventListener("htmx:afterSettle", function (ev) {
    localizeTimes(ev.target.ownerDocument || document);
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    localizeTimes(document);
  });
  document.addEventListener("htmx:sseOpen", function () { setLive("open", "Live"); });
  document.addEventListener("htmx:sseError", function () { setLive("error", "Reconnecting"); });
})();
