// Supervisor pages (agents now, queues): poll a small signature every 2 s and reload the page
// when it changes (an agent's state moved, a caller entered, was answered or left a queue).
(function () {
  "use strict";
  const host = document.querySelector("[data-live-poll]");
  if (!host) return;
  let known = host.dataset.liveSignature;
  async function poll() {
    try {
      const res = await fetch(host.dataset.livePoll, {headers: {"Accept": "application/json"},
                                                       cache: "no-store"});
      if (!res.ok) return;
      const body = await res.json();
      if (body.signature !== known) {
        known = body.signature;
        window.location.reload();
      }
    } catch (e) {
      // a network hiccup: try again next tick
    }
  }
  setInterval(poll, 2000);
})();
