// Drives the Node adapter @chat-adapter/state-pg for NodeInteropTest.
//
// Environment: PGKIT_NODE_URL (a postgres:// URL whose search_path is the test's schema),
// PGKIT_NODE_KEY_PREFIX and PGKIT_NODE_AUTO_CREATE ("true": the adapter runs its own CREATE TABLE IF NOT
// EXISTS; otherwise it only verifies the tables it finds, as a migration-owned deployment does). Stdin: a JSON array of steps {"op": "<adapter method>", "args": [...]}, run in
// order on one adapter. In args, {"$now": n} becomes Date.now() + n and {"$result": i} the value of step i.
// Stdout: the last line is a JSON array with one {"ok", "value" | "error", "args"} per step (args as
// resolved, so the caller sees the timestamps it sent). Exit status 2 when connect() fails.
import { createPostgresState } from "@chat-adapter/state-pg";

const OPS = new Set([
  "subscribe", "unsubscribe", "isSubscribed",
  "acquireLock", "releaseLock", "forceReleaseLock", "extendLock",
  "get", "set", "setIfNotExists", "delete",
  "appendToList", "getList",
  "enqueue", "dequeue", "queueDepth",
]);

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function resolve(value, results) {
  if (Array.isArray(value)) {
    return value.map((v) => resolve(v, results));
  }
  if (value !== null && typeof value === "object") {
    if (Object.hasOwn(value, "$now")) {
      return Date.now() + value.$now;
    }
    if (Object.hasOwn(value, "$result")) {
      return results[value.$result].value;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, results)]));
  }
  return value;
}

const steps = JSON.parse(await readStdin());
const state = createPostgresState({
  url: process.env.PGKIT_NODE_URL,
  keyPrefix: process.env.PGKIT_NODE_KEY_PREFIX,
  autoCreateSchema: process.env.PGKIT_NODE_AUTO_CREATE === "true",
  logger: { debug() {}, info() {}, warn() {}, error() {}, child() { return this; } },
});
try {
  await state.connect();
} catch (error) {
  process.stderr.write(`connect failed: ${error?.stack ?? error}\n`);
  process.exit(2);
}

const results = [];
try {
  for (const step of steps) {
    const args = resolve(step.args ?? [], results);
    if (!OPS.has(step.op)) {
      results.push({ ok: false, error: `unknown op ${step.op}`, args });
      continue;
    }
    try {
      const value = await state[step.op](...args);
      results.push({ ok: true, value: value === undefined ? null : value, args });
    } catch (error) {
      results.push({ ok: false, error: String(error?.message ?? error), args });
    }
  }
} finally {
  await state.disconnect();
}
process.stdout.write(`\n${JSON.stringify(results)}\n`);
