// The CDR summary's charts: answered vs unanswered calls per day and per campaign, drawn by
// Chart.js (webui/static/vendor, loaded before this file) from the page's JSON endpoint
// (data-src). No inline script or style: everything comes from data-* attributes.
(function () {
  "use strict";
  var box = document.getElementById("cdr-summary-charts");
  if (!box || typeof Chart === "undefined") { return; }
  var css = getComputedStyle(document.documentElement);
  var text = css.getPropertyValue("--fg").trim() || "#1d2330";
  var ANSWERED = "#2e8b57", UNANSWERED = "#d9534f";

  function draw(canvasId, series) {
    var canvas = document.getElementById(canvasId);
    if (!canvas) { return null; }
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          {label: box.dataset.answered, data: series.answered, backgroundColor: ANSWERED},
          {label: box.dataset.unanswered, data: series.unanswered, backgroundColor: UNANSWERED}
        ]
      },
      options: {
        animation: false,  // a report, not a show: drawn at once, and printable
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: {stacked: true, ticks: {color: text}},
          y: {stacked: true, beginAtZero: true, ticks: {color: text, precision: 0}}
        },
        plugins: {legend: {labels: {color: text}}}
      }
    });
  }

  function failed() {
    var p = document.createElement("p");
    p.className = "flash error";
    p.textContent = box.dataset.failed;
    box.prepend(p);
  }

  fetch(box.dataset.src, {credentials: "same-origin", headers: {"Accept": "application/json"}})
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    })
    .then(function (data) {
      draw("chart-days", data.days);
      draw("chart-campaigns", data.campaigns);
      box.dataset.drawn = "1";  // tests wait for it
    })
    .catch(failed);
})();
