// Progress of a request: polls the status endpoint while the gateway is working on it.
// The text lives in an aria-live region, so screen readers announce each change.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (!section) { return; }
  var url = section.getAttribute("data-status-url");
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var badge = document.getElementById("state-badge");
  var hint = document.getElementById("progress-refresh");
  var steps = section.querySelectorAll(".steps .step");
  var lastState = badge ? badge.className : "";
  var failures = 0;

  function render(status) {
    if (badge) {
      badge.textContent = status.state_name;
      badge.className = "badge badge-large state-" + status.state;
    }
    if (status.working && status.percent !== null) {
      bar.hidden = false;
      bar.value = status.percent;
      text.textContent = status.state_name + ": " + status.done + " / " + status.total;
    } else {
      bar.hidden = !status.working;
      if (status.working) { bar.removeAttribute("value"); }
      text.textContent = status.state_name;
    }
    (status.steps || []).forEach(function (step, index) {
      if (steps[index]) { steps[index].className = "step step-" + step.status; }
    });
    if (badge && badge.className !== lastState) {
      lastState = badge.className;
      offerReload();
    }
  }

  function offerReload() {
    if (document.getElementById("reload-notice")) { return; }
    var notice = document.createElement("p");
    notice.id = "reload-notice";
    var link = document.createElement("a");
    link.href = window.location.pathname;
    link.textContent = section.getAttribute("data-reload-text") || "Reload the page to see new documents and events.";
    notice.appendChild(link);
    section.appendChild(notice);
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      if (request.status !== 200) { failures += 1; schedule(null); return; }
      failures = 0;
      var status = JSON.parse(request.responseText);
      render(status);
      schedule(status);
    };
    request.onerror = function () { failures += 1; schedule(null); };
    request.send();
  }

  function schedule(status) {
    if (status && status.terminal) { return; }
    var working = status ? status.working : true;
    var delay = (working ? 2000 : 10000) * Math.min(1 + failures, 5);
    window.setTimeout(poll, delay);
  }

  var terminal = hint && hint.getAttribute("data-terminal") === "true";
  if (hint && !terminal) { hint.hidden = false; }
  schedule({ working: section.getAttribute("data-working") === "true", terminal: terminal });
})();
