// Two real Socket.IO servers on @socket.io/postgres-adapter 0.5.0 and three real clients, driven by
// BroadcastNodeInteropTest: one JSON command per stdin line, one JSON event per stdout line.
import { createServer } from "node:http";
import readline from "node:readline";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createAdapter } from "@socket.io/postgres-adapter";
import { Emitter as NodeEmitter } from "@socket.io/postgres-emitter";
import pg from "pg";

const prefix = process.env.PGKIT_CHANNEL_PREFIX;
const pool = new pg.Pool({ connectionString: process.env.PGKIT_NODE_URL, max: 8 });
const errors = [];
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const encode = (v) => (v instanceof ArrayBuffer || ArrayBuffer.isView(v))
  ? { binary: Buffer.from(v instanceof ArrayBuffer ? new Uint8Array(v) : v).toString("base64") } : v;

const servers = [];
for (let i = 0; i < 2; i++) {
  const http = createServer();
  const io = new Server(http);
  io.adapter(createAdapter(pool, { channelPrefix: prefix, errorHandler: (e) => { errors.push(String(e)); out({ type: "adapter-error", server: i, error: String(e) }); } }));
  io.on("connection", (socket) => {
    const room = socket.handshake.query.room;
    if (room) socket.join(room);
    socket.data = { name: socket.handshake.query.name, server: i };
  });
  // server-side events from Java (or the other server)
  io.on("ping-node", (...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    out({ type: "server-event", server: i, event: "ping-node", args: args.map(encode) });
    if (cb) cb({ server: i, echo: args[0] });
  });
  io.on("ping-java", (...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (cb) cb("node" + i);
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  servers.push({ io, port: http.address().port });
}

const clients = {};
async function client(name, server, room) {
  const socket = connect(`http://127.0.0.1:${servers[server].port}`, { transports: ["websocket"], query: room ? { name, room } : { name }, reconnection: false });
  socket.onAny((event, ...args) => out({ type: "client-event", client: name, event, args: args.map(encode) }));
  socket.on("ack-me", (cb) => cb("ok:" + name));
  socket.on("disconnect", (reason) => out({ type: "client-disconnect", client: name, reason }));
  await new Promise((resolve) => socket.on("connect", resolve));
  clients[name] = socket;
}
await client("c1", 0, "r1");
await client("c2", 1, "r2");
await client("c3", 1, null);
await new Promise((resolve) => setTimeout(resolve, 1000)); // the adapters' LISTEN clients are connected
out({ type: "ready" });

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const c = JSON.parse(line);
  const reply = (o) => out({ type: "reply", id: c.id, ...o });
  try {
    switch (c.cmd) {
      case "serverCount":
        reply({ counts: await Promise.all(servers.map((s) => s.io.of("/").adapter.serverCount())) });
        break;
      case "serverSideEmitWithAck":
        servers[c.server].io.serverSideEmit(c.event, ...c.args, (err, responses) => reply({ err: err ? String(err.message) : null, responses }));
        break;
      case "fetchSockets": {
        const sockets = await servers[c.server].io.fetchSockets();
        reply({ ids: sockets.map((s) => s.data.name).sort() });
        break;
      }
      case "emitWithAck":
        servers[c.server].io.timeout(2000).emit("ack-me", (err, responses) => reply({ err: err ? String(err.message) : null, responses }));
        break;
      case "nodeEmitter":
        new NodeEmitter(pool, "/", { channelPrefix: prefix }).emit(c.event, ...c.args);
        reply({});
        break;
      case "errors":
        reply({ errors });
        break;
      case "exit":
        reply({});
        for (const s of Object.values(clients)) s.close();
        for (const s of servers) s.io.close();
        await pool.end().catch(() => {});
        process.exit(0);
    }
  } catch (e) {
    reply({ failure: String(e) });
  }
}
