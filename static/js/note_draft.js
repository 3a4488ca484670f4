// A progress note's draft is saved as it is typed: a pause of two seconds sends the sections to
// the notes API (created on the first pause of a new note, then updated with the version it
// answered, so two tabs cannot overwrite each other unseen). Nothing is kept in the browser.
const form = document.querySelector("form[data-autosave]");
const status = document.getElementById("draft-status");
const csrf = document.querySelector('meta[name="csrf-token"]').content;

if (form && status) {
  let timer = null;
  let saving = Promise.resolve();
  let noteUrl = form.dataset.note || "";
  const versionField = () => form.querySelector('input[name="version"]');

  const sections = () =>
    Object.fromEntries([...form.querySelectorAll("textarea[data-section]")].map((t) => [t.dataset.section, t.value]));
  const time = () => new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const show = (text, problem = false) => {
    status.textContent = text;
    status.classList.toggle("error", problem);
  };

  async function save() {
    const body = { sections: sections() };
    const session = form.querySelector('select[name="session"]');
    if (!noteUrl) {
      body.template = form.querySelector('input[name="template"]').value;
      if (session?.value) body.session = session.value;
    } else body.version = Number(versionField()?.value || 0);
    show("Saving…");
    const response = await fetch(noteUrl || form.dataset.create, {
      method: noteUrl ? "PATCH" : "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).catch(() => null);
    if (!response) return show("Not saved: the connection dropped. Your text is still here.", true);
    const answer = await response.json().catch(() => ({}));
    if (response.status === 409) return show("Not saved: this note changed in another window. Reload it.", true);
    if (!response.ok) return show(`Not saved: ${answer.detail || "try Save draft"}.`, true);
    if (!noteUrl) {
      // Created: from now on this page edits that draft (and its address says so).
      noteUrl = `${form.dataset.notes}${answer.id}/`;
      form.action = `${form.dataset.pages}${answer.id}/`;
      history.replaceState(null, "", form.action);
      if (!versionField()) form.append(Object.assign(document.createElement("input"), { type: "hidden", name: "version" }));
    }
    versionField().value = String(answer.version);
    show(`Draft saved at ${time()}.`);
  }

  form.addEventListener("input", () => {
    clearTimeout(timer);
    show("Not saved yet…");
    timer = setTimeout(() => {
      saving = saving.then(save);
    }, 2000);
  });
  // Submitting by hand waits for a save under way (so the version sent is the newest).
  form.addEventListener("submit", async (event) => {
    if (form.dataset.waited) return;
    event.preventDefault();
    clearTimeout(timer);
    await saving;
    form.dataset.waited = "1";
    form.requestSubmit(event.submitter);
  });
}
