// A prompt picker (select.prompt-preview, each option's data-audio the prompt's WAV) plays the
// chosen prompt in the <audio> it names (aria-controls); "no prompt" hides the player.
// No inline script (strict CSP): loaded by the page that has pickers (the DID list).
(function () {
  "use strict";
  function update(select) {
    var audio = document.getElementById(select.getAttribute("aria-controls"));
    if (!audio) return;
    var option = select.options[select.selectedIndex];
    var url = option && option.getAttribute("data-audio");
    audio.pause();
    if (url) {
      audio.src = url;
      audio.hidden = false;
      var label = audio.getAttribute("data-label") || "{name}";
      audio.setAttribute("aria-label", label.replace("{name}", option.getAttribute("data-name") || ""));
    } else {
      audio.removeAttribute("src");
      audio.hidden = true;
    }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("select.prompt-preview")) update(target);
  });
})();
