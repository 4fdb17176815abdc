// The little the pages need in the browser: follow a job's progress, and draw a result's charts with plotly.js.
var Platoons = (function () {
  function followJob(panel) {
    var id = panel.dataset.job;
    var bar = document.getElementById("bar");
    function show(job) {
      bar.max = job.total; bar.value = job.done;
      document.getElementById("done").textContent = job.done;
      var status = document.getElementById("status");
      status.textContent = job.status; status.className = "status " + job.status;
      panel.dataset.status = job.status;
      document.getElementById("left").textContent =
        job.seconds_left === null ? "" : ", about " + Math.ceil(job.seconds_left) + " s left";
      document.getElementById("queue").textContent = job.queue_position ? " (" + job.queue_position + " in the queue)" : "";
      if (job.error) { var e = document.getElementById("error"); e.textContent = job.error; e.hidden = false; }
      if (job.status === "finished") { window.location.assign("/results/" + id); return; }
      if (job.status === "queued" || job.status === "running") { setTimeout(poll, 500); }
      else { window.location.reload(); }
    }
    function poll() {
      fetch("/api/jobs/" + id, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(show,
        function () { setTimeout(poll, 2000); });
    }
    if (panel.dataset.status === "queued" || panel.dataset.status === "running") { poll(); }
  }

  function drawCharts() {
    var holder = document.getElementById("figures");
    var charts = Array.prototype.slice.call(document.querySelectorAll(".chart"));
    if (!holder || !charts.length) { document.body.dataset.charts = "ready"; return; }
    var figures = JSON.parse(holder.textContent);
    var config = {displaylogo: false, responsive: true};
    Promise.all(charts.map(function (el) {
      var figure = figures[el.dataset.key];
      return Plotly.newPlot(el, figure.data, figure.layout, config);
    })).then(function () { document.body.dataset.charts = "ready"; },
             function (error) { document.body.dataset.charts = "failed"; console.error(error); });
  }

  return {followJob: followJob, drawCharts: drawCharts};
})();
