// Chat: over each peer's data channel, never through the server.
import { $, setLabel } from "./dom.js";

export function attachChat(peer, channel) {
  peer.chat = channel;
  channel.addEventListener("message", (event) => {
    if (typeof event.data === "string" && event.data.length <= 2000) addChatLine(peer.name, event.data);
  });
}

export function addChatLine(who, text) {
  const panel = $("chat-panel");
  const toggle = $("chat-toggle");
  if (panel?.hidden && toggle && who !== "You") {
    // Closed: the Chat button counts what arrived.
    const unread = Number(toggle.dataset.unread || 0) + 1;
    toggle.dataset.unread = String(unread);
    setLabel(toggle, `Chat (${unread} new)`);
  }
  const item = document.createElement("li");
  const name = document.createElement("strong");
  name.textContent = `${who}: `;
  item.append(name, document.createTextNode(text));
  $("chat-log").append(item);
}
