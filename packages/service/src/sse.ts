/** Response headers of every Server-Sent Events stream we serve (no proxy buffering, no caching). */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
});

export interface SseFrame {
  /** The event's id: what a reconnecting client sends back as `Last-Event-ID`. */
  id?: number | string;
  /** The event's type (`event:`); none means `message`, which OpenAI clients expect. */
  event?: string;
  /** The payload: a string as is (it must not contain a newline), anything else as JSON. */
  data: unknown;
}

/** One SSE frame: `id:`, `event:` and `data:` lines and the blank line that ends it. */
export function sseFrame(frame: SseFrame): string {
  const data = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data);
  return `${frame.id === undefined ? '' : `id: ${frame.id}\n`}${frame.event === undefined ? '' : `event: ${frame.event}\n`}data: ${data}\n\n`;
}

/** A comment line: keeps an idle stream (and the proxies on its way) from timing out. */
export const SSE_KEEP_ALIVE = ': keep-alive\n\n';
