/**
 * Generators of malformed requests for `test/e2e/fuzz.test.ts`: chat bodies with wrong types in every
 * field, broken JSON, empty, blank and oversized messages, bad headers, unknown routes and methods
 * against the gateway; broken JSON-RPC envelopes, wrong params, unknown methods, batches and huge ids
 * against an A2A agent. Every choice comes from one seeded PRNG, so a seed replays the same run.
 */

/** mulberry32: small, fast, and good enough to pick cases; the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class Fuzz {
  constructor(readonly random: () => number) {}

  int(max: number): number {
    return Math.floor(this.random() * max);
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Printable ASCII, with spaces; safe as a header value. */
  ascii(maxLength: number): string {
    let text = '';
    const length = this.int(maxLength + 1);
    for (let index = 0; index < length; index += 1) text += String.fromCharCode(32 + this.int(95));
    return text;
  }

  /** Any UTF-16 code units, lone surrogates and control characters included. */
  unicode(maxLength: number): string {
    let text = '';
    const length = this.int(maxLength + 1);
    for (let index = 0; index < length; index += 1) {
      text += this.chance(0.7) ? String.fromCharCode(32 + this.int(95)) : String.fromCharCode(this.int(0x10000));
    }
    return text;
  }

  /** A JSON value of any type (the wrong one, most of the time). */
  value(depth = 0): unknown {
    switch (this.int(depth > 2 ? 7 : 9)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 64, 0.1]);
      case 3:
        return this.unicode(20);
      case 4:
        return '';
      case 5:
        return this.pick(['user', 'system', 'assistant', 'tool', 'ROLE_USER', 'text', 'null', '2.0', '{}', '[]']);
      case 6:
        return this.int(1_000_000) - 500_000;
      case 7:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.pick(['text', 'role', 'content', 'type', 'x', '', '__proto__', 'constructor']), this.value(depth + 1)]));
    }
  }
}

/** Lone surrogates replaced, so `encodeURIComponent` takes the text (paths must be encodable to be sent). */
function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

export interface FuzzRequest {
  /** Which service the request goes to. */
  target: 'gateway' | 'agent' | 'planner' | 'orchestrator';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** What was generated, for the failure report. */
  label: string;
}

/** Bodies over the gateway's 10 MiB limit, built once (the content does not matter). */
const OVER_GATEWAY_LIMIT = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024 + 10) }] });

const CHAT_FIELDS = [
  'model',
  'messages',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'n',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'user',
  'tools',
  'tool_choice',
  'functions',
  'response_format',
  'seed',
  'metadata',
  'parallel_tool_calls',
] as const;

const MESSAGE_FIELDS = ['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'function_call', 'refusal'] as const;

/** A well-formed request, to be broken in one place (so the fault is where the generator put it). */
function validChat(fuzz: Fuzz): Record<string, unknown> {
  return { model: 'fuzz-model', messages: [{ role: 'user', content: `fuzz ${fuzz.int(1_000)}` }], max_tokens: 16, ...(fuzz.chance(0.3) ? { stream: true } : {}) };
}

/** Messages the orchestration path cannot act on, or that are too large for it (and its agents). */
function hardMessages(fuzz: Fuzz, agentLimit: number): unknown[] {
  return fuzz.pick<() => unknown[]>([
    () => [],
    () => [{ role: 'user', content: '' }],
    () => [{ role: 'user', content: ' \t\n '.repeat(1 + fuzz.int(50)) }],
    () => [{ role: 'user', content: '\u00a0\u2003\u3000' }],
    () => [{ role: 'user', content: null }],
    () => [{ role: 'system', content: 'system only' }],
    () => [{ role: 'assistant', content: 'assistant only' }],
    () => [{ role: 'tool', tool_call_id: 'c1', content: 'tool only' }],
    () => [{ role: 'user', content: [] }],
    () => [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.test/x.png' } }] }],
    () => [{ role: 'user', content: [{ type: 'text', text: '   ' }] }],
    () => [{ role: 'user', content: 'real question' }, { role: 'user', content: '' }],
    // Just over what the agents accept, and far over it (the "2 MB message" of the issue).
    () => [{ role: 'user', content: 'y'.repeat(Math.ceil(agentLimit / 3) + fuzz.int(1_000)) }],
    () => [{ role: 'user', content: 'z'.repeat(2 * 1024 * 1024) }],
    () => [{ role: 'user', content: '\u0001"\\'.repeat(Math.ceil(agentLimit / 10)) }],
    // A long history whose last user turn is blank.
    () => [...Array.from({ length: 2_000 }, (_, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content: `turn ${index}` })), { role: 'user', content: ' ' }],
  ])();
}

function chatBody(fuzz: Fuzz, agentLimit: number): { body: string; label: string; hard?: boolean } {
  const kind = fuzz.int(10);
  if (kind === 0) {
    const body = fuzz.pick([
      '',
      '{',
      '}',
      'null',
      '[]',
      '"text"',
      '42',
      'true',
      '{"model":"m","messages":[{"role":"user","content":"hi"}]',
      '{"model":"m",,}',
      "{'model':'m'}",
      '\ufeff{"model":"m","messages":[]}',
      '{"model":"m","messages":[{"role":"user","content":"\\ud800"}]}',
      '{"model":"m","messages":[{"role":"user","content":"\\x"}]}',
      `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
      `{"messages":${'['.repeat(3_000)}${']'.repeat(3_000)}}`,
      '{"__proto__":{"admin":true},"model":"m","messages":[{"role":"user","content":"hi"}]}',
      fuzz.unicode(200),
    ]);
    return { body, label: `invalid json ${JSON.stringify(body.slice(0, 60))}` };
  }
  if (kind === 1) {
    // Over the gateway's own limit.
    if (fuzz.chance(0.02)) return { body: OVER_GATEWAY_LIMIT, label: 'body over MAX_BODY_BYTES' };
    return { body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], padding: 'p'.repeat(1_000 + fuzz.int(100_000)) }), label: 'padded body' };
  }
  if (kind <= 4) {
    const request = validChat(fuzz);
    const field = fuzz.pick(CHAT_FIELDS);
    request[field] = fuzz.value();
    return { body: JSON.stringify(request), label: `chat.${field} = ${JSON.stringify(request[field])?.slice(0, 60)}` };
  }
  if (kind <= 6) {
    const request = validChat(fuzz);
    const message: Record<string, unknown> = { role: 'user', content: 'hi' };
    const field = fuzz.pick(MESSAGE_FIELDS);
    message[field] = fuzz.value();
    request['messages'] = fuzz.chance(0.2) ? [message, fuzz.value()] : [message];
    return { body: JSON.stringify(request), label: `message.${field} = ${JSON.stringify(message[field])?.slice(0, 60)}` };
  }
  const request = validChat(fuzz);
  request['messages'] = hardMessages(fuzz, agentLimit);
  const first = (request['messages'] as unknown[])[0];
  return { hard: true, body: JSON.stringify(request), label: `hard messages (${(request['messages'] as unknown[]).length}) ${JSON.stringify(first)?.slice(0, 60)}` };
}

/** Header values that are wrong for their header, valid ones now and then. */
/**
 * `orchestrate`: how often to force the complex path. Well-formed requests forced onto it run a whole
 * workflow (seconds on a loaded machine), so they are forced rarely; what the orchestration path must
 * refuse (blank, missing or oversized user text) is forced often.
 */
function gatewayHeaders(fuzz: Fuzz, token: string, orchestrate: number): { headers: Record<string, string>; label: string } {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const notes: string[] = [];
  const set = (name: string, value: string) => {
    headers[name] = value;
    notes.push(`${name}: ${JSON.stringify(value.slice(0, 40))}`);
  };
  if (fuzz.chance(orchestrate)) set('x-routing-mode', fuzz.pick(['orchestration', 'ORCHESTRATION', ' Orchestration ']));
  else if (fuzz.chance(0.5)) set('x-routing-mode', fuzz.pick(['passthrough', 'auto', '', ' ', 'both', fuzz.ascii(40)]));
  if (fuzz.chance(0.25)) set('x-session-id', fuzz.pick(['', ' ', '../../etc', 'a'.repeat(129), 'a'.repeat(128), 'sess id', '3f0c1d52-6f1a-4d8e-9a57-0b7f3c2e9d10', `fuzz-${fuzz.int(1e6)}`, fuzz.ascii(60)]));
  if (fuzz.chance(0.15)) set('last-event-id', fuzz.pick(['', '-1', 'NaN', '1e400', '99999999999999999999999', fuzz.ascii(80)]));
  if (fuzz.chance(0.15)) set('x-skip-orchestration', fuzz.pick(['true', 'false', 'maybe', '', fuzz.ascii(10)]));
  if (fuzz.chance(0.1)) set('x-request-id', fuzz.ascii(200));
  if (fuzz.chance(0.15)) set('authorization', fuzz.pick(['', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `bearer ${token}`, `Bearer ${token}x`, `Bearer ${'t'.repeat(8_000)}`, fuzz.ascii(60)]));
  if (fuzz.chance(0.1)) set('content-type', fuzz.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '']));
  if (fuzz.chance(0.05)) delete headers['authorization'];
  return { headers, label: notes.join(', ') };
}

const GATEWAY_ROUTES = ['/v1/chat/completions', '/v1/models', '/v1/agents', '/v1/sessions', '/v1/sessions/x', '/health', '/ready', '/openapi.json'];

export function gatewayRequest(fuzz: Fuzz, token: string, agentLimit: number): FuzzRequest {
  const roll = fuzz.int(20);
  const chat = roll > 1 ? chatBody(fuzz, agentLimit) : undefined;
  const { headers, label: headerLabel } = gatewayHeaders(fuzz, token, chat?.hard === true ? 0.7 : 0.04);
  if (roll === 0) {
    const path = fuzz.pick([
      '/v2/chat/completions',
      '/v1/chat/completions/extra',
      '/v1/completions',
      '/v1/../../etc/passwd',
      '/v1/%2e%2e/%2e%2e',
      '/v1/chat%00completions',
      '/v1/%zz',
      `/${'a'.repeat(4_000)}`,
      '/v1/sessions/%E0%A4%A',
      `/v1/sessions/${encodeURIComponent(fuzz.ascii(50))}`,
      `/v1/sessions?limit=${encodeURIComponent(fuzz.ascii(10))}`,
      `/v1/sessions?limit=${fuzz.pick(['-1', '0', '1e9', 'NaN', '99999999999999999999'])}`,
      `/${encodeURIComponent(wellFormed(fuzz.unicode(30)))}`,
    ]);
    const method = fuzz.pick(['GET', 'POST', 'DELETE']);
    return { target: 'gateway', method, path, headers, ...(method === 'POST' ? { body: '{}' } : {}), label: `${method} ${path.slice(0, 80)} ${headerLabel}` };
  }
  if (roll === 1) {
    const path = fuzz.pick(GATEWAY_ROUTES);
    const method = fuzz.pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'GET', 'POST']);
    const withBody = method !== 'GET' && method !== 'HEAD';
    return { target: 'gateway', method, path, headers, ...(withBody ? { body: chatBody(fuzz, agentLimit).body } : {}), label: `${method} ${path} ${headerLabel}` };
  }
  const { body, label } = chat ?? chatBody(fuzz, agentLimit);
  return { target: 'gateway', method: 'POST', path: '/v1/chat/completions', headers, body, label: `${label} | ${headerLabel}` };
}

const RPC_METHODS = ['SendMessage', 'SendStreamingMessage', 'GetTask', 'ListTasks', 'CancelTask', 'SubscribeToTask', 'GetExtendedAgentCard', 'message/send', 'tasks/get', 'tasks/cancel'];

function envelope(fuzz: Fuzz): { body: string; label: string } {
  const method = fuzz.pick(RPC_METHODS);
  const message = { messageId: `m-${fuzz.int(1e9)}`, role: 'ROLE_USER', parts: [{ text: 'fuzz' }] };
  const base: Record<string, unknown> = { jsonrpc: '2.0', id: fuzz.int(1e6), method, params: { message } };
  switch (fuzz.int(12)) {
    case 0:
      return { body: fuzz.pick(['', '{', 'null', '[', '"x"', '{"jsonrpc":"2.0"', fuzz.unicode(100)]), label: 'rpc: invalid json' };
    case 1:
      base['jsonrpc'] = fuzz.pick(['1.0', '3.0', 2, null, '', fuzz.ascii(10)]);
      if (fuzz.chance(0.3)) delete base['jsonrpc'];
      return { body: JSON.stringify(base), label: `rpc: jsonrpc = ${JSON.stringify(base['jsonrpc'])}` };
    case 2:
      if (fuzz.chance(0.5)) delete base['method'];
      else base['method'] = fuzz.value();
      return { body: JSON.stringify(base), label: `rpc: method = ${JSON.stringify(base['method'])}` };
    case 3:
      base['method'] = fuzz.pick(['SendMessageXXX', 'rpc.discover', '__proto__', 'constructor', 'toString', '', fuzz.ascii(30)]);
      return { body: JSON.stringify(base), label: `rpc: unknown method ${JSON.stringify(base['method'])}` };
    case 4:
    case 5:
      base['params'] = fuzz.pick<() => unknown>([
        () => fuzz.value(),
        () => ({ message: fuzz.value() }),
        () => ({ message: { ...message, parts: fuzz.value() } }),
        () => ({ message: { ...message, role: fuzz.value() } }),
        () => ({ message: { ...message, parts: [{ text: fuzz.value() }] } }),
        () => ({ message: { ...message, parts: [fuzz.value()] } }),
        () => ({ message: { ...message, messageId: fuzz.value() } }),
        () => ({ message: { ...message, contextId: fuzz.ascii(200) } }),
        () => ({ message: { ...message, taskId: fuzz.ascii(50) } }),
        () => ({ id: fuzz.value() }),
        () => ({ id: fuzz.ascii(100), historyLength: fuzz.value() }),
        () => ({ configuration: fuzz.value(), message }),
        () => ({ message: { ...message, parts: [{ raw: fuzz.unicode(20) }] } }),
        () => ({ message: { ...message, parts: [{ data: fuzz.value() }] } }),
        () => ({ message: { ...message, parts: [{ url: fuzz.ascii(40), mediaType: fuzz.ascii(20) }] } }),
      ])();
      return { body: JSON.stringify(base), label: `rpc: ${method} params ${JSON.stringify(base['params'])?.slice(0, 80)}` };
    case 6:
      base['id'] = fuzz.pick<() => unknown>([() => 'i'.repeat(100_000), () => 2 ** 70, () => -(2 ** 70), () => 1e308, () => ({ nested: true }), () => [1], () => true, () => null, () => 1.5])();
      return { body: JSON.stringify(base), label: `rpc: id ${JSON.stringify(base['id'])?.slice(0, 40)}` };
    case 7: {
      const batch = Array.from({ length: fuzz.int(4) }, () => (fuzz.chance(0.5) ? { ...base, id: fuzz.int(100) } : fuzz.value()));
      return { body: JSON.stringify(batch), label: `rpc: batch of ${batch.length}` };
    }
    case 8:
      return { body: JSON.stringify({ ...base, params: { message: { ...message, parts: [{ text: 'p'.repeat(1024 * 1024) }] } } }), label: 'rpc: body over A2A_MAX_BODY_BYTES' };
    case 9:
      return { body: JSON.stringify({ ...base, extra: fuzz.value(), result: fuzz.value(), error: fuzz.value() }), label: 'rpc: extra members' };
    default:
      base['method'] = fuzz.pick(['GetTask', 'CancelTask', 'SubscribeToTask']);
      base['params'] = { id: fuzz.pick(['', 'nope', fuzz.ascii(60), '../x']) };
      return { body: JSON.stringify(base), label: `rpc: ${String(base['method'])} unknown task` };
  }
}

/**
 * The A2A binding whose error format a path of an agent must answer in: AIP-193 under `/a2a/rest`, a
 * JSON-RPC error object anywhere else under `/a2a`; `undefined` outside the A2A routes (OpenAI errors).
 */
export function a2aBindingOfPath(path: string): 'jsonrpc' | 'rest' | undefined {
  const bare = path.split('?')[0] ?? '';
  if (bare === '/a2a/rest' || bare.startsWith('/a2a/rest/')) return 'rest';
  if (bare === '/a2a' || bare.startsWith('/a2a/')) return 'jsonrpc';
  return undefined;
}

export function agentRequest(fuzz: Fuzz, target: FuzzRequest['target'], token: string | undefined): FuzzRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined && fuzz.chance(0.85)) headers['authorization'] = `Bearer ${token}`;
  if (fuzz.chance(0.8)) headers['a2a-version'] = fuzz.chance(0.8) ? '1.0' : fuzz.pick(['0.3', '2.0', '', 'x', fuzz.ascii(20)]);
  if (fuzz.chance(0.05)) headers['content-type'] = fuzz.pick(['text/plain', 'application/a2a+json', 'application/json; charset=utf-16']);
  const roll = fuzz.int(10);
  if (roll <= 5) {
    const { body, label } = envelope(fuzz);
    // The card's URL, or that URL plus `/` as the A2A TCK's JSON-RPC client posts to it.
    const path = fuzz.chance(0.5) ? '/a2a/jsonrpc' : '/a2a/jsonrpc/';
    return { target, method: 'POST', path, headers, body, label: `${label} (${path})` };
  }
  if (roll <= 7) {
    const route = fuzz.pick(['/a2a/rest/message:send', '/a2a/rest/message:stream', `/a2a/rest/tasks/${encodeURIComponent(fuzz.ascii(20))}`, '/a2a/rest/tasks/x:cancel', '/a2a/rest/tasks/x:subscribe', '/a2a/rest/tasks', '/a2a/rest/nope', '/a2a/rest/tasks/%zz']);
    const path = fuzz.chance(0.3) ? `${route}/` : route;
    const method = fuzz.pick(['POST', 'POST', 'GET', 'DELETE', 'PUT']);
    const body = method === 'GET' || method === 'DELETE' ? undefined : fuzz.chance(0.5) ? envelope(fuzz).body : JSON.stringify(fuzz.value());
    return { target, method, path, headers, ...(body === undefined ? {} : { body }), label: `rest: ${method} ${path.slice(0, 60)}` };
  }
  const path = fuzz.pick([
    '/a2a/jsonrpc',
    '/a2a/jsonrpc/',
    '/.well-known/agent-card.json',
    '/a2a',
    '/a2a/',
    '/a2a/jsonrpc/extra',
    '/a2a/rest',
    '/a2a/rest/',
    '/unknown',
    '/health',
    '/echo',
    `/${encodeURIComponent(wellFormed(fuzz.unicode(20)))}`,
    `/a2a/${encodeURIComponent(wellFormed(fuzz.unicode(20)))}`,
  ]);
  const method = fuzz.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'POST']);
  const body = method === 'GET' || method === 'DELETE' ? undefined : fuzz.pick(['{', '', JSON.stringify(fuzz.value())]);
  return { target, method, path, headers, ...(body === undefined ? {} : { body }), label: `route: ${method} ${path.slice(0, 60)}` };
}
