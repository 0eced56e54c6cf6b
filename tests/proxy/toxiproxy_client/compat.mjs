// A third-party Toxiproxy client, toxiproxy-node-client 4.1.0 (npm; pinned in package-lock.json),
// drives `faultline proxy` as it would drive Toxiproxy: version, create, update (disable and enable
// again), toxics (add, get, update, remove), populate, list, reset, delete — and the toxic it adds
// really delays bytes through the proxy (an echo server upstream). Run by CTest
// (tests/proxy/CMakeLists.txt): node compat.mjs FAULTLINE_BINARY. Exit 0 pass, 1 fail, 77 skip
// (the client is not installed: scripts/install-deploy-tools installs it).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let client;
try {
  client = require("toxiproxy-node-client");
} catch {
  console.log("toxiproxy-node-client is not installed (bash scripts/install-deploy-tools)");
  process.exit(77);
}
const { Toxiproxy } = client;

const bin = process.argv[2];
const proxyProcess = spawn(bin, ["proxy", "--api", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "inherit"] });
const api = await new Promise((resolve, reject) => {
  let out = "";
  const timer = setTimeout(() => reject(new Error("faultline proxy did not say where it listens")), 15000);
  proxyProcess.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on (\S+)/);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  proxyProcess.on("exit", (code) => reject(new Error(`faultline proxy exited with ${code}`)));
});

// An echo server upstream, and the time one line takes through a proxy.
const echo = net.createServer((s) => s.pipe(s));
await new Promise((r) => echo.listen(0, "127.0.0.1", r));
const upstream = `127.0.0.1:${echo.address().port}`;
async function roundTripMs(listen) {
  const [host, port] = [listen.slice(0, listen.lastIndexOf(":")), Number(listen.slice(listen.lastIndexOf(":") + 1))];
  const sock = net.connect(port, host);
  await new Promise((r, j) => { sock.once("connect", r); sock.once("error", j); });
  const t0 = performance.now();
  sock.write("ping\n");
  await new Promise((r, j) => { sock.once("data", r); sock.once("error", j); });
  const ms = performance.now() - t0;
  sock.destroy();
  return ms;
}
async function median(listen, n = 5) {
  const xs = [];
  for (let i = 0; i < n; ++i) xs.push(await roundTripMs(listen));
  xs.sort((a, b) => a - b);
  return xs[Math.floor(n / 2)];
}

let failed = false;
try {
  const t = new Toxiproxy(`http://${api}`);
  const version = JSON.parse(await t.getVersion());
  assert.equal(version.version, "2.12.0");  // the Toxiproxy API faultline follows (docs/proxy.md#version)

  let p = await t.createProxy({ name: "echo", listen: "127.0.0.1:0", upstream });
  assert.equal(p.name, "echo");
  assert.equal(p.upstream, upstream);
  assert.equal(p.enabled, true);
  assert.match(p.listen, /^127\.0\.0\.1:\d+$/);
  const listen = p.listen;
  const before = await median(listen);

  p = await p.update({ enabled: false, listen, upstream });
  assert.equal(p.enabled, false);
  p = await p.update({ enabled: true, listen, upstream });
  assert.equal(p.enabled, true);

  const toxic = await p.addToxic({ name: "lat", type: "latency", stream: "downstream", toxicity: 1,
                                   attributes: { latency: 200, jitter: 0 } });
  assert.equal(toxic.name, "lat");
  const got = await p.getToxic("lat");
  assert.deepEqual([got.type, got.stream, got.toxicity, got.attributes.latency], ["latency", "downstream", 1, 200]);
  const slow = await median(listen);
  assert.ok(slow >= 190, `a 200 ms latency toxic gave a ${slow.toFixed(1)} ms round trip`);

  const updated = await got.update({ attributes: { latency: 400, jitter: 0 }, toxicity: 1 });
  assert.equal(updated.attributes.latency, 400);
  await updated.remove();
  const after = await median(listen);
  assert.ok(after < 150 + before, `after the toxic was removed: ${after.toFixed(1)} ms (before: ${before.toFixed(1)} ms)`);

  const populated = await t.populate([{ name: "cache", listen: "127.0.0.1:0", upstream, enabled: true }]);
  assert.deepEqual(Object.keys(populated), ["cache"]);
  assert.deepEqual(Object.keys(await t.getAll()).sort(), ["cache", "echo"]);
  assert.equal((await t.get("cache")).upstream, upstream);

  await (await t.get("echo")).addToxic({ name: "down", type: "timeout", stream: "upstream", toxicity: 1, attributes: { timeout: 0 } });
  await t.reset();  // removes every toxic and enables every proxy, as Toxiproxy's does
  assert.equal(await median(listen) < 150 + before, true);

  await (await t.get("cache")).remove();
  await (await t.get("echo")).remove();
  assert.deepEqual(Object.keys(await t.getAll()), []);
  console.log(`toxiproxy-node-client 4.1.0 against faultline proxy: all calls answered as Toxiproxy; ` +
              `round trip ${before.toFixed(1)} ms, ${slow.toFixed(1)} ms with a 200 ms latency toxic`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  proxyProcess.kill("SIGTERM");
  echo.close();
}
process.exit(failed ? 1 : 0);
