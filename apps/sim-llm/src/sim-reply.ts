import { z } from 'zod';

/**
 * What sim-llm answers for one request. These schemas are sim-llm's own control surface (scripts, the
 * per-request `sim` body field, `PUT /_sim/config`); they stay in this app rather than in
 * `@ensemble/protocol` because no production code may know about the test double.
 *
 * Strict objects everywhere: a typo in a test's script (`contain` for `contains`) is a 400, not a script
 * that silently never matches.
 */
export const SimToolCall = z.strictObject({
  name: z.string().min(1),
  /** Serialised with JSON.stringify; a string is sent as-is (so tests can send malformed arguments). */
  arguments: z.unknown(),
});
export type SimToolCall = z.infer<typeof SimToolCall>;

export const SimError = z.strictObject({
  status: z.int().min(400).max(599),
  message: z.string().optional(),
  type: z.string().optional(),
  code: z.string().optional(),
  /** Sent as `retry-after` (whole seconds, rounded up) and `retry-after-ms`; fractions allowed for fast tests. */
  retryAfterSeconds: z.number().nonnegative().optional(),
});
export type SimError = z.infer<typeof SimError>;

const nonNegativeMs = z.number().nonnegative().max(3_600_000);

export const SimReply = z.strictObject({
  content: z.string().optional(),
  /** Sent as the message content, serialised; wins over `content` when both are given. */
  json: z.unknown().optional(),
  toolCalls: z.array(SimToolCall).min(1).optional(),
  error: SimError.optional(),
  /** Time to first token: before the first streamed chunk (and part of a non-streamed reply's time). */
  ttftMs: nonNegativeMs.optional(),
  /** Pacing after the first token; one streamed chunk counts as one token. 0 = as fast as possible. */
  tokensPerSecond: z.number().nonnegative().optional(),
  /** Extra delay before anything is sent, status line included. */
  delayMs: nonNegativeMs.optional(),
  /** Destroy the connection after this many chunks: no `[DONE]`, no clean end of the HTTP body. */
  cutAfterChunks: z.int().nonnegative().optional(),
  /** Never answer; the request ends when the client gives up (recorded as aborted). */
  hang: z.boolean().optional(),
});
export type SimReply = z.infer<typeof SimReply>;

export const ScriptMatch = z
  .strictObject({
    /** Substring of the last user message's text. */
    contains: z.string().optional(),
    /** Regular expression (JavaScript syntax, no flags) tested against the last user message's text. */
    regex: z
      .string()
      .refine(
        (source) => {
          try {
            new RegExp(source);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'is not a valid regular expression' },
      )
      .optional(),
    model: z.string().optional(),
    /** `response_format.json_schema.name` of the request. */
    schemaName: z.string().optional(),
    /** Whether the request carries a non-empty `tools` list. */
    hasTools: z.boolean().optional(),
  })
  .default({});
export type ScriptMatch = z.infer<typeof ScriptMatch>;

export const ScriptInput = z.strictObject({
  match: ScriptMatch,
  reply: SimReply,
  /** How many times the script fires before it is removed; unlimited when omitted. */
  times: z.int().positive().optional(),
});
export type ScriptInput = z.input<typeof ScriptInput>;

export const SimDefaults = z.strictObject({
  ttftMs: nonNegativeMs.optional(),
  tokensPerSecond: z.number().nonnegative().optional(),
});
export type SimDefaults = z.infer<typeof SimDefaults>;
