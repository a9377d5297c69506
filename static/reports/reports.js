/* The report pages' charts, drawn with the vendored Chart.js (static/vendor/chart.umd.min.js, MIT) from the
   numbers the page passes with json_script (#report-chart-data). Every chart has a table with the same
   numbers under it, so nothing here is the only way to read a figure. */
(function () {
  "use strict";

  var BLUE = "#0b5cad";
  var GREEN = "#2a8a4a";
  var GREY = "#8896a6";

  function percentAxis(title) {
    return { type: "linear", position: "right", min: 0, max: 100, title: { display: true, text: title },
      grid: { drawOnChartArea: false } };
  }

  function countAxis(title) {
    return { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: title } };
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
    new window.Chart(canvas, config);
  }

  function volumeAndCsat(id, series, kind) {
    draw(id, {
      data: {
        labels: series.labels,
        datasets: [
          { type: kind, label: "Conversations", data: series.conversations, yAxisID: "count",
            backgroundColor: "rgba(11, 92, 173, 0.35)", borderColor: BLUE, pointRadius: 2 },
          { type: "line", label: "CSAT (%)", data: series.csat, yAxisID: "share", borderColor: GREEN,
            backgroundColor: GREEN, spanGaps: true, pointRadius: 2 }
        ]
      },
      options: { scales: { count: countAxis("Conversations"), share: percentAxis("CSAT (%)") } }
    });
  }

  function integerTicks(count) {
    var ticks = [];
    for (var value = 0; value < count; value += 1) { ticks.push({ value: value }); }
    return ticks;
  }

  function heatmap(id, grid) {
    var max = 0;
    grid.cells.forEach(function (row) { row.forEach(function (count) { max = Math.max(max, count); }); });
    var points = [];
    grid.cells.forEach(function (row, weekday) {
      row.forEach(function (count, hour) {
        if (count > 0) { points.push({ x: hour, y: weekday, count: count }); }
      });
    });
    draw(id, {
      type: "bubble",
      data: {
        datasets: [{
          label: "Conversations started",
          data: points,
          // A matrix of cells: the bubble's area and its shade both grow with the count.
          radius: function (ctx) {
            var point = ctx.raw;
            return point ? 2 + 11 * Math.sqrt(point.count / (max || 1)) : 0;
          },
          backgroundColor: function (ctx) {
            var point = ctx.raw;
            var alpha = point ? 0.15 + 0.85 * point.count / (max || 1) : 0;
            return "rgba(11, 92, 173, " + alpha.toFixed(3) + ")";
          },
          borderWidth: 0
        }]
      },
      options: {
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (ctx) {
            return grid.weekdays[ctx.raw.y] + " " + String(ctx.raw.x).padStart(2, "0") + ":00 — " + ctx.raw.count;
          } } }
        },
        scales: {
          // Half a cell of margin around the matrix, ticks on the cells only.
          x: { type: "linear", min: -0.5, max: 23.5, title: { display: true, text: "Hour" },
            afterBuildTicks: function (axis) { axis.ticks = integerTicks(24); } },
          y: { type: "linear", min: -0.5, max: 6.5, reverse: true,
            afterBuildTicks: function (axis) { axis.ticks = integerTicks(7); },
            ticks: { callback: function (value) { return grid.weekdays[value] ? grid.weekdays[value].slice(0, 3) : ""; } } }
        }
      }
    });
  }

  function calibration(id, figures) {
    draw(id, {
      type: "line",
      data: {
        labels: [1, 2, 3, 4, 5],
        datasets: [
          { label: "Mean predicted, per actual rating", data: figures.byRating, borderColor: BLUE,
            backgroundColor: BLUE, spanGaps: true },
          { label: "Mean actual rating, per predicted rating", data: figures.byPrediction, borderColor: GREEN,
            backgroundColor: GREEN, spanGaps: true },
          { label: "Perfect calibration", data: [1, 2, 3, 4, 5], borderColor: GREY, borderDash: [4, 4],
            pointRadius: 0 }
        ]
      },
      options: { scales: {
        x: { title: { display: true, text: "Rating (actual, or predicted rounded)" } },
        y: { min: 1, max: 5, title: { display: true, text: "Mean" } }
      } }
    });
  }

  function leaderboard(id, series) {
    draw(id, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [{ label: "CSAT (%)", data: series.csat, backgroundColor: "rgba(42, 138, 74, 0.6)" }]
      },
      options: { indexAxis: "y", scales: { x: { min: 0, max: 100 } } }
    });
  }

  function start() {
    var source = document.getElementById("report-chart-data");
    if (!source || !window.Chart) { return; }
    var data = JSON.parse(source.textContent);
    volumeAndCsat("chart-periods", data.periods, "line");
    volumeAndCsat("chart-breakdown", data.breakdown, "bar");
    if (data.leaderboard) { leaderboard("chart-leaderboard", data.leaderboard); }
    heatmap("chart-heatmap", data.heatmap);
    calibration("chart-calibration", data.calibration);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
