// The time-zone field: the device's own zone offered first, beside the practice's, and typed
// city names matched in the list (the browser's datalist does the searching).
const input = document.getElementById("id_zone");
const list = document.getElementById("zone-list");
const button = document.getElementById("zone-device");
const device = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (input && list && device && list.querySelector(`option[value="${CSS.escape(device)}"]`)) {
  const first = document.createElement("option");
  first.value = device;
  first.label = "This device's time zone";
  list.insertBefore(first, list.children[1] || null);
  button.hidden = false;
  button.textContent = `Use this device's time zone (${device.replaceAll("_", " ")})`;
  button.addEventListener("click", () => {
    input.value = device;
    input.focus();
  });
}
