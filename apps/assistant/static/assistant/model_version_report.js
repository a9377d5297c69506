// Charts of a model version's classification report (admin/assistant/modelversion/report.html), drawn with
// the vendored Chart.js. The data comes from a json_script element: {labels, cells: [[predicted, actual,
// count]], top_confusions: [[actual, predicted, count]]}.
"use strict";

(function () {
  const RIGHT = "rgba(46, 139, 87, 0.7)";
  const WRONG = "rgba(200, 50, 50, 0.7)";

  function radius(count, largest) {
    return 2 + 10 * Math.sqrt(count / largest);
  }

  function labelAxis(labels, reverse) {
    return {
      type: "linear",
      min: -0.5,
      max: labels.length - 0.5,
      reverse: reverse,
      // One tick per label, at its index (the axis runs from -0.5 so the edge dots are not cut in half).
      afterBuildTicks: (axis) => {
        axis.ticks = labels.map((_, index) => ({ value: index }));
      },
      ticks: {
        autoSkip: false,
        font: { size: labels.length > 30 ? 9 : 12 },
        callback: (value) => labels[value] ?? "",
      },
      grid: { display: false },
    };
  }

  function confusionChart(canvas, data) {
    const points = (right) =>
      data.cells
        .filter(([predicted, actual]) => (predicted === actual) === right)
        .map(([predicted, actual, count]) => ({ x: predicted, y: actual, count: count }));
    const right = points(true);
    const wrong = points(false);
    const largestRight = Math.max(1, ...right.map((p) => p.count));
    const largestWrong = Math.max(1, ...wrong.map((p) => p.count));
    right.forEach((p) => (p.r = radius(p.count, largestRight)));
    wrong.forEach((p) => (p.r = radius(p.count, largestWrong)));
    const xAxis = labelAxis(data.labels, false);
    xAxis.title = { display: true, text: "predicted" };
    xAxis.ticks.maxRotation = 90;
    xAxis.ticks.minRotation = data.labels.length > 10 ? 90 : 0;
    const yAxis = labelAxis(data.labels, true);
    yAxis.title = { display: true, text: "actual" };
    return new window.Chart(canvas, {
      type: "bubble",
      data: {
        datasets: [
          { label: "right", data: right, backgroundColor: RIGHT },
          { label: "mistaken", data: wrong, backgroundColor: WRONG },
        ],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { x: xAxis, y: yAxis },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) =>
                `${data.labels[item.raw.y]} → ${data.labels[item.raw.x]}: ${item.raw.count}`,
            },
          },
        },
      },
    });
  }

  function mistakesChart(canvas, data) {
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.top_confusions.map(([actual, predicted]) => `${actual} → ${predicted}`),
        datasets: [
          { label: "messages", data: data.top_confusions.map((row) => row[2]), backgroundColor: WRONG },
        ],
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: { x: { ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } },
      },
    });
  }

  const CHARTS = { confusion: confusionChart, mistakes: mistakesChart };

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.Chart) return;
    for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
      const source = document.getElementById(canvas.dataset.source);
      const draw = CHARTS[canvas.dataset.chart];
      if (source && draw) draw(canvas, JSON.parse(source.textContent));
    }
  });
})();
