// Form errors where the eye lands (issue 17, docs/frontend.md): after a failed submit the first
// error summary (templates/includes/form_errors.html) is scrolled into view and focused, so a
// screen reader reads it and a keyboard user goes on from there; its links focus their field.
// Without an error summary, an error message at the top of the page takes its place.
(function () {
  "use strict";
  function focusField(link) {
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) { return false; }
    field.scrollIntoView({block: "center"});
    field.focus();
    return true;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-error-summary] a[href^='#']");
    if (link && focusField(link)) { event.preventDefault(); }
  });
  function start() {
    var target = document.querySelector("[data-error-summary]") ||
      document.querySelector(".messages li.error");
    if (!target) { return; }
    if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
    var rect = target.getBoundingClientRect();
    if (rect.top < 0 || rect.bottom > window.innerHeight) { target.scrollIntoView({block: "start"}); }
    target.focus({preventScroll: true});
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
