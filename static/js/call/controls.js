// The controls of the call: mute, camera, audio only and low bandwidth (and the offer of audio
// only on a weak link), screen share, leaving and ending, and the chat over the data channels.
import { addChatLine } from "./chat.js";
import { $, setLabel } from "./dom.js";
import { myState, setMyState, whenTheyWish } from "./peer_state.js";
import { call, peers, send } from "./state.js";

$("mute").addEventListener("click", (event) => {
  const muted = event.currentTarget.getAttribute("aria-pressed") !== "true";
  call.localStream.getAudioTracks().forEach((t) => (t.enabled = !muted));
  event.currentTarget.setAttribute("aria-pressed", String(muted));
  setLabel(event.currentTarget, muted ? "Unmute" : "Mute");
  setMyState({ muted });
});

$("camera-toggle").addEventListener("click", (event) => {
  const off = event.currentTarget.getAttribute("aria-pressed") !== "true";
  call.localStream.getVideoTracks().forEach((t) => (t.enabled = !off));
  event.currentTarget.setAttribute("aria-pressed", String(off));
  setLabel(event.currentTarget, off ? "Turn camera on" : "Turn camera off");
  setMyState({ camera: !off });
});

// Audio only and low bandwidth: what this side sends, set on each video sender (setParameters),
// and the other side stops sending video to someone who chose audio only.
const LOW = { maxBitrate: 150_000, maxFramerate: 10, scaleResolutionDownBy: 4 };
export async function tuneVideo(peer) {
  const theirs = peer.tile.state || {};
  for (const sender of peer.pc.getSenders()) {
    if (sender.track?.kind !== "video") continue;
    const parameters = sender.getParameters();
    if (!parameters.encodings?.length) continue;
    const off = myState().audioOnly || theirs.audioOnly;
    for (const encoding of parameters.encodings) {
      encoding.active = !off;
      if (myState().lowBandwidth || theirs.lowBandwidth) Object.assign(encoding, LOW);
      else {
        delete encoding.maxBitrate;
        delete encoding.maxFramerate;
        encoding.scaleResolutionDownBy = 1;
      }
    }
    await sender.setParameters(parameters).catch(() => {});
  }
}
whenTheyWish((peer) => tuneVideo(peer));
function tuneAll() {
  for (const peer of peers.values()) tuneVideo(peer);
}

$("audio-only").addEventListener("click", (event) => {
  const on = event.currentTarget.getAttribute("aria-pressed") !== "true";
  event.currentTarget.setAttribute("aria-pressed", String(on));
  setLabel(event.currentTarget, on ? "Back to video" : "Audio only");
  $("weak-offer").hidden = true;
  setMyState({ audioOnly: on });
  // The server hears only which medium the session is in (for its charge's modifier), never more.
  send("medium", { audio_only: on });
  tuneAll();
});
$("low-bandwidth").addEventListener("click", (event) => {
  const on = event.currentTarget.getAttribute("aria-pressed") !== "true";
  event.currentTarget.setAttribute("aria-pressed", String(on));
  setMyState({ lowBandwidth: on });
  tuneAll();
});
$("weak-accept").addEventListener("click", () => {
  if ($("audio-only").getAttribute("aria-pressed") !== "true") $("audio-only").click();
});
$("weak-dismiss").addEventListener("click", () => {
  $("weak-offer").hidden = true;
  weakDismissed = true;
});

// Offered by itself: when the measured outgoing bandwidth stays under 200 kbit/s for 10 seconds.
let weakSince = 0;
let weakDismissed = false;
export function judgeBandwidth(availableOutgoingBitrate) {
  if (!availableOutgoingBitrate) return;
  if (availableOutgoingBitrate >= 200_000) {
    weakSince = 0;
    if (myState().weakLink) setMyState({ weakLink: false });
    return;
  }
  weakSince ||= Date.now();
  if (Date.now() - weakSince <= 10_000) return;
  // Weak for ten seconds: the other side is told (their "Poor connection"), and this side is
  // offered audio only, once.
  if (!myState().weakLink) setMyState({ weakLink: true });
  if (!myState().audioOnly && !weakDismissed) $("weak-offer").hidden = false;
}

// Screen share: the camera's place in every call is taken by the screen, and given back.
let screenTrack = null;
async function replaceVideo(track) {
  for (const peer of peers.values()) {
    const sender = peer.pc.getSenders().find((s) => s.track?.kind === "video" || s.track === null);
    if (sender) await sender.replaceTrack(track);
  }
}
async function stopSharing() {
  if (!screenTrack) return;
  screenTrack.stop();
  screenTrack = null;
  await replaceVideo(call.localStream.getVideoTracks()[0] || null);
  $("self-view").srcObject = call.localStream;
  $("share").setAttribute("aria-pressed", "false");
  setLabel($("share"), "Share screen");
  setMyState({ sharing: false });
}
if (!navigator.mediaDevices?.getDisplayMedia) $("share").hidden = true;
$("share").addEventListener("click", async () => {
  if (screenTrack) {
    await stopSharing();
    return;
  }
  try {
    const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    screenTrack = display.getVideoTracks()[0];
  } catch {
    return; // they chose not to share
  }
  screenTrack.addEventListener("ended", stopSharing);
  await replaceVideo(screenTrack);
  $("self-view").srcObject = new MediaStream([screenTrack]);
  $("share").setAttribute("aria-pressed", "true");
  setLabel($("share"), "Stop sharing");
  setMyState({ sharing: true });
});

$("hangup").addEventListener("click", () => {
  send("leave");
});

$("end")?.addEventListener("click", () => {
  if (confirm("End the session for everyone? Nobody will be able to join again.")) send("end");
});

// Chat: over each peer's data channel, never through the server ------------------------------

$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("chat-input").value.trim().slice(0, 2000);
  if (!text) return;
  let sent = false;
  for (const peer of peers.values()) {
    if (peer.chat?.readyState === "open") {
      peer.chat.send(text);
      sent = true;
    }
  }
  if (sent) {
    addChatLine("You", text);
    $("chat-input").value = "";
  }
});

