import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { context, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addLogContext, withLogContext } from './log-context.js';
import { createLogger } from './logger.js';

/** A logger whose lines are read back as objects. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ service: 'logger-test', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  return { logger, lines };
}

// Registered as a service's `startTelemetry` registers it: the span context travels with the async context.
const provider = new NodeTracerProvider();
const tracer = provider.getTracer('logger-test');

beforeAll(() => {
  provider.register();
});

afterAll(async () => {
  context.disable();
  trace.disable();
  await provider.shutdown();
});

describe('createLogger', () => {
  it('writes the correlation ids of the scope, nested scopes adding to and overriding outer ones', async () => {
    const { logger, lines } = capturingLogger();
    logger.info('outside');
    await withLogContext({ request_id: 'r1', session_id: 's1' }, async () => {
      await Promise.resolve();
      withLogContext({ session_id: 's2', task_id: 't1' }, () => logger.info('inner'));
      logger.info('outer');
    });

    expect(lines[0]).not.toHaveProperty('request_id');
    expect(lines.find((line) => line['msg'] === 'inner')).toMatchObject({ service: 'logger-test', request_id: 'r1', session_id: 's2', task_id: 't1' });
    expect(lines.find((line) => line['msg'] === 'outer')).toMatchObject({ request_id: 'r1', session_id: 's1' });
    expect(lines.find((line) => line['msg'] === 'outer')).not.toHaveProperty('task_id');
  });

  it("gives a line's own fields precedence over the scope's, and keeps ids added mid-scope", () => {
    const { logger, lines } = capturingLogger();
    withLogContext({ request_id: 'r1' }, () => {
      addLogContext({ session_id: 'learned' });
      logger.info({ request_id: 'explicit', status: 200 }, 'line');
    });
    expect(lines[0]).toMatchObject({ request_id: 'explicit', session_id: 'learned', status: 200 });
  });

  it('carries the trace and span id of the active span, and none outside it', () => {
    const { logger, lines } = capturingLogger();
    const span = tracer.startSpan('work');
    context.with(trace.setSpan(context.active(), span), () => logger.info('in span'));
    span.end();
    logger.info('after');

    const { traceId, spanId } = span.spanContext();
    expect(lines[0]).toMatchObject({ trace_id: traceId, span_id: spanId });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('writes many lines of one shape without one line leaking into the next', () => {
    const { logger, lines } = capturingLogger();
    for (let index = 0; index < 50; index += 1) {
      withLogContext({ request_id: `r${index}` }, () => logger.info({ status: 200, ...(index % 2 === 0 ? { streamed: true } : {}) }, 'request'));
    }
    expect(lines.map((line) => [line['request_id'], line['streamed'] ?? false])).toEqual(Array.from({ length: 50 }, (_, index) => [`r${index}`, index % 2 === 0]));
  });
});

describe('createLogger on stdout', () => {
  it('has written every line by the time log() returns: a process killed right after loses none', async () => {
    // A child logs three lines and kills itself in the same turn: nothing after `log()` gets to run.
    const script = [
      `import { createLogger } from ${JSON.stringify(new URL('./logger.ts', import.meta.url).href)};`,
      `const logger = createLogger({ service: 'stdout-test' });`,
      `for (const n of [1, 2, 3]) logger.info({ n }, 'line');`,
      `process.kill(process.pid, 'SIGKILL');`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const [, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe('SIGKILL');
    const lines = out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => [line['service'], line['n'], line['msg']])).toEqual([
      ['stdout-test', 1, 'line'],
      ['stdout-test', 2, 'line'],
      ['stdout-test', 3, 'line'],
    ]);
  });
});
