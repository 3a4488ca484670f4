// Staff's navigation on a phone: behind a Menu button, folded by the style sheet from the first
// paint (so nothing moves as the page loads); without JavaScript, nojs.css shows it instead.
{
  const header = document.querySelector("header.top");
  const toggle = header?.querySelector(".menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const open = header.dataset.menu !== "open";
      if (open) header.dataset.menu = "open";
      else delete header.dataset.menu;
      toggle.setAttribute("aria-expanded", String(open));
    });
    header.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && header.dataset.menu === "open") {
        delete header.dataset.menu;
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }
}

// Idle logoff warning. The server ends the session after the idle timeout no matter what;
// this only tells the person shortly before, and lets them stay signed in.
const body = document.body;
const timeout = Number(body.dataset.idleTimeout || 0);
const warning = Number(body.dataset.idleWarning || 120);

if (timeout > 0) {
  const banner = document.getElementById("idle-banner");
  const countdown = document.getElementById("idle-countdown");
  const stay = document.getElementById("idle-stay");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let deadline = Date.now() + timeout * 1000;
  let timer = null;

  const describe = (seconds) =>
    seconds >= 60 ? `${Math.ceil(seconds / 60)} minute${seconds > 60 ? "s" : ""}` : `${seconds} seconds`;

  const schedule = () => {
    clearTimeout(timer);
    const untilWarning = deadline - Date.now() - warning * 1000;
    timer = setTimeout(check, Math.max(untilWarning, 1000));
  };

  // Ask the server how long is left (another tab may have been active) without
  // counting the question itself as activity.
  const check = async () => {
    let left = Math.round((deadline - Date.now()) / 1000);
    try {
      const response = await fetch("/account/session/status/", {
        headers: { "X-Passive": "1", Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) left = (await response.json()).seconds_left;
      else if (response.status === 403 || response.redirected) left = 0;
    } catch (error) {
      // Offline: rely on the local clock.
    }
    deadline = Date.now() + left * 1000;
    if (left <= 0) {
      window.location.assign("/login/");
      return;
    }
    if (left > warning) {
      banner.hidden = true;
      schedule();
      return;
    }
    banner.hidden = false;
    countdown.textContent = describe(left);
    clearTimeout(timer);
    timer = setTimeout(check, Math.min(left, 15) * 1000);
  };

  stay.addEventListener("click", async () => {
    const response = await fetch("/account/session/keepalive/", {
      method: "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) {
      deadline = Date.now() + (await response.json()).seconds_left * 1000;
      banner.hidden = true;
      schedule();
    } else {
      window.location.assign("/login/");
    }
  });

  schedule();
}
