// Small form behaviours without inline handlers (the CSP allows no inline script):
// <select data-autosubmit> submits its form when changed.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    const el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) el.form.submit();
  });
})();
// In a phone-sized window a wide table scrolls inside itself (style.css): it takes the
// keyboard focus then, so it can be scrolled without a mouse (WCAG 2.1.1).
(function () {
  "use strict";
  const narrow = window.matchMedia("(max-width: 760px)");
  function focusable() {
    document.querySelectorAll("main table").forEach(function (table) {
      if (narrow.matches) table.setAttribute("tabindex", "0");
      else if (table.getAttribute("tabindex") === "0") table.removeAttribute("tabindex");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusable);
  else focusable();
  narrow.addEventListener("change", focusable);
})();
