// Translation preview of a draft (issue 20): asks the gateway for it, then polls until it
// is ready, failed or timed out, and shows the part of the page the server rendered.
// Without script the form posts and the page offers a link to look again.
(function () {
  "use strict";
  var section = document.getElementById("translation-preview");
  var body = document.getElementById("translation-preview-body");
  if (!section || !body || !window.fetch) { return; }
  var INTERVAL_MS = 1500;
  var MAX_POLLS = 120; // 3 minutes: beyond the gateway's own timeout of a preview
  var MAX_FAILURES = 4;
  var polls = 0;
  var failures = 0;
  var timer = null;

  function stop() {
    if (timer !== null) { window.clearTimeout(timer); }
    timer = null;
  }

  function schedule() {
    stop();
    timer = window.setTimeout(poll, INTERVAL_MS);
  }

  function show(answer) {
    body.innerHTML = answer.html; // rendered (and escaped) by the gateway's templates
    section.setAttribute("data-state", answer.state);
    body.setAttribute("aria-busy", answer.final ? "false" : "true");
    if (answer.final) { stop(); } else { schedule(); }
  }

  function giveUp() {
    stop();
    var notice = document.createElement("div");
    notice.className = "notice notice-error";
    notice.setAttribute("role", "alert");
    notice.id = "translation-preview-problem";
    var text = document.createElement("p");
    text.textContent = section.getAttribute("data-unreachable-text");
    notice.appendChild(text);
    body.textContent = "";
    body.appendChild(notice);
    body.setAttribute("aria-busy", "false");
    section.setAttribute("data-state", "unreachable");
  }

  function ask(method, url, data) {
    return window.fetch(url, {
      method: method,
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json(); // a sign-in page (session ended) is no JSON: a failure
    });
  }

  function poll() {
    polls += 1;
    if (polls > MAX_POLLS) { giveUp(); return; }
    ask("GET", section.getAttribute("data-status-url")).then(function (answer) {
      failures = 0;
      show(answer);
    }, function () {
      failures += 1;
      if (failures >= MAX_FAILURES) { giveUp(); } else { schedule(); }
    });
  }

  section.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("translation-preview-form")) { return; }
    event.preventDefault();
    stop();
    polls = 0;
    failures = 0;
    var button = form.querySelector("button");
    if (button) { button.disabled = true; }
    body.setAttribute("aria-busy", "true");
    ask("POST", form.action, new window.FormData(form)).then(show, giveUp);
  });

  // a preview still being prepared when the page loaded: keep looking
  var state = document.getElementById("translation-preview-state");
  if (state && state.getAttribute("data-state") === "pending") { schedule(); }
  section.setAttribute("data-ready", "1");
})();
