// The main menu at phone width (760 px and less, style.css): folded behind the "Menu" button,
// which opens and closes it (Enter / Space, as any button) and Escape closes it again with the
// focus back on the button. Without this script the menu simply stays open. No inline script.
(function () {
  "use strict";
  var button = document.querySelector("header.top .nav-toggle");
  var header = button && button.closest("header.top");
  var panel = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!button || !header || !panel) return;
  function set(open) {
    header.classList.toggle("nav-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  header.classList.add("nav-collapsible");
  button.hidden = false;
  button.addEventListener("click", function () {
    set(button.getAttribute("aria-expanded") !== "true");
  });
  header.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && header.classList.contains("nav-open")) {
      set(false);
      button.focus();
    }
  });
})();
