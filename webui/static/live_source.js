// Live updates pushed by the server (server-sent events, webui/live_stream.py), else polled.
// voxcastLive(eventsUrl, onData, poll, pollMs): each event's JSON goes to onData. When the
// browser has no EventSource, or the stream is refused (204: too many streams open on the
// server; 401/403) or ends for good, poll() runs every pollMs instead, and the stream is
// tried again a minute later. A stream the server ends after its time is reconnected by
// EventSource itself.
(function () {
  "use strict";
  window.voxcastLive = function (url, onData, poll, pollMs) {
    let timer = null;
    let retry = null;

    function startPolling() {
      if (timer === null) {
        poll();
        timer = setInterval(poll, pollMs);
      }
      if (url && window.EventSource && retry === null) {
        retry = setTimeout(() => { retry = null; connect(); }, 60000);
      }
    }

    function stopPolling() {
      if (timer !== null) { clearInterval(timer); timer = null; }
    }

    function connect() {
      if (!url || !window.EventSource) { startPolling(); return; }
      const source = new EventSource(url);
      source.onopen = stopPolling;
      source.onmessage = (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        onData(data);
      };
      // the session ended (logged out, role or feature gone): the poll shows what happens
      source.addEventListener("end", () => { source.close(); startPolling(); });
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED) startPolling();
      };
    }

    connect();
  };
})();
