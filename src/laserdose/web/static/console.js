// Treatment console: STOP without leaving the page, and the machine's state live from server-sent events
// (no build step). The stream follows the console through sessions and reconnections; when its phase or
// session changes, the buttons and the session records are fetched again as the server renders them.
(function () {
  "use strict";
  const root = document.getElementById("console");
  if (!root) return;
  const PANEL_IDS = ["console-qa", "checklist", "console-actions", "records", "doses"];
  const RUNNING_REFRESH_MS = 2000; // the records' energy (the database's heartbeat) while a session runs
  const text = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  const yesNo = (value, yes, no) => (value === undefined ? "-" : value ? yes : no);
  const number = (value, digits) => (typeof value === "number" ? value.toFixed(digits) : "-");
  let phase = root.dataset.phase;
  let session = root.dataset.session;
  let lastRefresh = 0;
  let refreshing = false;
  let refreshAgain = false;

  async function refreshPanel() {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    try {
      do {
        refreshAgain = false;
        lastRefresh = Date.now();
        const response = await fetch(root.dataset.panel, { headers: { Accept: "text/html" } });
        if (!response.ok) continue;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const id of PANEL_IDS) {
          const now = document.getElementById(id);
          const next = fresh.getElementById(id);
          if (now && next) now.replaceWith(document.adoptNode(next));
        }
      } while (refreshAgain);
    } catch (error) {
      // the next event asks again
    } finally {
      refreshing = false;
    }
  }

  function showStart(s) {
    const start = document.getElementById("start");
    if (!start) return;
    start.disabled = start.dataset.qa !== "1" || start.dataset.checklist !== "1" || Boolean(s.blocked);
    text("start-blocked", s.blocked ? `Arming refused by the machine: ${s.blocked}.` : "");
  }

  function show(s) {
    const now = s.phase === "idle" ? "closed" : s.phase;
    const linked = now !== "closed";
    text("phase", linked ? now : "not connected");
    text("link-state", linked ? "connected" : "not connected");
    text("state", linked ? s.state || "off" : "off");
    text("elapsed", (s.elapsed_s || 0).toFixed(1));
    text("reason", s.reason || "");
    const power = linked ? s.power_w || {} : {};
    document.querySelectorAll("[data-power]").forEach((el) => { el.textContent = number(power[el.dataset.power], 2); });
    for (const [key, joules] of Object.entries(s.delivered_j || {})) {
      document.querySelectorAll(`[data-energy="${key}"]`).forEach((el) => { el.textContent = joules.toFixed(1); });
    }
    const m = linked ? s.machine || {} : {};
    text("machine-state", m.state || "-");
    text("footswitch", yesNo(m.footswitch, "pressed", "up"));
    text("interlock", yesNo(m.interlock_closed, "closed", "OPEN"));
    text("key", yesNo(m.key_on, "on", "off"));
    text("estop", yesNo(m.estop_pressed, "PRESSED", "released"));
    if (s.outcome && s.outcome.reason) {
      text("result", `Session ended: ${s.outcome.completed ? "completed" : "interrupted"} (${s.outcome.reason}).`);
    } else if (now === "running") {
      text("result", "");
    }
    showStart(s);
    const sessionNow = s.session_id === undefined || s.session_id === null ? session : String(s.session_id);
    if (now !== phase || sessionNow !== session) {
      phase = now;
      session = sessionNow;
      refreshPanel();
    } else if (now === "running" && Date.now() - lastRefresh > RUNNING_REFRESH_MS) {
      refreshPanel();
    }
  }

  const stopForm = document.getElementById("stop-form");
  stopForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const response = await fetch(stopForm.action, {
        method: "POST", body: new FormData(stopForm), headers: { Accept: "application/json" },
      });
      text("stop-result", response.ok ? "STOP sent" : `STOP refused (${response.status}): use the machine's emergency stop`);
      if (response.ok) show(await response.json());
    } catch (error) {
      text("stop-result", "STOP could not reach the server: use the machine's emergency stop");
    }
  });

  // The stream ends when the console closes; the browser asks again (the server's retry) and so follows
  // the next connection too.
  const source = new EventSource(root.dataset.events);
  source.addEventListener("progress", (event) => show(JSON.parse(event.data)));
  source.addEventListener("end", (event) => show(JSON.parse(event.data)));
})();
