// The backup codes page: copy them, download them as a text file, or print them.
const list = document.getElementById("backup-codes");
const actions = document.querySelector("[data-codes-actions]");
if (list && actions) {
  const status = actions.querySelector("[data-codes-status]");
  const codes = [...list.querySelectorAll("code")].map((c) => c.textContent.trim());
  const text = `Backup codes for ${location.host} (each works once), made ${new Date().toLocaleDateString()}\n\n${codes.join("\n")}\n`;
  actions.hidden = false;
  actions.querySelector("[data-codes-copy]").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied.";
    } catch {
      status.textContent = "This browser would not copy them; select and copy them by hand.";
    }
  });
  actions.querySelector("[data-codes-download]").addEventListener("click", () => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    link.download = "backup-codes.txt";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    status.textContent = "Downloaded backup-codes.txt.";
  });
}
