// The floor page: renders the snapshot embedded in the page, then each floor.snapshot frame of /ws/floor/.
// The server sends a snapshot after events (debounced) and every 30 s; waits tick here, every second, from
// their start times, so nothing polls. Every value is set as text (textContent), never as HTML.
(function () {
  "use strict";

  var snapshot = JSON.parse(document.getElementById("floor-snapshot").textContent);
  var connection = document.getElementById("floor-connection");

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + (seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function secondsSince(iso) {
    return iso ? (Date.now() - Date.parse(iso)) / 1000 : null;
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "–" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function fill(tableId, rows, build) {
    var body = document.querySelector("#" + tableId + " tbody");
    body.textContent = "";
    rows.forEach(function (item) {
      var tr = document.createElement("tr");
      build(tr, item);
      body.appendChild(tr);
    });
  }

  function longestWaitingSince() {
    var starts = snapshot.queues
      .map(function (queue) { return queue.longest_waiting_since; })
      .filter(Boolean)
      .sort();
    return starts.length ? starts[0] : null;
  }

  function renderClocks() {
    document.querySelector('[data-total="longest_wait"]').textContent = duration(secondsSince(longestWaitingSince()));
    document.querySelectorAll("[data-waiting-since]").forEach(function (node) {
      node.textContent = duration(secondsSince(node.getAttribute("data-waiting-since")));
    });
  }

  // The team a lead watches ("" = all), kept in this browser. Totals stay the whole desk's.
  var teamSelect = document.getElementById("floor-team");
  var team = window.localStorage.getItem("floor-team") || "";
  teamSelect.addEventListener("change", function () {
    team = teamSelect.value;
    window.localStorage.setItem("floor-team", team);
    render();
  });

  function renderTeamChoices() {
    var names = snapshot.queues.map(function (queue) { return queue.team.name; });
    if (team && names.indexOf(team) === -1) names.push(team);
    var choices = [["", "All teams"]].concat(names.map(function (name) { return [name, name]; }));
    teamSelect.textContent = "";
    choices.forEach(function (choice) {
      var option = document.createElement("option");
      option.value = choice[0];
      option.textContent = choice[1];
      option.selected = choice[0] === team;
      teamSelect.appendChild(option);
    });
  }

  function ofTeam(rows, teamsOf) {
    return team ? rows.filter(function (row) { return teamsOf(row).indexOf(team) !== -1; }) : rows;
  }

  function render() {
    var totals = snapshot.totals;
    renderTeamChoices();
    ["online", "away", "offline", "waiting", "with_agents", "at_risk"].forEach(function (name) {
      document.querySelector('[data-total="' + name + '"]').textContent = String(totals[name]);
    });
    document.getElementById("floor-generated-at").textContent = new Date(snapshot.generated_at).toLocaleTimeString();
    var shown = snapshot.at_risk.length;
    document.getElementById("floor-at-risk-more").textContent =
      totals.at_risk > shown ? "(the " + shown + " most urgent of " + totals.at_risk + ")" : "";
    fill("floor-at-risk", ofTeam(snapshot.at_risk, function (risk) { return [risk.team || "(no team)"]; }), function (tr, risk) {
      var link = document.createElement("a");
      link.href = risk.url;
      link.textContent = "#" + risk.conversation;
      cell(tr, "").appendChild(link);
      cell(tr, risk.customer);
      cell(tr, risk.state_label);
      cell(tr, risk.team);
      cell(tr, risk.assignee);
      cell(tr, risk.reasons.join("; "));
    });
    fill("floor-queues", ofTeam(snapshot.queues, function (queue) { return [queue.team.name]; }), function (tr, queue) {
      cell(tr, queue.team.name);
      cell(tr, queue.waiting);
      var wait = cell(tr, "–");
      if (queue.longest_waiting_since) wait.setAttribute("data-waiting-since", queue.longest_waiting_since);
      cell(tr, queue.agents_online);
    });
    fill("floor-agents", ofTeam(snapshot.agents, function (agent) { return agent.teams; }), function (tr, agent) {
      cell(tr, agent.name);
      cell(tr, agent.presence, "presence-" + agent.presence);
      cell(tr, agent.teams.join(", "));
      var load = agent.open_conversations + " / " + agent.capacity;
      var loadCell = cell(tr, load, agent.open_conversations > agent.capacity ? "over-capacity" : "");
      agent.conversations.forEach(function (id) {
        var link = document.createElement("a");
        link.href = snapshot.conversation_url.replace("{id}", String(id));
        link.textContent = "#" + id;
        loadCell.append(" ", link);
      });
      cell(tr, agent.open_tickets);
    });
    renderClocks();
  }

  var delay = 1000;
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/floor/");
    socket.onopen = function () {
      delay = 1000;
      connection.textContent = "Live";
      connection.setAttribute("data-state", "live");
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "floor.snapshot") {
        snapshot = frame;
        render();
      }
    };
    socket.onclose = function (event) {
      connection.textContent = event.code === 4403 ? "Not allowed" : "Reconnecting…";
      connection.setAttribute("data-state", "reconnecting");
      if (event.code === 4403) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  render();
  setInterval(renderClocks, 1000);
  connect();
})();
