// flowrun's web UI: follow an execution's logs live (server-sent events) and filter them by level.
(function () {
  "use strict";
  var RANK = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };
  var box = document.getElementById("logs");
  if (!box) { return; }
  var levelSelect = document.getElementById("log-level");
  function minimum() { return RANK[(levelSelect && levelSelect.value) || "TRACE"] || 0; }
  function apply() {
    var lines = box.querySelectorAll(".line");
    for (var i = 0; i < lines.length; i++) {
      var rank = RANK[lines[i].getAttribute("data-level")];
      lines[i].style.display = (rank === undefined ? 2 : rank) >= minimum() ? "" : "none";
    }
  }
  if (levelSelect) { levelSelect.addEventListener("change", apply); }
  apply();
  var url = box.getAttribute("data-stream");
  if (!url || !window.EventSource) { return; }
  var source = new EventSource(url);
  var fragmentsUrl = box.getAttribute("data-fragments");
  // the Gantt and the topology are drawn by the server (escaped SVG); a live page fetches them again each second
  function redraw() {
    if (!fragmentsUrl || !window.fetch) { return; }
    fetch(fragmentsUrl, { credentials: "same-origin" }).then(function (answer) { return answer.json(); })
      .then(function (parts) {
        var gantt = document.getElementById("gantt"), topology = document.getElementById("topology");
        if (gantt) { gantt.innerHTML = parts.gantt; }
        if (topology && parts.topology) { topology.innerHTML = parts.topology; }
      }).catch(function () {});
  }
  var timer = box.getAttribute("data-live") === "true" ? setInterval(redraw, 1000) : null;
  source.addEventListener("log", function (event) {
    var line = JSON.parse(event.data);
    var div = document.createElement("div");
    div.className = "line " + line.level;
    div.setAttribute("data-level", line.level);
    div.textContent = line.timestamp + " " + line.level + " " + (line.task_id || "execution") + ": " + line.message;
    var rank = RANK[line.level];
    div.style.display = (rank === undefined ? 2 : rank) >= minimum() ? "" : "none";
    box.appendChild(div);
    box.scrollTop = box.scrollHeight;
  });
  source.addEventListener("state", function (event) {
    var badge = document.getElementById("execution-state");
    if (badge) { badge.textContent = event.data; badge.className = "state " + event.data; }
  });
  source.addEventListener("end", function () {
    source.close();
    if (timer) { clearInterval(timer); redraw(); }
    var note = document.getElementById("live-note");
    if (note && note.textContent) { note.textContent = "ended; reload for the final Gantt"; }
  });
})();
