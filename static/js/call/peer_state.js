// What each side tells the other about itself (muted, camera off, sharing the screen), over a
// data channel of its own: peer to peer, never through the server.
// "confirmed": the security codes this person said match what the other side reads out.
const mine = { muted: false, camera: true, sharing: false, audioOnly: false, lowBandwidth: false, confirmed: [] };
const channels = new Set();

export function myState() {
  return mine;
}

export function setMyState(change) {
  Object.assign(mine, change);
  const text = JSON.stringify(mine);
  for (const channel of channels) if (channel.readyState === "open") channel.send(text);
}

const BADGES = [
  ["muted", true, "Muted"],
  ["camera", false, "Camera off"],
  ["sharing", true, "Sharing their screen"],
  ["audioOnly", true, "Audio only"],
  ["lowBandwidth", true, "Low bandwidth"],
];
// Called when the other side's wish about video changes (audio only: send them none).
let onTheirWish = () => {};
export function whenTheyWish(callback) {
  onTheirWish = callback;
}

export function showTheirState(tile, state) {
  tile.dataset.muted = String(Boolean(state.muted));
  tile.dataset.camera = state.camera === false || state.audioOnly ? "off" : "on";
  tile.dataset.audioOnly = String(Boolean(state.audioOnly));
  tile.dataset.sharing = String(Boolean(state.sharing));
  const badges = tile.querySelector(".badges");
  badges.replaceChildren();
  for (const [key, value, label] of BADGES) {
    if (state[key] === value) {
      const badge = document.createElement("span");
      badge.className = `badge badge-${key}`;
      badge.textContent = label;
      badges.append(badge);
    }
  }
  // Both people confirmed the code of this connection (each pressed "Same code on both
  // screens" for the code the connection derived): nobody is in the middle of it.
  const code = tile.querySelector(".security-code")?.dataset.code;
  const verified = Boolean(code) && tile.dataset.confirmed === code && (state.confirmed || []).includes(code);
  tile.dataset.verified = String(verified);
  if (verified) {
    const badge = document.createElement("span");
    badge.className = "badge badge-verified";
    badge.textContent = "Encrypted, code verified";
    badges.append(badge);
  }
  // Poor: what this side measures of their media, or their own word that their link is weak.
  if (tile.dataset.quality === "poor" || state.weakLink) {
    const badge = document.createElement("span");
    badge.className = "badge badge-poor";
    badge.textContent = "Poor connection";
    badges.append(badge);
  }
  tile.state = state;
}

export function attachState(peer, channel) {
  channels.add(channel);
  channel.addEventListener("open", () => channel.send(JSON.stringify(mine)));
  channel.addEventListener("close", () => channels.delete(channel));
  channel.addEventListener("message", (event) => {
    if (typeof event.data !== "string" || event.data.length > 500) return;
    try {
      const state = JSON.parse(event.data);
      if (state && typeof state === "object") {
        showTheirState(peer.tile, state);
        onTheirWish(peer, state);
      }
    } catch {
      // not ours: ignore
    }
  });
}

// Poor connection, from getStats: more than 5% of packets lost since the last look, or video
// arriving at fewer than 5 frames a second while the camera is on.
export function judgeQuality(peer, inbound) {
  const last = peer.lastInbound || {};
  const lost = (inbound.packetsLost || 0) - (last.packetsLost || 0);
  const received = (inbound.packetsReceived || 0) - (last.packetsReceived || 0);
  const frames = (inbound.framesDecoded || 0) - (last.framesDecoded || 0);
  const seconds = last.timestamp ? (inbound.timestamp - last.timestamp) / 1000 : 0;
  peer.lastInbound = inbound;
  if (!seconds) return;
  const lossy = lost + received > 0 && lost / (lost + received) > 0.05;
  const slow = peer.tile.dataset.camera !== "off" && frames / seconds < 5;
  const quality = lossy || slow ? "poor" : "good";
  if (peer.tile.dataset.quality !== quality) {
    peer.tile.dataset.quality = quality;
    showTheirState(peer.tile, peer.tile.state || {});
  }
}

// This person says the code on a tile matches what the other side reads out.
export function confirmCode(tile) {
  const code = tile.querySelector(".security-code")?.dataset.code;
  if (!code) return;
  tile.dataset.confirmed = code;
  if (!mine.confirmed.includes(code)) setMyState({ confirmed: [...mine.confirmed, code].slice(-8) });
  showTheirState(tile, tile.state || {});
}
