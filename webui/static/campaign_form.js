// The campaign form shows the fields of the chosen type only (no inline script: strict CSP).
// Elements with the class "only" are shown when one of their classes names the type:
// "for-sms", "for-fax", "for-email", or "voice" for every voice type. Hidden fields keep
// their values (the campaign service keeps them too), so switching back loses nothing.
(function () {
  "use strict";
  const select = document.querySelector("form select[name=type]");
  if (!select) return;
  const MESSAGE_TYPES = ["sms", "fax", "email"];

  function show() {
    const type = select.value;
    const voice = MESSAGE_TYPES.indexOf(type) < 0;
    for (const el of document.querySelectorAll(".only")) {
      const wanted = el.classList.contains("for-" + type) || (voice && el.classList.contains("voice"));
      el.hidden = !wanted;
    }
  }

  select.addEventListener("change", show);
  show();
})();
