// The supervisor's wallboard (#wallboard) and the live statistics page (#live-calls): the
// JSON feed pushed (the wallboard's data-events stream) or polled every 2 s, and update the tables in place (rows keyed by agent / call, so a pause
// reason being chosen is not wiped by the next poll); between polls every duration ticks on
// from the seconds the server counted, by the browser's monotonic clock (no clock skew).
// Text only through textContent (names and numbers are the tenant's data); rows are clones of
// the page's <template>s, whose forms carry the CSRF token.
(function () {
  "use strict";
  const host = document.getElementById("wallboard") || document.getElementById("live-calls");
  if (!host) return;
  let labels = {agent: {}, call: {}, leg: {}};
  try { labels = JSON.parse(host.dataset.labels); } catch (e) { /* keys shown instead */ }
  const stale = document.getElementById("wb-stale");
  let receivedAt = performance.now();
  let zone = "UTC";

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function localTime(iso) {
    if (!iso) return "";
    try {
      return new Intl.DateTimeFormat(undefined, {timeZone: zone, hour: "2-digit", minute: "2-digit",
                                                 second: "2-digit", hour12: false}).format(new Date(iso));
    } catch (e) { return iso; }
  }

  function set(row, key, value) {
    const cell = row.querySelector(`[data-k="${key}"]`);
    if (cell) cell.textContent = value === null || value === undefined ? "" : String(value);
    return cell;
  }

  function tick(row, key, seconds) {
    const cell = row.querySelector(`[data-tick="${key}"]`);
    if (!cell) return;
    if (seconds === null || seconds === undefined) {
      delete cell.dataset.base;
      cell.textContent = "";
    } else {
      cell.dataset.base = String(seconds);
      cell.textContent = clock(seconds);
    }
  }

  function retick() {
    const elapsed = (performance.now() - receivedAt) / 1000;
    for (const cell of host.querySelectorAll("[data-tick][data-base]")) {
      cell.textContent = clock(Number(cell.dataset.base) + elapsed);
    }
  }

  // Rows of `tbody` keyed by `key(item)`, made from `template` when new, dropped when gone,
  // in the feed's order.
  function sync(tbody, template, items, key, fill) {
    const existing = new Map();
    for (const tr of tbody.querySelectorAll("tr[data-key]")) existing.set(tr.dataset.key, tr);
    for (const tr of tbody.querySelectorAll("tr:not([data-key])")) tr.remove();
    let previous = null;
    for (const item of items) {
      const k = String(key(item));
      let tr = existing.get(k);
      if (!tr) {
        tr = template.content.firstElementChild.cloneNode(true);
        tr.dataset.key = k;
      }
      existing.delete(k);
      fill(tr, item);
      const want = previous ? previous.nextSibling : tbody.firstChild;
      if (want !== tr) tbody.insertBefore(tr, want);
      previous = tr;
    }
    for (const tr of existing.values()) tr.remove();
  }

  function where(call) {
    if (!call) return "";
    return [call.campaign, call.queue].filter(Boolean).join(" / ");
  }

  function fillCall(tr, c) {
    tr.dataset.call = c.call_id;
    tr.dataset.state = c.state;
    set(tr, "leg", labels.leg[c.leg] || c.leg);
    set(tr, "number", c.number);
    const state = set(tr, "state", labels.call[c.state] || c.state);
    if (state) state.className = "status " + c.state;
    tick(tr, "state_seconds", c.state_seconds);
    tick(tr, "duration", c.duration);
    set(tr, "campaign", c.campaign);
    set(tr, "queue", c.queue);
    set(tr, "agent", c.agent);
    set(tr, "started", localTime(c.started_at));
  }

  function action(url, id) {
    return url ? url.replace(/\/0\/([a-z]+)$/, `/${id}/$1`) : "";
  }

  function fillAgent(tr, a) {
    tr.dataset.user = a.username;
    tr.dataset.state = a.state;
    set(tr, "agent", a.name ? `${a.username} (${a.name})` : a.username);
    set(tr, "extension", a.extension || "—");
    const state = set(tr, "state", labels.agent[a.state] || a.state);
    if (state) state.className = "status " + a.state;
    set(tr, "pause_reason", a.state === "paused" && a.pause_reason ? a.pause_reason : "");
    tick(tr, "state_seconds", a.state_seconds);
    const call = a.call;
    set(tr, "call_number", call ? `${call.number} · ${labels.call[call.state] || call.state}` : "");
    tick(tr, "call_seconds", call ? call.duration : null);
    set(tr, "call_where", where(call));
    const pause = tr.querySelector("form.wb-pause");
    if (pause) {
      pause.action = action(host.dataset.pauseUrl, a.user_id);
      pause.hidden = a.state === "on_call";
    }
    const logout = tr.querySelector("form.wb-logout");
    if (logout) logout.action = action(host.dataset.logoutUrl, a.user_id);
    const monitor = tr.querySelector(".wb-monitor");
    if (monitor) {
      monitor.hidden = a.state !== "on_call";
      for (const form of monitor.querySelectorAll("form")) {
        form.action = action(host.dataset.monitorUrl, a.user_id);
      }
    }
  }

  function fillQueue(tr, q) {
    tr.dataset.queue = q.queue_id;
    set(tr, "name", q.number ? `${q.name} (${q.number})` : q.name);
    set(tr, "waiting", q.waiting);
    tick(tr, "longest_wait", q.waiting ? q.longest_wait : null);
    for (const k of ["logged_in", "ready", "answered", "abandoned", "timeout"]) set(tr, k, q[k]);
    set(tr, "average_wait", q.average_wait === null ? "—" : clock(q.average_wait));
    set(tr, "service_level", q.service_level === null ? "—" : q.service_level + " %");
    set(tr, "service_seconds", q.service_seconds + " s");
  }

  function pct(value) {
    return value === null || value === undefined ? "—" : value + " %";
  }

  function fillCampaign(tr, c) {
    set(tr, "name", c.name);
    set(tr, "pacing", (labels.pacing || {})[c.pacing || c.pacing_mode] || c.pacing || c.pacing_mode);
    set(tr, "dial_level", c.dial_level === null ? "—" : c.dial_level);
    set(tr, "calls", c.calls);
    set(tr, "waiting", c.waiting);
    set(tr, "abandon_pct", pct(c.abandon_pct));
    set(tr, "window_abandon_pct", pct(c.window_abandon_pct));
    set(tr, "cap", pct(c.abandon_cap_pct));
    set(tr, "answer_rate_pct", pct(c.answer_rate_pct));
    set(tr, "aht", c.aht_seconds === null ? "—" : clock(c.aht_seconds));
    tr.classList.toggle("over-cap", Number(c.abandon_pct) > Number(c.abandon_cap_pct));
  }

  function show(data) {
    receivedAt = performance.now();
    zone = data.zone || zone;
    for (const dd of host.querySelectorAll("[data-total]")) {
      const value = data.totals ? data.totals[dd.dataset.total] : (dd.dataset.total === "calls" ? data.calls.length : undefined);
      if (value !== undefined) dd.textContent = String(value);
    }
    const calls = document.getElementById("wb-calls");
    if (calls) {
      sync(calls.tBodies[0], document.getElementById("wb-call-row"), data.calls, (c) => c.call_id, fillCall);
      document.getElementById("wb-no-calls").hidden = data.calls.length > 0;
    }
    const agents = document.getElementById("wb-agents");
    if (agents && data.agents) {
      sync(agents.tBodies[0], document.getElementById("wb-agent-row"), data.agents, (a) => a.user_id, fillAgent);
      document.getElementById("wb-no-agents").hidden = data.agents.length > 0;
    }
    const queues = document.getElementById("wb-queues");
    if (queues && data.queues) {
      sync(queues.tBodies[0], document.getElementById("wb-queue-row"), data.queues, (q) => q.queue_id, fillQueue);
      document.getElementById("wb-no-queues").hidden = data.queues.length > 0;
    }
    const campaigns = document.getElementById("wb-campaigns");
    if (campaigns && data.campaigns) {
      sync(campaigns.tBodies[0], document.getElementById("wb-campaign-row"), data.campaigns, (c) => c.campaign_id, fillCampaign);
      document.getElementById("wb-campaigns-box").hidden = data.campaigns.length === 0;
    }
    host.dataset.updated = data.now;
  }

  let busy = false;
  async function poll() {
    if (busy || document.visibilityState === "hidden") return;  // a tab in the background
    busy = true;
    try {
      const res = await fetch(host.dataset.poll, {headers: {"Accept": "application/json"},
                                                   cache: "no-store", credentials: "same-origin"});
      if (!res.ok) throw new Error(String(res.status));
      show(await res.json());
      if (stale) stale.hidden = true;
    } catch (e) {
      if (stale) stale.hidden = false;  // keep the last figures ticking
    } finally {
      busy = false;
    }
  }
  // pushed when the page has a stream (data-events, live_source.js), else polled every 2 s
  window.voxcastLive(host.dataset.events, (data) => {
    show(data);
    if (stale) stale.hidden = true;
  }, poll, 2000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  setInterval(retick, 1000);
})();
