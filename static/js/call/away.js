// Someone whose signaling connection broke keeps their place, and their media connection (peer
// to peer, it may well be fine), marked as reconnecting, until they are back (announced again,
// under a new peer id, with the same name and role) or the grace period is over.
import { say } from "./dom.js";
import { onState, removePeer } from "./peers.js";
import { awayPlaces, peers, who } from "./state.js";

export function keep(peer, graceSeconds, shown) {
  const key = who(peer);
  awayPlaces.get(key)?.cancel();
  peer.kept = true;
  if (shown) {
    peer.tile.classList.add("away");
    peer.tile.querySelector(".state").textContent = "Reconnecting…";
    peer.away = true;
    say(`${peer.name} is reconnecting…`, "warning");
  }
  const timer = setTimeout(() => {
    awayPlaces.delete(key);
    removePeer(peer.id, false);
    if (shown) say(`${peer.name} left the call.`);
  }, Math.max(graceSeconds, 5) * 1000);
  awayPlaces.set(key, {
    peer,
    shown,
    cancel: () => {
      clearTimeout(timer);
      awayPlaces.delete(key);
      peer.kept = false;
      peer.away = false;
      peer.tile.classList.remove("away");
    },
  });
}

export function holdPlace(id, graceSeconds) {
  const peer = peers.get(id);
  if (peer) keep(peer, graceSeconds, true);
}

// A peer announced again: if we kept their connection and it still carries media, it goes on
// under the new id, with no renegotiation; otherwise it is replaced by a new one.
const LIVE = new Set(["connected", "connecting", "disconnected"]);
export function resume(info) {
  const place = awayPlaces.get(who(info));
  if (!place) return "";
  const { peer, shown } = place;
  place.cancel();
  if (shown) say(`${info.name} is back.`);
  if (!LIVE.has(peer.pc.connectionState)) {
    removePeer(peer.id, false);
    return "back";
  }
  peers.delete(peer.id);
  peer.id = info.peer;
  peer.resumed = true;
  peer.tile.dataset.peer = info.peer;
  peers.set(info.peer, peer);
  onState(peer.id, peer);
  return "resumed";
}
