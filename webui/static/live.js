// Refresh the campaign table and the Asterisk banner every 2 s from the JSON endpoints.
(function () {
  "use strict";
  const table = document.getElementById("campaigns");
  const banner = document.getElementById("ari-banner");
  if (!table) return;
  async function getJSON(url) {
    const res = await fetch(url, {headers: {"Accept": "application/json"}, cache: "no-store"});
    if (!res.ok) throw new Error(res.status);
    return res.json();
  }
  async function refresh() {
    try {
      const [rows, health] = await Promise.all([getJSON(table.dataset.poll), getJSON(table.dataset.health)]);
      if (banner) banner.hidden = health.ari === "connected";
      for (const row of rows) {
        const tr = table.querySelector(`tr[data-id="${row.id}"]`);
        if (!tr) continue;
        for (const cell of tr.querySelectorAll("[data-k]")) {
          const value = row[cell.dataset.k];
          cell.textContent = value === undefined ? "" : value;
          if (cell.dataset.k === "status") cell.className = "status " + value;
        }
      }
    } catch (e) {
      // Network hiccup or logged out: keep the last figures, try again next tick.
    }
  }
  setInterval(refresh, 2000);
})();
