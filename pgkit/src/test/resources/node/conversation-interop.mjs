// Stands in for BuilderBot's Node adapter (@builderbot/database-postgres, not on npm here) in
// ConversationNodeTest: the statements its documentation gives, sent through the real node-postgres,
// with parameters as node-postgres sends them (untyped text, options as JSON.stringify).
//
// Environment: PGKIT_NODE_URL (a postgres:// URL whose search_path is the test's schema).
// Stdin: {"phone", "concurrent", "contactSaves": [{"values", "action"}], "readPhone"}.
//  1. "concurrent" saves of first messages of "phone" at once (save(ctx) -> save_or_update_history_and_contact);
//  2. the contact saves in order, as the adapter's saveContact: getContact, merge ('a') or not ('u') in the client,
//     then save_or_update_contact;
//  3. getPrevByNumber("readPhone") and getContact("readPhone") (rows a Java service wrote).
// Stdout: the last line is {"saved", "failed", "prev", "contact"}.
import pg from "pg";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

const input = await readStdin();
const pool = new pg.Pool({ connectionString: process.env.PGKIT_NODE_URL, max: 8 });

async function save(ctx) {
  const values = [ctx.ref, ctx.keyword, ctx.answer, ctx.refSerialize, ctx.from, JSON.stringify(ctx.options)];
  await pool.query("SELECT save_or_update_history_and_contact($1, $2, $3, $4, $5, $6)", values);
}

async function getContact(ctx) {
  const result = await pool.query("SELECT * FROM contact WHERE phone = $1 LIMIT 1", [ctx.from]);
  return result.rows[0];
}

async function saveContact(ctx) {
  const contact = await getContact(ctx);
  const values = (ctx.action ?? "a") === "a" ? { ...(contact?.values ?? {}), ...(ctx.values ?? {}) } : (ctx.values ?? {});
  await pool.query("SELECT save_or_update_contact($1, $2)", [ctx.from, JSON.stringify(values)]);
}

async function getPrevByNumber(from) {
  const result = await pool.query("SELECT * FROM history WHERE phone = $1 ORDER BY created_at DESC LIMIT 1", [from]);
  const row = result.rows[0];
  if (row) {
    row.refSerialize = row.refserialize;
    delete row.refserialize;
  }
  return row;
}

let saved = 0;
const failed = [];
await Promise.all(Array.from({ length: input.concurrent }, (_, i) =>
  save({ ref: `ref-${i}`, keyword: "hola", answer: `message ${i}`, refSerialize: `flow#${i}`, from: input.phone, options: { i } })
    .then(() => { saved++; }, (e) => { failed.push(String(e.message)); })));
for (const step of input.contactSaves) {
  await saveContact({ from: input.phone, values: step.values, action: step.action });
}
const prev = await getPrevByNumber(input.readPhone);
const contact = await getContact({ from: input.readPhone });
await pool.end();
console.log(JSON.stringify({ saved, failed, prev, contact }));
