// The agent console, live: the key of what is shown pushed by the server (data-events,
// live_source.js) or else polled from live.json every second; when the key moved, fetches the panel and swaps each [data-part] whose data-key changed (a form
// being typed in stays as it is). Forms with class "js" are sent with fetch (JSON answers)
// and the console refreshed at once; without this script they post and redirect.
(function () {
  "use strict";
  const root = document.getElementById("agent-console");
  if (!root) return;
  const msg = document.getElementById("console-msg");
  let key = root.dataset.key;
  let busy = false;

  // A request the server never answers must not stop the live updates: give up after 5 s.
  async function fetchSoon(url, options) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 5000);
    try {
      return await fetch(url, {...options, signal: abort.signal, credentials: "same-origin"});
    } finally {
      clearTimeout(timer);
    }
  }

  function say(text, ok) {
    if (!msg) return;
    msg.textContent = text || "";
    msg.className = "flash " + (ok ? "success" : "error");
    msg.hidden = !text;
  }

  function elapsed() {
    const now = Date.now();
    for (const el of root.querySelectorAll("[data-since]")) {
      const t = Date.parse(el.dataset.since);
      if (isNaN(t)) continue;
      const s = Math.max(0, Math.floor((now - t) / 1000));
      const m = Math.floor(s / 60);
      el.textContent = " " + m + ":" + String(s % 60).padStart(2, "0");
    }
    for (const el of root.querySelectorAll("[data-until]")) {
      const t = Date.parse(el.dataset.until);
      if (isNaN(t)) continue;
      const s = Math.max(0, Math.ceil((t - now) / 1000));
      el.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    }
  }

  function wire(scope) {
    for (const sel of scope.querySelectorAll("select[data-callback]")) {
      const ids = sel.dataset.callback.split(" ").filter(Boolean);
      const field = sel.form.querySelector("[data-callback-field]");
      const sync = () => { if (field) field.hidden = !ids.includes(sel.value); };
      sel.addEventListener("change", sync);
      sync();
    }
    for (const sel of scope.querySelectorAll("select[name=target_kind]")) {
      const form = sel.form;
      const sync = () => {
        for (const el of form.querySelectorAll("[data-kind]")) {
          el.hidden = !el.dataset.kind.split(" ").includes(sel.value);
        }
      };
      sel.addEventListener("change", sync);
      sync();
    }
  }

  async function swap() {
    const res = await fetchSoon(root.dataset.panel, {cache: "no-store"});
    if (!res.ok) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = await res.text();
    for (const fresh of tpl.content.querySelectorAll("[data-part]")) {
      const old = root.querySelector(`[data-part="${fresh.dataset.part}"]`);
      if (!old) { root.appendChild(fresh); wire(fresh); continue; }
      if (old.dataset.key !== fresh.dataset.key) { old.replaceWith(fresh); wire(fresh); }
    }
    const state = tpl.content.querySelector('[data-part="state"]');
    if (state) key = state.dataset.key;
    elapsed();
  }

  async function poll() {
    if (busy) return;
    busy = true;
    try {
      const res = await fetchSoon(root.dataset.live + "?key=" + encodeURIComponent(key),
                                  {headers: {"Accept": "application/json"}, cache: "no-store"});
      if (res.status === 401 || res.redirected) { window.location.reload(); return; }
      if (res.ok) {
        const data = await res.json();
        if (!data.same) await swap();
      }
    } catch (e) {
      // the server is away for a moment: try again at the next tick
    } finally {
      busy = false;
    }
  }

  root.addEventListener("submit", async (ev) => {
    const form = ev.target;
    if (!form.classList.contains("js")) return;
    ev.preventDefault();
    const action = (ev.submitter && ev.submitter.getAttribute("formaction")) || form.action;
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const res = await fetch(action, {method: "POST", body: new FormData(form),
                                       headers: {"Accept": "application/json"},
                                       credentials: "same-origin"});
      let data = {};
      try { data = await res.json(); } catch (e) { data = {ok: false, message: res.statusText}; }
      say(data.message, data.ok);
      if (data.ok && form.id === "disposition-form") form.reset();
    } catch (e) {
      say(String(e), false);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
    try { await swap(); } catch (e) { /* the next poll brings it */ }
  });

  wire(root);
  elapsed();
  setInterval(elapsed, 1000);
  // pushed: {"key"} whenever the console's key moved (data-events, live_source.js), else polled
  window.voxcastLive(root.dataset.events, (data) => {
    if (data.key !== key) swap().catch(() => { /* the next event or poll brings it */ });
  }, poll, 1000);
})();
