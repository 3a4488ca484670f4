// Polls the export's status until it is ready, then shows the download links.
const box = document.getElementById("export");
if (box && box.dataset.status !== "ready" && box.dataset.status !== "failed") {
  const bar = document.getElementById("export-progress");
  const state = document.getElementById("export-state");
  const links = document.getElementById("export-links");
  const poll = async () => {
    const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return;
    const { status, progress } = await response.json();
    bar.value = progress;
    if (status === "ready") {
      state.textContent = "Ready.";
      links.hidden = false;
    } else if (status === "failed") {
      state.textContent = "Something went wrong; please ask again.";
    } else {
      setTimeout(poll, 1000);
    }
  };
  setTimeout(poll, 500);
}
