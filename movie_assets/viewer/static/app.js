// Live progress of a regenerate started from this page: polls /movies/<id>/progress until it finishes.
(function () {
  const box = document.getElementById("progress");
  if (!box) return;
  const movie = box.dataset.movie;
  const bar = box.querySelector(".bar");
  const status = document.getElementById("run-status");
  const button = document.getElementById("regenerate");
  let reloadWhenDone = false;

  function show(state) {
    if (!state || state.status === "idle") return;
    const total = state.total || 0;
    bar.style.width = total ? (100 * state.done / total) + "%" : (state.finished ? "100%" : "4%");
    let text = state.status;
    if (state.status === "running") text += ` · ${state.done}/${total} · ${state.current || ""}`;
    if (state.message) text += `: ${state.message}`;
    status.textContent = text;
    button.disabled = !state.finished;
  }

  async function poll() {
    try {
      const response = await fetch(`/movies/${encodeURIComponent(movie)}/progress`, { cache: "no-store" });
      const state = await response.json();
      show(state);
      if (state.finished === false) { reloadWhenDone = true; setTimeout(poll, 400); return; }
      if (reloadWhenDone && state.status === "committed") window.location.assign(`/movies/${encodeURIComponent(movie)}`);
    } catch (err) {
      status.textContent = "lost contact with the viewer: " + err;
    }
  }

  if (box.dataset.running === "yes" || window.location.hash === "#progress") poll();
})();
