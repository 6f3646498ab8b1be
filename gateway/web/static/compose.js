// Compose form: focus the error summary after a check; save the draft as the magistrate
// types (never lose work); warn before the idle sign-out; Enter never adds an entry.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary") || document.getElementById("warning-summary");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
  var form = document.getElementById("compose-form");
  if (!form) return;

  // Enter in a one-line field submits the form with its first button, which may be an
  // "Add another entry" button: never let Enter submit, a button must be pressed.
  form.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && target.tagName === "INPUT" && target.type !== "submit" && target.type !== "button") {
      event.preventDefault();
    }
  });

  var status = document.getElementById("autosave-status");
  var draftField = document.getElementById("draft-id");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var warning = document.getElementById("session-warning");
  var dirty = false;
  var saving = false;
  var warnTimer = null;

  function scheduleWarning() {
    var idle = parseInt(form.getAttribute("data-idle-timeout"), 10) || 1800;
    var warnBefore = parseInt(form.getAttribute("data-warn-before"), 10) || 120;
    if (warnTimer) clearTimeout(warnTimer);
    warning.hidden = true;
    warnTimer = setTimeout(function () {
      warning.hidden = false;
    }, Math.max(0, (idle - warnBefore) * 1000));
  }

  function save() {
    if (saving) return Promise.resolve();
    saving = true;
    dirty = false;
    var data = new FormData(form);
    data.delete("attachments");
    data.delete("action");
    return fetch(form.getAttribute("data-autosave-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      body: data
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (answer) {
      draftField.value = answer.draft_id;
      if (answer.idle_timeout) form.setAttribute("data-idle-timeout", String(answer.idle_timeout));
      var url = new URL(window.location.href);
      url.searchParams.set("draft", answer.draft_id);
      window.history.replaceState(null, "", url.toString());
      var now = new Date();
      status.textContent = status.getAttribute("data-saved-text") + " " +
        now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      scheduleWarning();
    }).catch(function () {
      dirty = true;
      status.textContent = status.getAttribute("data-failed-text");
    }).then(function () {
      saving = false;
    });
  }

  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  setInterval(function () { if (dirty) save(); }, 10000);
  document.getElementById("stay-signed-in").addEventListener("click", function () {
    save().then(function () { form.querySelector("input, select, textarea").focus(); });
  });
  scheduleWarning();
  form.addEventListener("rogatory:reschedule", scheduleWarning);  // tests shorten the timeout
  form.setAttribute("data-autosave-ready", "1");
})();
