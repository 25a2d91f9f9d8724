// The campaign settings forms (templates/campaigns/_settings.html), progressively enhanced;
// everything works without this file (the buttons post the form and the server answers).
// - a transfer target shows only the picker of the chosen kind (extension, queue, number);
// - "Insert" puts the chosen contact field at the cursor of its text instead of posting;
// - Enter in a one-line field presses the form's primary button (Save / Next), not the
//   first submit input of the settings (add a question...).
(function () {
  "use strict";

  for (const box of document.querySelectorAll("fieldset.transfer-target")) {
    const kind = box.querySelector("select[name$=transfer_kind]");
    if (!kind) continue;
    const show = function () {
      for (const name of ["extension", "queue", "number"]) {
        const el = box.querySelector(".target-" + name);
        if (el) el.hidden = kind.value !== name;
      }
    };
    kind.addEventListener("change", show);
    show();
  }

  for (const form of document.querySelectorAll("form")) {
    const primary = form.querySelector("button.primary[type=submit]");
    if (!primary || !form.querySelector("[name^='settings_action:']")) continue;
    form.addEventListener("keydown", function (event) {
      const el = event.target;
      if (event.key === "Enter" && el.tagName === "INPUT" && el.type !== "submit") {
        event.preventDefault();
        primary.click();
      }
    });
  }

  for (const picker of document.querySelectorAll(".field-picker")) {
    const button = picker.querySelector("input[type=submit]");
    const select = picker.querySelector("select");
    const text = document.getElementById(picker.dataset.target);
    if (!button || !select || !text) continue;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      const placeholder = "{" + select.value + "}";
      const start = text.selectionStart == null ? text.value.length : text.selectionStart;
      const end = text.selectionEnd == null ? start : text.selectionEnd;
      text.value = text.value.slice(0, start) + placeholder + text.value.slice(end);
      text.focus();
      text.setSelectionRange(start + placeholder.length, start + placeholder.length);
    });
  }
})();
