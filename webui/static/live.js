// Live campaign progress, pushed (server-sent events from data-events, live_source.js) or,
// when the stream is not available, polled from the JSON endpoints every 2 s.
// List page (table#campaigns): figures are updated in place; when a campaign's status
// changes (e.g. running -> completed) the page is reloaded so its Start/Pause/Stop buttons
// match the new status. Detail page (#campaign-live): reloaded whenever its figures change.
// Both keep the Asterisk banner in step with /status/health.json.
(function () {
  "use strict";
  const table = document.getElementById("campaigns");
  const detail = document.getElementById("campaign-live");
  const banner = document.getElementById("ari-banner");
  const host = table || detail;
  if (!host) return;

  async function getJSON(url) {
    const res = await fetch(url, {headers: {"Accept": "application/json"}, cache: "no-store"});
    if (!res.ok) throw new Error(res.status);
    return res.json();
  }

  // The figures and status of one campaign as a comparable string.
  function signature(row) {
    return Object.keys(row).filter((k) => k !== "name" && k !== "id").sort()
      .map((k) => k + "=" + row[k]).join("&");
  }

  let initial = null;
  if (detail) {
    try { initial = signature(JSON.parse(detail.dataset.progress)); } catch (e) { initial = null; }
  }

  function updateTable(rows) {
    for (const row of rows) {
      const tr = table.querySelector(`tr[data-id="${row.id}"]`);
      if (!tr) continue;
      if (tr.dataset.status && tr.dataset.status !== row.status) {
        window.location.reload();
        return;
      }
      for (const cell of tr.querySelectorAll("[data-k]")) {
        const value = row[cell.dataset.k];
        cell.textContent = value === undefined ? "" : value;
        if (cell.dataset.k === "status") cell.className = "status " + value;
      }
    }
  }

  function updateDetail(rows) {
    const id = Number(detail.dataset.id);
    const row = rows.find((r) => r.id === id);
    if (!row) return;
    const now = signature(row);
    if (initial !== null && now !== initial) window.location.reload();
  }

  function show(rows, ari) {
    if (banner) banner.hidden = ari === "connected";
    if (table) updateTable(rows); else updateDetail(rows);
  }

  async function refresh() {
    try {
      const [rows, health] = await Promise.all([getJSON(host.dataset.poll), getJSON(host.dataset.health)]);
      show(rows, health.ari);
    } catch (e) {
      // Network hiccup or logged out: keep the last figures, try again next tick.
    }
  }
  window.voxcastLive(host.dataset.events, (data) => show(data.rows, data.ari), refresh, 2000);
})();
