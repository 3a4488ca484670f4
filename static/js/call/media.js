// The camera and microphone: opened before the call (the device check), switched during it
// without renegotiating, and the speaker chosen where the browser lets a page choose it.
import { fillDevicePickers, watchLevel } from "./devices.js";
import { $ } from "./dom.js";
import { prepare } from "./peers.js";
import { call, peers } from "./state.js";

export async function openDevices() {
  const camera = $("camera").value;
  const microphone = $("microphone").value;
  const constraints = {
    video: camera ? { deviceId: { exact: camera } } : true,
    audio: microphone ? { deviceId: { exact: microphone } } : true,
  };
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    // A switch in the middle of a call keeps what the person chose: muted stays muted.
    stream.getAudioTracks().forEach((t) => (t.enabled = $("mute").getAttribute("aria-pressed") !== "true"));
    stream.getVideoTracks().forEach((t) => (t.enabled = $("camera-toggle").getAttribute("aria-pressed") !== "true"));
    call.localStream?.getTracks().forEach((t) => t.stop());
    call.localStream = stream;
    $("preview").srcObject = stream;
    $("self-view").srcObject = stream;
    await fillDevicePickers();
    $("devices-result").textContent = "Camera and microphone work";
    $("devices").dataset.state = "ok";
    watchLevel(stream);
    if (call.prepared) prepare(); // its offer carries the tracks it was made with
    // Already in a call: switch what the others receive without renegotiating.
    for (const peer of peers.values()) {
      for (const sender of peer.pc.getSenders()) {
        const next = stream.getTracks().find((t) => t.kind === sender.track?.kind);
        if (next) await sender.replaceTrack(next);
      }
    }
  } catch (error) {
    $("devices-result").textContent =
      "We could not use your camera or microphone. Check your browser's permission for this site, then reload.";
    $("devices").dataset.state = "failed";
  }
}

$("camera").addEventListener("change", openDevices);
$("microphone").addEventListener("change", openDevices);

// The same choices inside the call, and the speaker where the browser lets a page choose it.
async function fillCallDevices() {
  for (const [inCall, setUp] of [["call-camera", "camera"], ["call-microphone", "microphone"]]) {
    $(inCall).replaceChildren(...[...$(setUp).options].map((o) => new Option(o.text, o.value)));
    $(inCall).value = $(setUp).value;
  }
  const canChoose = typeof HTMLMediaElement.prototype.setSinkId === "function";
  const speakers = canChoose
    ? (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audiooutput")
    : [];
  $("call-speaker-field").hidden = !speakers.length;
  $("call-speaker").replaceChildren(
    ...speakers.map((d, i) => new Option(d.label || `Speaker ${i + 1}`, d.deviceId)),
  );
}
$("devices-toggle").addEventListener("click", async () => {
  // Not event.currentTarget: it is null once the listener has awaited.
  const panel = $("devices-panel");
  if (panel.hidden) await fillCallDevices();
  panel.hidden = !panel.hidden;
  $("devices-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  if (!panel.hidden) $("call-camera").focus();
});
$("devices-close").addEventListener("click", () => {
  $("devices-panel").hidden = true;
  $("devices-toggle").setAttribute("aria-expanded", "false");
  $("devices-toggle").focus();
});
for (const [inCall, setUp] of [["call-camera", "camera"], ["call-microphone", "microphone"]]) {
  $(inCall).addEventListener("change", async () => {
    $(setUp).value = $(inCall).value;
    await openDevices();
  });
}
$("call-speaker").addEventListener("change", async () => {
  for (const video of document.querySelectorAll(".tile[data-peer] video")) {
    await video.setSinkId($("call-speaker").value).catch(() => {});
  }
  document.body.dataset.speaker = $("call-speaker").value;
});
