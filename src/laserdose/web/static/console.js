// Treatment console: STOP without leaving the page, and live state from server-sent events (no build step).
(function () {
  "use strict";
  const root = document.getElementById("console");
  if (!root) return;
  const text = (id, value) => {
    const el = document.getElementById(id);
    if (!el) return;
    el.textContent = value;
    if (el.classList.contains("state")) el.dataset.value = value; // app.css colours states by data-value
  };
  const yesNo = (value, yes, no) => (value === undefined ? "-" : value ? yes : no);

  function show(s) {
    text("phase", s.phase);
    text("state", s.state);
    text("elapsed", (s.elapsed_s || 0).toFixed(1));
    text("reason", s.reason || "");
    for (const [key, watts] of Object.entries(s.power_w || {})) {
      document.querySelectorAll(`[data-power="${key}"]`).forEach((el) => { el.textContent = watts.toFixed(2); });
    }
    for (const [key, joules] of Object.entries(s.delivered_j || {})) {
      document.querySelectorAll(`[data-energy="${key}"]`).forEach((el) => { el.textContent = joules.toFixed(1); });
    }
    const m = s.machine || {};
    text("machine-state", m.state || "-");
    text("footswitch", yesNo(m.footswitch, "pressed", "up"));
    text("interlock", yesNo(m.interlock_closed, "closed", "OPEN"));
    text("key", yesNo(m.key_on, "on", "off"));
    text("estop", yesNo(m.estop_pressed, "PRESSED", "released"));
    if (s.outcome && s.outcome.reason) {
      text("result", `Session ended: ${s.outcome.completed ? "completed" : "interrupted"} (${s.outcome.reason}).`);
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

  if (root.dataset.live !== "1") return;
  const source = new EventSource(root.dataset.events);
  source.addEventListener("progress", (event) => show(JSON.parse(event.data)));
  source.addEventListener("end", (event) => { source.close(); show(JSON.parse(event.data)); });
})();
