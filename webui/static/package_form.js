// The package form shows the sections of the chosen billing model only (no inline script:
// strict CSP). Elements with the class "only" are shown when one of their classes is
// "for-<model>". Hidden fields keep their values; without script every section shows.
(function () {
  "use strict";
  const form = document.getElementById("package-form");
  if (!form) return;

  function show() {
    const checked = form.querySelector("input[name=billing_model]:checked");
    if (!checked) return;
    for (const el of form.querySelectorAll(".only")) {
      el.hidden = !el.classList.contains("for-" + checked.value);
    }
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "billing_model") show();
  });
  show();
})();
