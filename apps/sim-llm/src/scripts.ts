import { ScriptInput, type ScriptMatch, type SimReply } from './sim-reply.js';
import type { SimRequest } from './sim-request.js';

export interface Script {
  id: string;
  match: ScriptMatch;
  reply: SimReply;
  /** Firings left; `undefined` = unlimited. */
  remaining: number | undefined;
  fired: number;
}

interface StoredScript extends Script {
  regex: RegExp | undefined;
}

/**
 * Scripted replies, tried newest first; every field given in `match` must hold. A script with `times`
 * is removed once it has fired that often.
 */
export class ScriptRegistry {
  private scripts: StoredScript[] = [];
  private nextId = 1;

  /** Validates with the same schema as the HTTP control API; throws a ZodError on bad input. */
  add(input: ScriptInput): string {
    const parsed = ScriptInput.parse(input);
    const id = `script_${this.nextId++}`;
    this.scripts.unshift({
      id,
      match: parsed.match,
      reply: parsed.reply,
      remaining: parsed.times,
      fired: 0,
      regex: parsed.match.regex === undefined ? undefined : new RegExp(parsed.match.regex),
    });
    return id;
  }

  remove(id: string): boolean {
    const before = this.scripts.length;
    this.scripts = this.scripts.filter((script) => script.id !== id);
    return this.scripts.length < before;
  }

  clear(): void {
    this.scripts = [];
  }

  list(): Script[] {
    return this.scripts.map(({ regex: _regex, ...script }) => ({ ...script }));
  }

  /** Finds the newest matching script and counts one firing against it. */
  take(request: SimRequest): Script | undefined {
    if (this.scripts.length === 0) return undefined;
    const script = this.scripts.find((candidate) => matches(candidate, request));
    if (script === undefined) return undefined;
    script.fired += 1;
    if (script.remaining !== undefined) {
      script.remaining -= 1;
      if (script.remaining <= 0) this.remove(script.id);
    }
    return script;
  }
}

function matches(script: StoredScript, request: SimRequest): boolean {
  const { match } = script;
  if (match.model !== undefined && match.model !== request.body.model) return false;
  if (match.schemaName !== undefined && match.schemaName !== request.schemaName) return false;
  if (match.hasTools !== undefined && match.hasTools !== request.tools.length > 0) return false;
  if (match.contains !== undefined && !request.lastUserText.includes(match.contains)) return false;
  if (script.regex !== undefined && !script.regex.test(request.lastUserText)) return false;
  return true;
}
