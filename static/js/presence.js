// Presence: on every page of a therapist's, tell them at once when a client is waiting for one
// of their sessions (a banner, a count on Sessions, a sound and, if allowed, a desktop
// notification). Only times are shown, never who: a screen can be seen by others.
// On every page of anyone who writes messages, a new message in one of their conversations shows
// at once: in the conversation itself when it is open, else as a notice and a count on Messages.
const banner = document.getElementById("presence-banner");
const messageBanner = document.getElementById("message-banner");
let unseen = 0;

// A count beside a navigation link (none when zero), read out as "<n> <what>".
const countOn = (link, n, what) => {
  if (!link) return;
  let badge = link.querySelector(".count");
  if (!n) {
    badge?.remove();
    return;
  }
  if (!badge) {
    badge = document.createElement("span");
    badge.className = "count";
    link.append(" ", badge);
  }
  badge.textContent = String(n);
  badge.setAttribute("aria-label", `${n} ${what}`);
};

const messageArrived = async (data) => {
  if (location.pathname === data.url) {
    // The conversation is open: show the thread as it now is (opening it again is the read).
    const response = await fetch(data.url, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("thread");
    const thread = document.getElementById("thread");
    if (fresh && thread) thread.replaceChildren(...fresh.childNodes);
    return;
  }
  unseen += 1;
  // The top navigation and, for a client on a phone, the tab bar.
  for (const link of document.querySelectorAll('nav a[href="/messages/"]')) countOn(link, unseen, "new");
  if (messageBanner) {
    document.getElementById("message-open").href = data.url;
    messageBanner.hidden = false;
  }
};

let handle = (data) => {
  if (data.type === "message") messageArrived(data);
};

if (banner) {
  const text = document.getElementById("presence-text");
  const open = document.getElementById("presence-open");
  const ask = document.getElementById("presence-notify");
  const sessionsLink = document.querySelector('nav a[href="/sessions/"]');
  const known = new Set();
  let first = true;

  const beep = () => {
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = 660;
      volume.gain.value = 0.08;
      tone.connect(volume).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch {
      // no sound is allowed yet (before any click on the page): the banner is enough
    }
  };

  const count = (n) => countOn(sessionsLink, n, "waiting");

  const show = (waiting) => {
    const here = waiting.filter((w) => w.url !== location.pathname);
    count(waiting.length);
    if (!here.length) {
      banner.hidden = true;
      return;
    }
    const next = here[0];
    const more = here.length > 1 ? ` (and ${here.length - 1} more)` : "";
    text.textContent = `A client is waiting for your ${next.time} session${more}.`;
    open.href = next.url;
    banner.hidden = false;
    banner.dataset.waiting = String(waiting.length);
    const fresh = here.filter((w) => !known.has(w.appointment));
    if (fresh.length && !first) {
      beep();
      if ("Notification" in window && Notification.permission === "granted") {
        new Notification(`A client is waiting for your ${fresh[0].time} session`, { tag: fresh[0].appointment });
      }
    }
    if ("Notification" in window && Notification.permission === "default") ask.hidden = false;
  };

  ask?.addEventListener("click", async () => {
    await Notification.requestPermission();
    ask.hidden = true;
  });

  handle = (data) => {
    if (data.type === "message") {
      messageArrived(data);
      return;
    }
    if (data.type === "alert") {
      const box = document.getElementById("presence-alert");
      document.getElementById("presence-alert-text").textContent = data.text;
      document.getElementById("presence-alert-open").href = data.url;
      box.hidden = false;
      beep();
      if ("Notification" in window && Notification.permission === "granted") new Notification(data.text);
      return;
    }
    if (data.type !== "presence") return;
    show(data.waiting);
    for (const w of data.waiting) known.add(w.appointment);
    first = false;
  };
}

let delay = 1000;
const connect = () => {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/presence/`);
  socket.addEventListener("open", () => {
    delay = 1000;
    document.documentElement.dataset.live = "connected";
  });
  socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    delete document.documentElement.dataset.live;
    // Refused or signed out: the page itself will say so. Anything else: try again, backing off.
    if (event.code >= 4000) return;
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30000);
  });
};
connect();
