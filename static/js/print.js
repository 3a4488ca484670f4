// A button that prints the page (the letters to post); the page reads well without it.
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
