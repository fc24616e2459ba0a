// The avatar menu (a <details>, templates/base.html) closes on Escape, giving the focus back to
// its summary, and when a click lands outside it (issue 17: keyboard-only use).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll("details.avatar-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) { summary.focus(); }
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.avatar-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
})();
