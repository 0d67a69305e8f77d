// Body chart: clicking a zone of the picture ticks its checkbox, and ticking a box fills its zone.
// The form works without this script: the checkboxes alone are the input.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("body-chart-form");
  if (!form) return;
  const zoneOf = (name) => document.querySelector(`rect[data-zone="${CSS.escape(name)}"]`);
  for (const rect of document.querySelectorAll("rect[data-zone]")) {
    rect.addEventListener("click", () => {
      const box = document.getElementById(`zone-${rect.dataset.zone}`);
      if (!box) return;
      box.checked = !box.checked;
      rect.classList.toggle("marked", box.checked);
    });
  }
  for (const box of form.querySelectorAll('input[name="zone"]')) {
    box.addEventListener("change", () => zoneOf(box.value)?.classList.toggle("marked", box.checked));
  }
});
