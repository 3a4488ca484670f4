// A questionnaire's progress, kept in view while it is answered: how many questions have an
// answer, said in words and drawn as a bar (the bar is in the page from the start: nothing moves).
const form = document.querySelector("form.questionnaire");
const bar = document.getElementById("q-progress");
const text = document.getElementById("q-progress-text");
if (form && bar && text) {
  const total = Number(bar.max);
  const update = () => {
    const answered = new Set([...form.querySelectorAll("input[type=radio]:checked")].map((input) => input.name)).size;
    bar.value = answered;
    text.textContent = answered === total ? `All ${total} answered` : `${answered} of ${total} answered`;
  };
  form.addEventListener("change", update);
  update();
}
