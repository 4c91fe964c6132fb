#!/usr/bin/env node
// @grpc/grpc-js interop client for fleet.testing.v1.EchoService, grpc.health.v1.Health and
// grpc.reflection v1/v1alpha (via grpc-js-reflection-client).
//
// Runs named scenarios against --target and prints one JSON object per scenario per line:
//   {"scenario":"<name>","ok":true|false,"detail":"<text>","ms":<n>}
// Exit code 0 if every scenario passed, 1 if any failed, 2 on usage errors. See ../README.md.
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { GrpcReflection } = require('grpc-js-reflection-client');
const { FileDescriptorProto } = require('protobufjs/ext/descriptor');

const INTEROP_PROTOS = path.resolve(__dirname, '..', 'protos');
const REPO_PROTOS = path.resolve(__dirname, '..', '..', '..', 'protos');
const ECHO_FILE = 'fleet/testing/v1/echo.proto';
const HEALTH_FILE = 'grpc/health/v1/health.proto';
const ECHO_SERVICE = 'fleet.testing.v1.EchoService';
const HEALTH_SERVICE = 'grpc.health.v1.Health';
const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

const MiB = 1024 * 1024;
const CALL_TIMEOUT_MS = 10000; // every call has a deadline
const BIDI_TIMEOUT_MS = 5000;
const SCENARIO_TIMEOUT_MS = 20000; // and every scenario a hard cap
const ERROR_MESSAGE = 'no such node: \u00fcn\u00efcode \u2713 100%';
const ECHO_BIN = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

const LOADER_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

const SCENARIOS = [
  'unary', 'server_streaming', 'client_streaming', 'bidi', 'error_status', 'error_after_messages',
  'deadline', 'cancellation', 'metadata', 'large_message', 'oversized_message', 'oversized_reply',
  'gzip', 'health', 'reflection',
];

class ScenarioFailed extends Error {}

function check(cond, message) {
  if (!cond) throw new ScenarioFailed(message);
}

function deadline(ms = CALL_TIMEOUT_MS) {
  return { deadline: Date.now() + ms };
}

function codeName(code) {
  const entry = Object.entries(grpc.status).find(([, v]) => v === code);
  return entry ? entry[0] : String(code);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function unary(client, method, req, metadata = new grpc.Metadata(), options = deadline()) {
  return new Promise((resolve, reject) => {
    client[method](req, metadata, options, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function expectError(promise, code, details) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    check(err.code === code,
      `expected ${codeName(code)}, got ${codeName(err.code)} (${JSON.stringify(err.details)})`);
    if (details !== undefined) {
      check(err.details === details, `details ${JSON.stringify(err.details)} != expected ${JSON.stringify(details)}`);
    }
    return err;
  }
  throw new ScenarioFailed(`expected ${codeName(code)}, call succeeded (${JSON.stringify(res).slice(0, 100)})`);
}

function statusPromise(call) {
  return new Promise((resolve) => call.on('status', resolve));
}

function parseArgs(argv) {
  const args = {
    target: null, scenarios: 'all', ca: null, serverName: null, maxReceiveBytes: 4 * MiB, list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const key = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = () => {
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (key) {
      case '--target': args.target = value(); break;
      case '--scenarios': args.scenarios = value(); break;
      case '--ca': args.ca = value(); break;
      case '--server-name': args.serverName = value(); break;
      case '--max-receive-bytes': args.maxReceiveBytes = parseInt(value(), 10); break;
      case '--descriptor-set': value(); break; // accepted for CLI parity with python; unused (.proto files are loaded)
      case '--list': args.list = true; break;
      case '-h': case '--help':
        args.help = true; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return args;
}

class Client {
  constructor(args) {
    this.args = args;
    const echoDef = protoLoader.loadSync(ECHO_FILE, { ...LOADER_OPTIONS, includeDirs: [INTEROP_PROTOS] });
    const healthDef = protoLoader.loadSync(HEALTH_FILE, { ...LOADER_OPTIONS, includeDirs: [REPO_PROTOS] });
    this.EchoService = grpc.loadPackageDefinition(echoDef).fleet.testing.v1.EchoService;
    this.Health = grpc.loadPackageDefinition(healthDef).grpc.health.v1.Health;
    this.creds = grpc.credentials.createInsecure();
    if (args.ca) this.creds = grpc.credentials.createSsl(fs.readFileSync(args.ca));
    this.clients = [];
    this.echo = this.make(this.EchoService);
  }

  options(extra = {}) {
    const o = {
      'grpc.max_send_message_length': 16 * MiB,
      'grpc.max_receive_message_length': this.args.maxReceiveBytes,
      'grpc.use_local_subchannel_pool': 1,
      ...extra,
    };
    if (this.args.serverName) o['grpc.ssl_target_name_override'] = this.args.serverName;
    return o;
  }

  make(Ctor, extra = {}) {
    const c = new Ctor(this.args.target, this.creds, this.options(extra));
    this.clients.push(c);
    return c;
  }

  close() {
    for (const c of this.clients) c.close();
  }

  async cancelledCalls() {
    const r = await unary(this.echo, 'Stats', {});
    return Number(r.cancelled_calls);
  }

  async waitCancelledIncrease(before, budgetMs = 3000) {
    const end = Date.now() + budgetMs;
    let last = before;
    while (Date.now() < end) { // bounded by budgetMs
      last = await this.cancelledCalls();
      if (last > before) return last;
      await sleep(50);
    }
    throw new ScenarioFailed(`Stats.cancelled_calls stayed ${last} (before ${before}) for ${budgetMs} ms`);
  }

  // --- scenarios --------------------------------------------------------------------------------
  async unary() {
    const r = await unary(this.echo, 'Echo',
      { text: 'hello fleet', payload: Buffer.from([0, 1, 2]), reply_payload_size: 1000 });
    check(r.text === 'hello fleet', `text ${JSON.stringify(r.text)}`);
    check(r.payload.equals(Buffer.alloc(1000, 0x61)), `payload len ${r.payload.length} / content mismatch`);
    check(r.index === 0, `index ${r.index}`);
    return 'text and 1000-byte payload ok';
  }

  async server_streaming() {
    const call = this.echo.Expand({ count: 100, payload_size: 10, text: 'expand' }, deadline());
    const replies = [];
    for await (const r of call) {
      replies.push(r);
      check(replies.length <= 100, 'more than 100 replies');
    }
    check(replies.length === 100, `got ${replies.length} replies`);
    replies.forEach((r, i) => {
      check(r.index === i, `reply ${i} has index ${r.index}`);
      check(r.text === 'expand', `reply ${i} text ${JSON.stringify(r.text)}`);
      check(r.payload.equals(Buffer.alloc(10, 0x61)), `reply ${i} payload ${r.payload.toString('hex')}`);
    });
    return '100 replies, index 0..99 in order';
  }

  async client_streaming() {
    const r = await new Promise((resolve, reject) => {
      const call = this.echo.Collect(deadline(), (err, res) => (err ? reject(err) : resolve(res)));
      for (let i = 0; i < 10; i++) call.write({ text: String(i), payload: Buffer.alloc(i * 10, 0x70) });
      call.end();
    });
    check(r.count === 10, `count ${r.count}`);
    check(r.text === '0,1,2,3,4,5,6,7,8,9', `text ${JSON.stringify(r.text)}`);
    check(Number(r.payload_bytes) === 450, `payload_bytes ${r.payload_bytes}`);
    return 'count=10 text=0,..,9 payload_bytes=450';
  }

  async bidi() {
    const call = this.echo.Chat(deadline(BIDI_TIMEOUT_MS));
    const status = statusPromise(call);
    const it = call[Symbol.asyncIterator]();
    try {
      for (let i = 0; i < 20; i++) {
        call.write({ text: `msg-${i}`, reply_payload_size: i });
        let next;
        try {
          next = await it.next(); // next request only after this reply arrived
        } catch (e) {
          throw new ScenarioFailed(`no reply to msg-${i} (server not interleaving?): ${codeName(e.code)} ${e.details}`);
        }
        const { value: r, done } = next;
        check(!done, `stream ended before reply ${i}`);
        check(r.text === `msg-${i}`, `reply ${i} text ${JSON.stringify(r.text)}`);
        check(r.index === i, `reply ${i} index ${r.index}`);
        check(r.payload.equals(Buffer.alloc(i, 0x61)), `reply ${i} payload len ${r.payload.length}`);
      }
      call.end();
      const last = await it.next();
      check(last.done, 'extra reply after half-close');
      const st = await status;
      check(st.code === grpc.status.OK, `status ${codeName(st.code)} ${st.details}`);
    } finally {
      call.cancel();
    }
    return '20 request/reply round trips interleaved';
  }

  async error_status() {
    const err = await expectError(
      unary(this.echo, 'Echo', { text: 'x', fail_code: 5, fail_message: ERROR_MESSAGE }),
      grpc.status.NOT_FOUND, ERROR_MESSAGE);
    return `NOT_FOUND with details ${JSON.stringify(err.details)}`;
  }

  async error_after_messages() {
    const call = this.echo.Expand({ count: 10, fail_after: 3, text: 'f' }, deadline());
    const got = [];
    try {
      for await (const r of call) {
        got.push(r.index);
        check(got.length <= 10, 'too many replies');
      }
    } catch (err) {
      if (err instanceof ScenarioFailed) throw err;
      check(JSON.stringify(got) === '[0,1,2]', `replies before error: ${JSON.stringify(got)}`);
      check(err.code === grpc.status.FAILED_PRECONDITION, `code ${codeName(err.code)} (${err.details})`);
      check(err.details === 'failed after 3', `details ${JSON.stringify(err.details)}`);
      return "3 replies then FAILED_PRECONDITION 'failed after 3'";
    }
    throw new ScenarioFailed(`stream ended OK after ${JSON.stringify(got)}`);
  }

  async deadline() {
    const before = await this.cancelledCalls();
    const t0 = Date.now();
    await expectError(unary(this.echo, 'Echo', { text: 'slow', delay_ms: 5000 }, new grpc.Metadata(), deadline(300)),
      grpc.status.DEADLINE_EXCEEDED);
    const elapsed = Date.now() - t0;
    check(elapsed < 2000, `DEADLINE_EXCEEDED took ${elapsed} ms`);
    const after = await this.waitCancelledIncrease(before);
    return `DEADLINE_EXCEEDED after ${elapsed} ms; cancelled_calls ${before} -> ${after}`;
  }

  async cancellation() {
    const before = await this.cancelledCalls();
    const call = this.echo.Expand({ count: 1000, delay_ms: 50, text: 'c' }, deadline());
    const status = statusPromise(call);
    const it = call[Symbol.asyncIterator]();
    const a = await it.next();
    const b = await it.next();
    check(!a.done && !b.done && a.value.index === 0 && b.value.index === 1, 'first two replies not index 0, 1');
    call.cancel();
    let err = null;
    try {
      for (let i = 0; i < 1000; i++) { // bounded; must end promptly
        const n = await it.next();
        if (n.done) break;
      }
    } catch (e) {
      err = e;
    }
    check(err !== null, 'stream did not fail after cancel');
    check(err.code === grpc.status.CANCELLED, `after cancel: ${codeName(err.code)} ${err.details}`);
    const st = await status;
    check(st.code === grpc.status.CANCELLED, `status ${codeName(st.code)}`);
    const after = await this.waitCancelledIncrease(before);
    return `CANCELLED locally; cancelled_calls ${before} -> ${after}`;
  }

  async metadata() {
    const md = new grpc.Metadata();
    md.add('x-echo-text', 'hello');
    md.add('x-echo-data-bin', ECHO_BIN);
    let headers = null;
    let trailers = null;
    const r = await new Promise((resolve, reject) => {
      const call = this.echo.Echo({ text: 'md' }, md, deadline(), (err, res) => (err ? reject(err) : resolve(res)));
      call.on('metadata', (m) => { headers = m; });
      call.on('status', (s) => { trailers = s.metadata; });
    });
    await sleep(0); // 'status' may be emitted right after the callback
    check(r.text === 'md', `text ${JSON.stringify(r.text)}`);
    for (const [where, m] of [['initial', headers], ['trailing', trailers]]) {
      check(m !== null, `no ${where} metadata`);
      const texts = m.get('x-echo-text');
      const bins = m.get('x-echo-data-bin');
      check(texts.length === 1 && texts[0] === 'hello', `${where} metadata x-echo-text = ${JSON.stringify(texts)}`);
      check(bins.length === 1 && Buffer.isBuffer(bins[0]) && bins[0].equals(ECHO_BIN),
        `${where} metadata x-echo-data-bin = ${JSON.stringify(bins)}`);
    }
    return 'x-echo-text and x-echo-data-bin (256 bytes) in headers and trailers';
  }

  async large_message() {
    const n = 4 * MiB - 64;
    const r = await unary(this.echo, 'Echo', { text: 'large', payload: Buffer.alloc(n, 0x5a), reply_payload_size: n });
    check(r.text === 'large', `text ${JSON.stringify(r.text)}`);
    check(r.payload.length === n && r.payload.equals(Buffer.alloc(n, 0x61)), `reply payload len ${r.payload.length}`);
    return `${n}-byte request and reply`;
  }

  async oversized_message() {
    await expectError(unary(this.echo, 'Echo', { text: 'big', payload: Buffer.alloc(5 * MiB, 0x5a) }),
      grpc.status.RESOURCE_EXHAUSTED);
    return '5 MiB request -> RESOURCE_EXHAUSTED';
  }

  async oversized_reply() {
    await expectError(unary(this.echo, 'Echo', { text: 'big', reply_payload_size: 5 * MiB }),
      grpc.status.RESOURCE_EXHAUSTED);
    return '5 MiB reply -> RESOURCE_EXHAUSTED';
  }

  async gzip() {
    const n = 100 * 1000;
    const gz = this.make(this.EchoService, { 'grpc.default_compression_algorithm': 2 });
    // Two Echo calls: grpc-js drops to identity for later calls if the server's
    // grpc-accept-encoding does not list gzip, so the second call checks that path too.
    for (let k = 0; k < 2; k++) {
      const r = await unary(gz, 'Echo', { text: 'gz', payload: Buffer.alloc(n, 0x61), reply_payload_size: n });
      check(r.text === 'gz' && r.payload.equals(Buffer.alloc(n, 0x61)), `unary reply mismatch (len ${r.payload.length})`);
    }
    const c = await new Promise((resolve, reject) => {
      const call = gz.Collect(deadline(), (err, res) => (err ? reject(err) : resolve(res)));
      for (let i = 0; i < 3; i++) call.write({ text: String(i), payload: Buffer.alloc(n, 0x61) });
      call.end();
    });
    check(c.count === 3 && c.text === '0,1,2' && Number(c.payload_bytes) === 3 * n, `collect ${JSON.stringify(c)}`);
    return 'gzip Echo x2 (100 KB each way) and Collect (3 x 100 KB) ok';
  }

  async health() {
    const h = this.make(this.Health);
    const r = await unary(h, 'Check', { service: '' });
    check(r.status === 1, `Check('') status ${r.status}, expected SERVING(1)`);
    await expectError(unary(h, 'Check', { service: 'no.such.Service' }), grpc.status.NOT_FOUND);
    return "'' SERVING; 'no.such.Service' NOT_FOUND";
  }

  async reflection() {
    const parts = [];
    for (const version of ['v1', 'v1alpha']) parts.push(await this.reflectionVersion(version));
    return parts.join('; ');
  }

  async reflectionVersion(version) {
    const refl = new GrpcReflection(this.args.target, this.creds, this.options(), version);
    try {
      const md = () => new grpc.Metadata();
      const names = await refl.listServices('*', md(), deadline());
      for (const need of [ECHO_SERVICE, HEALTH_SERVICE]) {
        check(names.includes(need), `${version} listServices lacks ${need}: ${JSON.stringify(names)}`);
      }
      check(REFLECTION_SERVICES.some((s) => names.includes(s)),
        `${version} listServices lists no reflection service: ${JSON.stringify(names)}`);

      // Raw file_containing_symbol answer: must include echo.proto.
      const raw = await refl.getProtoDescriptorBySymbol(ECHO_SERVICE, md(), deadline());
      const files = raw.map((b) => FileDescriptorProto.decode(b));
      const echo = files.find((f) => f.name === ECHO_FILE);
      check(echo, `${version}: no ${ECHO_FILE} among ${JSON.stringify(files.map((f) => f.name))}`);
      check(echo.package === 'fleet.testing.v1', `${version}: package ${echo.package}`);
      check((echo.service || []).some((s) => s.name === 'EchoService'), `${version}: no service EchoService`);

      // Methods as grpc-js sees them through the reflected descriptor.
      const methods = await refl.listMethods(ECHO_SERVICE, md(), deadline());
      const byName = Object.fromEntries(methods.map((m) => [m.name, m.definition]));
      const expected = {
        Echo: ['EchoRequest', 'EchoReply', false, false],
        Expand: ['ExpandRequest', 'EchoReply', false, true],
        Collect: ['EchoRequest', 'CollectReply', true, false],
        Chat: ['EchoRequest', 'EchoReply', true, true],
        Stats: ['StatsRequest', 'StatsReply', false, false],
      };
      check(JSON.stringify(Object.keys(byName).sort()) === JSON.stringify(Object.keys(expected).sort()),
        `${version}: methods ${JSON.stringify(Object.keys(byName))}`);
      for (const [name, [inp, out, cs, ss]] of Object.entries(expected)) {
        const d = byName[name];
        const got = [d.requestType.type.name, d.responseType.type.name, d.requestStream, d.responseStream];
        check(JSON.stringify(got) === JSON.stringify([inp, out, cs, ss]), `${version}: method ${name} is ${JSON.stringify(got)}`);
        check(d.path === `/${ECHO_SERVICE}/${name}`, `${version}: method ${name} path ${d.path}`);
      }

      // Call Echo through a client built only from the reflected descriptor.
      const descriptor = await refl.getDescriptorBySymbol(ECHO_SERVICE, md(), deadline());
      const pkg = descriptor.getPackageObject(LOADER_OPTIONS);
      const Reflected = pkg.fleet.testing.v1.EchoService;
      const rc = this.make(Reflected);
      const r = await unary(rc, 'Echo', { text: `via ${version} reflection`, reply_payload_size: 3 });
      check(r.text === `via ${version} reflection` && Buffer.from(r.payload).equals(Buffer.from('aaa')),
        `${version}: reflected Echo returned ${JSON.stringify(r)}`);

      // Unknown symbol -> error_response.
      let failed = false;
      try {
        await refl.getDescriptorBySymbol('no.such.Symbol', md(), deadline());
      } catch (e) {
        failed = true;
      }
      check(failed, `${version}: unknown symbol did not fail`);
      return `${version}: ${names.length} services listed, EchoService with 5 methods, reflected Echo call ok`;
    } finally {
      if (refl.client) refl.client.close();
    }
  }
}

function withTimeout(promise, ms, name) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new ScenarioFailed(`${name} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function usage() {
  return 'usage: node echo_client.js --target HOST:PORT [--scenarios a,b,c|all] [--ca PEM] [--server-name NAME]\n'
    + '                            [--max-receive-bytes N] [--descriptor-set FILE (ignored)] [--list]\n';
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n${usage()}`);
    return 2;
  }
  if (args.help) { process.stdout.write(usage()); return 0; }
  if (args.list) { fs.writeSync(1, `${SCENARIOS.join('\n')}\n`); return 0; }
  if (!args.target) { process.stderr.write(`--target is required\n${usage()}`); return 2; }
  const names = (args.scenarios === '' || args.scenarios === 'all')
    ? SCENARIOS : args.scenarios.split(',').map((s) => s.trim()).filter((s) => s);
  const unknown = names.filter((n) => !SCENARIOS.includes(n));
  if (unknown.length) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(',')}; known: ${SCENARIOS.join(',')}\n`);
    return 2;
  }

  let client;
  try {
    client = new Client(args);
  } catch (e) { // setup error: no scenario ran
    process.stderr.write(`setup failed: ${e && e.message}\n`);
    return 2;
  }
  let allOk = true;
  for (const name of names) {
    const t0 = Date.now();
    let ok = true;
    let detail;
    try {
      detail = await withTimeout(client[name](), SCENARIO_TIMEOUT_MS, name);
    } catch (e) {
      ok = false;
      if (e instanceof ScenarioFailed) detail = e.message;
      else if (e && typeof e.code === 'number') detail = `unexpected RPC error ${codeName(e.code)}: ${e.details}`;
      else detail = `${e && e.name}: ${e && e.message}`;
    }
    allOk = allOk && ok;
    // Synchronous write: stdout to a pipe is asynchronous in Node and process.exit could drop it.
    fs.writeSync(1, `${JSON.stringify({ scenario: name, ok, detail, ms: Date.now() - t0 })}\n`);
  }
  client.close();
  return allOk ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  process.stderr.write(`fatal: ${e && e.stack}\n`);
  process.exit(1);
});
