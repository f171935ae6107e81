import { parseArgs } from 'node:util';

import { loadConfig } from '@ensemble/config';
import { EnsembleError } from '@ensemble/protocol';

import { CliConfig } from './config.js';
import { type Output, runIngest } from './ingest-command.js';
import { openVectorStore } from '@ensemble/vectors/open';
import { runSearch } from './search-command.js';
import { USAGE } from './usage.js';

const output: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: process.stderr.isTTY,
};

/** Usage errors exit 2, everything else 1; messages only, never stack traces. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    output.out(USAGE);
    return;
  }
  if (!['ingest', 'search', 'stats'].includes(command)) throw new UsageError(`Unknown command "${command}".`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      json: { type: 'boolean' },
      reindex: { type: 'boolean' },
      prune: { type: 'boolean' },
      'max-tokens': { type: 'string' },
      overlap: { type: 'string' },
      root: { type: 'string' },
      k: { type: 'string', short: 'k' },
      mode: { type: 'string' },
    },
  });
  if (values.help === true) {
    output.out(USAGE);
    return;
  }
  // Usage errors first: opening the store can take seconds (PGlite) and would hide a typo behind a wait.
  if (command !== 'stats' && positionals.length === 0) throw new UsageError(command === 'ingest' ? 'ingest needs at least one path, directory or glob.' : 'search needs a query.');
  const config = loadConfig(CliConfig, process.env);
  const opened = await openVectorStore(config, { log: (line) => output.err(`${line}\n`) });
  try {
    switch (command) {
      case 'ingest':
        await runIngest(
          opened,
          {
            paths: positionals,
            root: values.root ?? process.cwd(),
            reindex: values.reindex === true,
            prune: values.prune === true,
            maxTokens: integerOption('--max-tokens', values['max-tokens']),
            overlap: integerOption('--overlap', values.overlap),
            json: values.json === true,
          },
          output,
        );
        break;
      case 'search': {
        const mode = values.mode ?? 'hybrid';
        if (mode !== 'hybrid' && mode !== 'vector' && mode !== 'text') throw new UsageError(`--mode must be hybrid, vector or text (got "${mode}").`);
        await runSearch(opened, { query: positionals.join(' '), k: integerOption('-k', values.k) ?? 5, mode, json: values.json === true }, output);
        break;
      }
      default: {
        await opened.store.setup();
        const stats = await opened.store.stats();
        output.out(values.json === true ? `${JSON.stringify(stats)}\n` : `${stats.documents} documents, ${stats.chunks} chunks (${stats.model}, dimension ${stats.dimension})\n`);
      }
    }
  } finally {
    await opened.close();
  }
}

function integerOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new UsageError(`${name} must be an integer (got "${value}").`);
  return parsed;
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') === true)) {
    output.err(`ensemble: ${error.message}\nRun "ensemble --help" for usage.\n`);
    process.exitCode = 2;
  } else {
    output.err(`ensemble: ${EnsembleError.is(error) || error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
