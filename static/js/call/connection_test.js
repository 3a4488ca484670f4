// The connection test: a real WebRTC call to a test peer on the server, which sends the camera
// back and answers on a data channel, so the person sees whether calls work and how fast.
import { $, config, csrf } from "./dom.js";


export async function fetchIce() {
  const response = await fetch(config.iceServers, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error("no ICE servers");
  return response.json();
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => pc.iceGatheringState === "complete" && resolve();
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 3000); // use what was gathered so far
  });
}

function waitFor(predicate, ms) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (predicate()) resolve();
      else if (Date.now() - started > ms) reject(new Error("timeout"));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

export async function runConnectionTest(openStream) {
  const result = $("test-result");
  const button = $("run-test");
  button.disabled = true;
  result.textContent = "Checking your connection…";
  delete result.dataset.state;
  let pc = null;
  try {
    const localStream = await openStream();
    const ice = await fetchIce();
    pc = new RTCPeerConnection({ iceServers: ice.iceServers, iceTransportPolicy: ice.iceTransportPolicy });
    localStream.getTracks().forEach((t) => pc.addTrack(t, localStream));
    const channel = pc.createDataChannel("rtt");
    const echoed = new MediaStream();
    pc.addEventListener("track", (event) => {
      echoed.addTrack(event.track);
      $("echo").srcObject = echoed;
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const response = await fetch(config.connectionTest, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.detail || "The test peer refused.");
    await pc.setRemoteDescription(answer);
    await waitFor(() => pc.connectionState === "connected" && channel.readyState === "open", 15000);
    const times = [];
    for (let i = 0; i < 5; i++) {
      const sent = performance.now();
      const back = new Promise((resolve) => channel.addEventListener("message", resolve, { once: true }));
      channel.send(String(sent));
      await back;
      times.push(performance.now() - sent);
    }
    times.sort((a, b) => a - b);
    const rtt = Math.round(times[Math.floor(times.length / 2)]);
    result.dataset.rtt = String(rtt);
    result.dataset.state = "ok";
    result.textContent = `Connection good (${rtt} ms round trip)`;
    setTimeout(() => pc.close(), 3000);
  } catch (error) {
    result.dataset.state = "failed";
    result.textContent =
      "We could not connect from this network. A firewall or public network may be blocking calls; try another network.";
    pc?.close();
  } finally {
    button.disabled = false;
  }
}
