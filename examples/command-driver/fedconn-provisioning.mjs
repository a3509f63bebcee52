#!/usr/bin/env node
// A complete command driver (docs/drivers.md): it sets up test state on a server
// under test for fedconn, speaking fedconn's command-driver protocol, version 1, on
// stdin/stdout. This one wraps fedconn's own provisioning API, so the reference
// (`fedconn serve`) can be tested through a command driver exactly as a third-party
// server would be; copy it and replace each verb's body with your server's own way.
//
// Configure it in the target config:
//   "driver": { "kind": "command",
//               "command": ["node", "examples/command-driver/fedconn-provisioning.mjs"],
//               "env": { "FEDCONN_PROVISIONING_TOKEN": "..." } }
//
// Protocol: one JSON request per line on stdin, {"id", "verb", "args"}; one JSON answer
// per line on stdout, {"id", "ok": true, "result"} or
// {"id", "ok": false, "error": {"code", "message"}}. Logs go to stderr, never stdout.
// The first request is "hello"; its answer lists the verbs this program knows. End of
// stdin means stop.
import { createInterface } from 'node:readline';

const token = process.env.FEDCONN_PROVISIONING_TOKEN;
let baseUrl = process.env.FEDCONN_BASE_URL; // hello's base_url is used when this is unset

async function provision(op, body) {
  const response = await fetch(`${baseUrl}/_fedconn/v1/provision/identity/${op}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${op} answered ${response.status} ${text}`);
  return JSON.parse(text);
}

// Each verb: arguments in, result out (docs/drivers.md lists them all).
const verbs = {
  'identity.token': async ({ user_id }) => ({
    token: (await provision('token', { user_id })).token,
  }),
  'identity.expiring_token': async ({ user_id, expires_in_ms }) => ({
    token: (await provision('token', { user_id, expires_in_ms })).token,
  }),
  'identity.bind': async ({ medium, address, user_id }) => {
    await provision('bind', { medium, address, user_id });
    return {};
  },
  'identity.rotate_pepper': async () => {
    await provision('pepper/rotate', {});
    return {};
  },
  'identity.retire_pepper': async ({ pepper }) => {
    await provision('pepper/retire', { pepper });
    return {};
  },
  'identity.push': async ({ destination, addresses, pepper }) => {
    const report = await provision('push', {
      destination,
      addresses,
      ...(pepper ? { pepper } : {}),
    });
    return { ...(report.answer ? { status: report.answer.status } : {}), report };
  },
  'identity.push_raw': async ({ destination, content }) => {
    const report = await provision('push', { destination, content });
    return { ...(report.answer ? { status: report.answer.status } : {}), report };
  },
};

function answer(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    process.stderr.write(`not JSON: ${line}\n`);
    return;
  }
  const { id, verb, args } = request;
  if (verb === 'hello') {
    baseUrl ??= args.base_url;
    if (!token) {
      answer({
        id,
        ok: false,
        error: { code: 'failed', message: 'set FEDCONN_PROVISIONING_TOKEN' },
      });
      return;
    }
    answer({ id, ok: true, result: { protocol: 1, verbs: Object.keys(verbs) } });
    return;
  }
  const run = verbs[verb];
  if (run === undefined) {
    answer({ id, ok: false, error: { code: 'unknown_verb', message: `no verb ${verb}` } });
    return;
  }
  try {
    answer({ id, ok: true, result: await run(args) });
  } catch (error) {
    answer({ id, ok: false, error: { code: 'failed', message: String(error?.message ?? error) } });
  }
});
lines.on('close', () => process.exit(0));
