// The dashboard's charts: each [data-chart] element names a <script type="application/json">
// holding {days, series, labels}; uPlot (from npm, served from /static/vendor) draws it.
"use strict";
(function () {
  const COLORS = ["#0b5cad", "#1e7b34", "#b45309", "#7c3aed", "#b42318", "#0e7490"];
  function draw(holder) {
    const source = document.getElementById(holder.dataset.chart);
    if (!source || typeof uPlot === "undefined") return;
    const data = JSON.parse(source.textContent);
    const names = Object.keys(data.series);
    const xs = data.days.map((d) => Date.parse(d + "T00:00:00Z") / 1000);
    const options = {
      width: Math.max(300, holder.clientWidth),
      height: 220,
      scales: { x: { time: true } },
      series: [{ label: data.x || "Day" }].concat(names.map((name, i) => ({
        label: (data.labels && data.labels[name]) || name,
        stroke: COLORS[i % COLORS.length],
        width: 2,
      }))),
    };
    holder.textContent = "";
    new uPlot(options, [xs].concat(names.map((n) => data.series[n])), holder);
  }
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
