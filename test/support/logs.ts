import { Writable } from 'node:stream';

import { type Logger, createLogger } from '@ensemble/telemetry';

type LogLine = Record<string, unknown>;

export interface CollectedLogs {
  logger: Logger;
  lines: LogLine[];
  /** The first line (already written or still to come) that matches: for lines written after a response. */
  waitForLine(matches: (line: LogLine) => boolean): Promise<LogLine>;
}

/** A real pino logger whose JSON lines are parsed into `lines`, so a test can assert on what was logged. */
export function collectingLogger(service = 'test', level = 'debug'): CollectedLogs {
  const lines: LogLine[] = [];
  const waiters: Array<{ matches: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString().split('\n')) {
        if (text.trim() === '') continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const waiter of waiters.filter((candidate) => candidate.matches(line))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
      callback();
    },
  });
  return {
    logger: createLogger({ service, destination, level }),
    lines,
    waitForLine(matches) {
      const seen = lines.find(matches);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ matches, resolve }));
    },
  };
}
