// Keyboard-first review: j / k next / previous flagged segment, a accept, e edit,
// Ctrl+Enter save the edit being typed. No inline script (CSP: script-src 'self').
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.segment"));
  if (!rows.length) { return; }
  var current = -1;
  function focusRow(index) {
    if (index < 0 || index >= rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove("current"); }
    current = index;
    rows[current].classList.add("current");
    rows[current].focus();
    rows[current].scrollIntoView({ block: "center" });
  }
  function step(direction) {
    for (var i = current + direction; i >= 0 && i < rows.length; i += direction) {
      if (rows[i].dataset.flagged === "true") { focusRow(i); return; }
    }
  }
  function nextUndecided() {
    for (var i = current + 1; i < rows.length; i += 1) {
      if (rows[i].dataset.decided !== "true") { focusRow(i); return; }
    }
  }
  function submit(action) {
    if (current < 0) { return; }
    if (action === "accept" && rows[current].dataset.decided === "true") {
      nextUndecided();  // a decided (e.g. edited) segment is never overwritten by accept
      return;
    }
    var button = rows[current].querySelector('button[value="' + action + '"]');
    if (button) { button.click(); }
  }
  var hash = window.location.hash.slice(1);
  var start = rows.findIndex(function (row) { return row.id === hash; });
  if (start >= 0) { focusRow(start); }  // back from a decision: where the translator was
  document.addEventListener("keydown", function (event) {
    var typing = event.target.tagName === "TEXTAREA" || event.target.tagName === "INPUT";
    if (typing) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submit("edit");
      } else if (event.key === "Escape") {
        event.target.blur();
        if (current >= 0) { rows[current].focus(); }
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "j") { event.preventDefault(); step(1); }
    else if (event.key === "k") { event.preventDefault(); step(-1); }
    else if (event.key === "a") { event.preventDefault(); submit("accept"); }
    else if (event.key === "e" && current >= 0) {
      event.preventDefault();
      rows[current].querySelector("textarea").focus();
    }
  });
  rows.forEach(function (row, index) {
    row.addEventListener("focusin", function () {
      if (current !== index) {
        if (current >= 0) { rows[current].classList.remove("current"); }
        current = index;
        row.classList.add("current");
      }
    });
  });
}());
