// Compose form: move focus to the error summary after a check, so keyboard and
// screen-reader users land on the list of what is missing.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary") || document.getElementById("warning-summary");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
})();
