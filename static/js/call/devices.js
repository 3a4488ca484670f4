// The device check: which cameras and microphones there are, and how loud the microphone is.
import { $ } from "./dom.js";

export async function fillDevicePickers() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind] of [[$("camera"), "videoinput"], [$("microphone"), "audioinput"]]) {
    const chosen = select.value;
    select.replaceChildren();
    devices.filter((d) => d.kind === kind).forEach((d, i) => {
      const option = new Option(d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`, d.deviceId);
      select.append(option);
    });
    if (chosen) select.value = chosen;
  }
}

let meterContext = null;
export function watchLevel(stream) {
  const track = stream.getAudioTracks()[0];
  if (!track) return;
  meterContext?.close();
  meterContext = new AudioContext();
  const analyser = meterContext.createAnalyser();
  meterContext.createMediaStreamSource(stream).connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  const tick = () => {
    if (meterContext.state === "closed") return;
    analyser.getByteTimeDomainData(data);
    let peak = 0;
    for (const v of data) peak = Math.max(peak, Math.abs(v - 128) / 128);
    $("mic-level").value = peak;
    requestAnimationFrame(tick);
  };
  tick();
}

export function stopLevel() {
  meterContext?.close();
}
