import { RequestLog } from './request-log.js';
import { ScriptRegistry } from './scripts.js';
import { SimDefaults } from './sim-reply.js';

/**
 * Everything a running sim-llm remembers: scripts, the request log and the latency defaults. Tests that
 * run sim-llm in-process can use this directly instead of the `/_sim` HTTP control API; both see the
 * same state.
 */
export class SimLlmState {
  readonly scripts = new ScriptRegistry();
  readonly requests: RequestLog;
  private readonly initialDefaults: SimDefaults;
  private currentDefaults: SimDefaults;

  constructor(options: { defaults?: SimDefaults; maxRecordedRequests?: number } = {}) {
    this.initialDefaults = SimDefaults.parse(options.defaults ?? {});
    this.currentDefaults = { ...this.initialDefaults };
    this.requests = new RequestLog(options.maxRecordedRequests);
  }

  get defaults(): Readonly<SimDefaults> {
    return this.currentDefaults;
  }

  /** Sets the default time to first token and/or pacing for requests that do not set their own. */
  setDefaults(patch: SimDefaults): Readonly<SimDefaults> {
    const parsed = SimDefaults.parse(patch);
    this.currentDefaults = { ...this.currentDefaults, ...parsed };
    return this.currentDefaults;
  }

  /** Back to a fresh start: no scripts, an empty request log, the defaults given at creation. */
  reset(): void {
    this.scripts.clear();
    this.requests.clear();
    this.currentDefaults = { ...this.initialDefaults };
  }
}
