/**
 * The console's only way to the gateway: bearer token from sessionStorage, OpenAI error objects turned
 * into readable messages, and an SSE reader over `fetch` (EventSource cannot send a bearer header).
 */

const TOKEN_KEY = 'ensemble.console.token';

export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The OpenAI error object's `code` (`session_not_found`, `session_finished`, ...), when there is one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export async function consoleConfig(): Promise<{ authRequired: boolean }> {
  const response = await fetch('/console/config.json');
  if (!response.ok) throw new ApiError(`The gateway did not answer its console configuration (HTTP ${response.status})`, response.status);
  return (await response.json()) as { authRequired: boolean };
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = storedToken();
  return { ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }), ...extra };
}

async function errorOf(response: Response): Promise<ApiError> {
  let message = `HTTP ${response.status}`;
  let code: string | undefined;
  try {
    const body = (await response.json()) as { error?: { message?: string; code?: unknown } };
    if (typeof body.error?.message === 'string') message = body.error.message;
    if (typeof body.error?.code === 'string') code = body.error.code;
  } catch {
    // Not an OpenAI error object: keep the status line.
  }
  if (response.status === 401) message = `Sign-in failed: ${message}`;
  return new ApiError(message, response.status, code);
}

export async function apiFetch(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? 'GET',
      headers: headers({ ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...init.headers }),
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    });
  } catch (error) {
    if (init.signal?.aborted === true) throw error;
    throw new ApiError('The gateway cannot be reached', 0);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function apiJson<T>(path: string, init: Parameters<typeof apiFetch>[1] = {}): Promise<T> {
  return (await (await apiFetch(path, init)).json()) as T;
}

export interface SseFrame {
  id?: string;
  event: string;
  data: string;
}

/** Reads an SSE body frame by frame until it ends (or the signal aborts the request). */
export async function readSse(response: Response, onFrame: (frame: SseFrame) => void): Promise<void> {
  if (response.body === null) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value.replaceAll('\r\n', '\n');
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const frame: SseFrame = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const fieldValue = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') frame.id = fieldValue;
        else if (field === 'event') frame.event = fieldValue;
        else if (field === 'data') data.push(fieldValue);
      }
      if (data.length === 0 && frame.id === undefined) continue;
      frame.data = data.join('\n');
      onFrame(frame);
    }
  }
}

export interface SessionSummary {
  id: string;
  status?: string;
  created_at?: string | number;
  updated_at?: string | number;
  title?: string;
}

export interface Approval {
  id: string;
  session_id: string;
  node_id: string;
  agent: string;
  kind: 'approval' | 'input';
  action: string;
  reason: string;
  risks: unknown;
  impact: unknown;
  arguments: Record<string, unknown> | null;
  arguments_schema: Record<string, unknown> | null;
  status: string;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  comment: string | null;
  question: string | null;
}
