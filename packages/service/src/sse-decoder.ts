/** One Server-Sent Event as dispatched by the parser: its `event` name (`null` when unnamed), its data and id. */
export interface SseEvent {
  event: string | null;
  /** The `data:` lines of the event joined with `\n`, exactly as sent (no JSON parsing). */
  data: string;
  /** The event's own `id:` field (`null` when it has none; the last id is not carried over to later events). */
  id: string | null;
}

/**
 * An incremental `text/event-stream` parser (WHATWG HTML §9.2.6): feed it the body's byte chunks as they
 * arrive and it returns the events completed by each one. Lines end in LF, CRLF or CR, even when the CR and
 * LF arrive in different chunks; a comment line (`:` first) is skipped; one space after the field's colon
 * is dropped; an event is dispatched on the blank line that ends it, and only when it has a name or data.
 * Each event's own `id:` is reported (a reader resumes after it with `Last-Event-ID`); `retry` is ignored.
 *
 * Why not the SDKs' own parsers: the relay needs the events' raw data (to forward it without re-serialising)
 * and the `openai` SDK's decoder copies the whole pending buffer for every event, which dominated the CPU of
 * relaying a fast stream.
 */
export class SseDecoder {
  readonly #text = new TextDecoder();
  /** Text after the last complete line. */
  #partial = '';
  /** The previous chunk ended with CR: an LF at the start of the next one belongs to that line ending. */
  #skipLeadingLf = false;
  #event: string | null = null;
  #id: string | null = null;
  #data: string[] = [];

  /** The events that `chunk` completes, in order. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.#lines(this.#text.decode(chunk, { stream: true }));
  }

  /**
   * Ends the stream: decodes what is left and returns an event the stream ended in the middle of without
   * its blank line, as the SDKs do (a server that closes right after its last `data:` line still gets
   * that event through).
   */
  end(): SseEvent[] {
    const events = this.#lines(this.#text.decode());
    if (this.#partial !== '') {
      this.#line(this.#partial);
      this.#partial = '';
    }
    const last = this.#dispatch();
    if (last !== undefined) events.push(last);
    return events;
  }

  #lines(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (this.#skipLeadingLf && text.length > 0) {
      this.#skipLeadingLf = false;
      if (text.charCodeAt(0) === 10) start = 1;
    }
    let pending = this.#partial;
    // Line ends are found with `indexOf` (native: a quarter of a per-character loop's CPU on an
    // OpenAI-style stream); a CR, rare in practice, is searched for again only once one was used.
    let nextLf = text.indexOf('\n', start);
    let nextCr = text.indexOf('\r', start);
    while (nextLf !== -1 || nextCr !== -1) {
      const index = nextCr === -1 || (nextLf !== -1 && nextLf < nextCr) ? nextLf : nextCr;
      const line = pending + text.slice(start, index);
      pending = '';
      start = index + 1;
      if (index === nextCr) {
        if (start === text.length) this.#skipLeadingLf = true;
        else if (text.charCodeAt(start) === 10) start += 1;
        nextCr = text.indexOf('\r', start);
      }
      if (nextLf !== -1 && nextLf < start) nextLf = text.indexOf('\n', start);
      if (line === '') {
        const event = this.#dispatch();
        if (event !== undefined) events.push(event);
      } else this.#line(line);
    }
    this.#partial = pending + text.slice(start);
    return events;
  }

  #line(line: string): void {
    if (line.charCodeAt(0) === 58) return; // ':' comment (keep-alives)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id') this.#id = value;
  }

  #dispatch(): SseEvent | undefined {
    if (this.#event === null && this.#data.length === 0) return undefined;
    const event = { event: this.#event, data: this.#data.length === 1 ? (this.#data[0] ?? '') : this.#data.join('\n'), id: this.#id };
    this.#event = null;
    this.#id = null;
    this.#data = [];
    return event;
  }
}
