import { Writable } from 'node:stream';

import { type Logger, createLogger } from '@ensemble/telemetry';

/** A real pino logger whose JSON lines are parsed into `lines`, so a test can assert on what was logged. */
export function collectingLogger(service = 'test', level = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ service, destination, level }), lines };
}
