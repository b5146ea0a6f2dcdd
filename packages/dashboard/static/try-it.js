// The "Try it" page: an MQTT 5.0 client over WebSocket in the page, with mqtt.js's
// browser bundle served by this server (loaded only when the user connects),
// to subscribe and publish with a broker credential without installing anything.
import { $, row } from "./dom.js";

const MAX_SHOWN = 200;
let loading;

// mqtt.min.js defines the global `mqtt`; it is added as a script of this server (CSP 'self'), once.
function loadMqtt() {
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/dashboard/mqtt.min.js";
    script.onload = () => resolve(globalThis.mqtt);
    script.onerror = () => {
      loading = undefined;
      reject(new Error("This server has no MQTT client library to offer (mqtt.min.js is missing from the installed @edgemq/dashboard); reinstall it."));
    };
    document.head.appendChild(script);
  });
  return loading;
}

/** Sets up the Try it page; its client lives until Disconnect or the tab closes. */
export function tryItPage() {
  let client;
  const status = (text, error = false) => {
    $("tryit-status").textContent = text;
    $("tryit-status").classList.toggle("error", error);
  };
  const connected = (on) => {
    $("tryit-session").disabled = !on;
    $("tryit-disconnect").disabled = !on;
    $("tryit-connect").querySelector("button[type=submit]").disabled = on;
  };
  if ($("tryit-client-id").value === "") $("tryit-client-id").value = `dashboard-${Math.random().toString(16).slice(2, 10)}`;
  // The broker's WebSocket port is the server's --ws-port, which this page cannot know: the user gives it.
  $("tryit-url").placeholder = `${location.protocol === "https:" ? "wss" : "ws"}://${location.hostname}:<ws port>/mqtt`;

  const received = (topic, payload, packet) => {
    const text = new TextDecoder().decode(payload);
    const tbody = $("tryit-messages").tBodies[0];
    tbody.prepend(row([new Date().toLocaleTimeString(), topic, String(packet.qos), text], { topic }));
    while (tbody.rows.length > MAX_SHOWN) tbody.lastElementChild.remove();
  };

  $("tryit-connect").addEventListener("submit", async (event) => {
    event.preventDefault();
    client?.end(true);
    status("Connecting…");
    try {
      const mqtt = await loadMqtt();
      const url = $("tryit-url").value.trim();
      if (!/^wss?:\/\//.test(url)) throw new Error(`${url} is not a WebSocket URL: give ws://host:port/mqtt or wss://…`);
      const c = mqtt.connect(url, {
        protocolVersion: 5, clientId: $("tryit-client-id").value.trim(), username: $("tryit-username").value,
        password: $("tryit-password").value, reconnectPeriod: 0, connectTimeout: 10_000,
      });
      client = c;
      c.on("connect", () => { status(`Connected to ${url} as ${c.options.clientId}.`); connected(true); });
      c.on("message", received);
      c.on("error", (e) => status(`Refused: ${e.message}`, true));
      c.on("disconnect", (p) => status(`The broker disconnected this client (reason 0x${(p.reasonCode ?? 0).toString(16)}).`, true));
      c.on("close", () => { if (client === c) connected(false); });
    } catch (e) {
      status(e.message, true);
    }
  });

  $("tryit-disconnect").addEventListener("click", () => {
    client?.end();
    client = undefined;
    connected(false);
    status("Not connected.");
  });

  $("tryit-subscribe").addEventListener("submit", async (event) => {
    event.preventDefault();
    const filter = $("tryit-filter").value.trim();
    try {
      const granted = await client.subscribeAsync(filter, { qos: Number($("tryit-sub-qos").value) });
      const code = granted[0]?.qos ?? 0x80;
      status(code < 0x80 ? `Subscribed to ${filter} (QoS ${code}).` : `The broker refused the subscription to ${filter} (reason 0x${code.toString(16)}).`, code >= 0x80);
    } catch (e) {
      status(`Subscribe failed: ${e.message}`, true);
    }
  });

  $("tryit-publish").addEventListener("submit", async (event) => {
    event.preventDefault();
    const topic = $("tryit-topic").value.trim();
    try {
      await client.publishAsync(topic, $("tryit-payload").value, { qos: Number($("tryit-pub-qos").value), retain: $("tryit-retain").checked });
      status(`Published to ${topic}.`);
    } catch (e) {
      status(`Publish failed: ${e.message}`, true);
    }
  });
}
