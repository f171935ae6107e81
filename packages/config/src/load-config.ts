import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { z } from 'zod';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads a service's configuration from environment variables. A pure function: the schema names the
 * variables (its keys are the variable names); only an app's entry point passes the real environment. Returns a frozen, typed object, or throws one error that names every bad variable at once.
 * Empty strings count as unset, so `FOO=` falls back to the default like a missing variable.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env): Readonly<z.infer<S>> {
  const present: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') present[key] = value;
  }
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const variable = issue.path.map(String).join('.') || '(config)';
      const got = present[variable];
      return `  ${variable}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
    });
    throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid configuration:\n${problems.join('\n')}`, {
      details: { variables: result.error.issues.map((issue) => issue.path.join('.')) },
    });
  }
  return Object.freeze(result.data);
}

/** Schema pieces for environment strings. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback),
  host: (fallback = '127.0.0.1') => z.string().min(1).default(fallback),
  url: () => z.url(),
  optionalUrl: () => z.url().optional(),
  string: (fallback: string) => z.string().min(1).default(fallback),
  optionalString: () => z.string().min(1).optional(),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  number: (fallback: number) => z.coerce.number().default(fallback),
  boolean: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'expected true or false' })
      .transform((value) => ['true', '1', 'yes', 'on'].includes(value))
      .default(fallback),
  /** Comma-separated list; surrounding blanks and empty items are dropped. */
  list: () =>
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      )
      .default([]),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `OTEL_EXPORTER_OTLP_PROTOCOL`: the OTLP/HTTP encodings `@ensemble/telemetry` exports (its `OTLP_PROTOCOLS`). */
  otlpProtocol: () => z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
} as const;
