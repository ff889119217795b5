// Draws the page's Vega-Lite charts from their JSON blocks, on load and after htmx swaps.
(function () {
  function draw(root) {
    if (typeof vegaEmbed !== "function") return;
    root.querySelectorAll('script[type="application/json"][data-chart]').forEach(function (block) {
      var target = document.getElementById(block.dataset.chart);
      if (!target || target.dataset.drawn) return;
      target.dataset.drawn = "1";
      vegaEmbed(target, JSON.parse(block.textContent), { actions: false, renderer: "svg" })
        .catch(function (err) { target.textContent = "The chart could not be drawn: " + err; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
