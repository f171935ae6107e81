import { EnsembleError } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

import { DURATION_UNITS, addDuration, convertTime, currentTime, dateDifference, dayOfWeek } from './tools/date-time.js';
import type { KnowledgeBase } from './tools/knowledge-base.js';
import { convertUnits } from './tools/math.js';
import type { Calculator } from './tools/sandboxed-calculator.js';
import { type WeatherConfig, getWeather } from './tools/weather.js';
import { type WebSearchConfig, searchWeb } from './tools/web-search.js';

export interface McpToolsDeps {
  logger: Logger;
  /** Evaluates `calculator` expressions: `WorkerCalculator` (time and heap limits) in the service. */
  calculator: Calculator;
  knowledgeBase: KnowledgeBase;
  weather: WeatherConfig;
  webSearch: WebSearchConfig;
  /** Clock for the time tools; tests pin it. */
  now?: () => Date;
}

export const SERVER_INFO = { name: 'ensemble-tools', version: '0.1.0' };

const INSTRUCTIONS =
  'Ensemble tools: exact arithmetic (calculator), unit conversion, dates and time zones, search over the project knowledge base, ' +
  'weather and web search. Prefer these over mental arithmetic or guessing dates. A result with isError explains what to change.';

const timezone = z.string().min(1).default('UTC').describe('IANA time zone, e.g. "Europe/Paris", "America/New_York", "UTC"');
const isoDateTime = (what: string) =>
  z.string().min(1).max(64).describe(`${what}: ISO 8601 date or date-time ("2025-03-14", "2025-03-14T15:09", "2025-03-14T15:09:26Z")`);

const ZonedTime = z.object({
  iso: z.string(),
  timezone: z.string(),
  utc_offset: z.string(),
  readable: z.string(),
  day_of_week: z.string(),
  unix_seconds: z.number(),
});
const DurationParts = z.object(Object.fromEntries(DURATION_UNITS.map((unit) => [unit, z.number().optional()])) as Record<(typeof DURATION_UNITS)[number], z.ZodOptional<z.ZodNumber>>);

/**
 * Builds the MCP server with every Ensemble tool registered. Cheap enough to build per request, which
 * is what the stateless Streamable HTTP endpoint does.
 */
export function createMcpToolsServer(deps: McpToolsDeps): McpServer {
  const server = new McpServer(SERVER_INFO, { instructions: INSTRUCTIONS });
  const tool = toolRegistrar(server, deps.logger);
  const now = deps.now ?? (() => new Date());

  tool({
    name: 'calculator',
    title: 'Calculator',
    description:
      'Evaluates a math expression exactly: arithmetic, powers, roots, trigonometry (radians, or "deg" units), logarithms, ' +
      'statistics (mean, median, std), matrices, units ("5 cm to inch") and several statements separated by ";". ' +
      'Returns the normalized expression and the result.',
    input: z.object({ expression: z.string().min(1).max(1000).describe('The expression, e.g. "sqrt(2) * (3 + 4)^2" or "log(1000, 10)"') }),
    output: z.object({
      expression: z.string().describe('The expression as parsed'),
      result: z.string().describe('Formatted result (up to 14 significant digits)'),
      value: z.number().optional().describe('Numeric result when it is a plain finite number'),
      type: z.string().describe('Result type: number, Unit, DenseMatrix, boolean, ...'),
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    run: ({ expression }) => deps.calculator.calculate(expression),
  });

  tool({
    name: 'convert_units',
    title: 'Unit conversion',
    description:
      'Converts a value between units of the same kind: length (m, km, mi, ft, inch), mass (kg, lb, oz), temperature (degC, degF, K), ' +
      'speed (km/h, m/s, knot), volume (L, gal, cup), area, energy (J, kWh, cal), pressure, data (bit, byte, GB), time, angles.',
    input: z.object({
      value: z.number().describe('The amount to convert'),
      from: z.string().min(1).max(64).describe('Unit of the value, e.g. "mi", "degF", "km/h"'),
      to: z.string().min(1).max(64).describe('Target unit, e.g. "km", "degC", "m/s"'),
    }),
    output: z.object({ value: z.number(), from: z.string(), to: z.string(), result: z.number(), formatted: z.string() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    run: async ({ value, from, to }) => convertUnits(value, from, to),
  });

  tool({
    name: 'current_time',
    title: 'Current time',
    description: 'The current date and time in a time zone, with UTC offset and day of the week.',
    input: z.object({ timezone }),
    output: ZonedTime,
    annotations: { readOnlyHint: true, idempotentHint: false, openWorldHint: false },
    run: async (args) => currentTime(args.timezone, now),
  });

  tool({
    name: 'convert_time',
    title: 'Time zone conversion',
    description: 'Converts a date-time from one time zone to another (daylight saving time included).',
    input: z.object({
      datetime: isoDateTime('The date-time to convert, read in from_timezone unless it carries an offset'),
      from_timezone: timezone,
      to_timezone: z.string().min(1).describe('IANA time zone to convert to'),
    }),
    output: z.object({ from: ZonedTime, to: ZonedTime }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    run: async (args) => convertTime(args),
  });

  tool({
    name: 'add_duration',
    title: 'Date arithmetic',
    description: 'Adds a duration to, or subtracts it from, a date-time (calendar-aware: months and years keep the day where possible).',
    input: z.object({
      datetime: isoDateTime('Start'),
      timezone,
      operation: z.enum(['add', 'subtract']).default('add'),
      duration: DurationParts.describe('Amounts per unit, e.g. {"days": 10, "hours": 3}'),
    }),
    output: z.object({ start: ZonedTime, duration: z.string().describe('ISO 8601 duration'), result: ZonedTime }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    run: async (args) => addDuration(args),
  });

  tool({
    name: 'date_difference',
    title: 'Time between dates',
    description: 'The time between two dates or date-times, broken down into the requested units, plus totals in days, hours and seconds.',
    input: z.object({
      start: isoDateTime('Start'),
      end: isoDateTime('End'),
      timezone,
      units: z.array(z.enum(DURATION_UNITS)).max(7).default(['days', 'hours', 'minutes']).describe('Units of the breakdown'),
    }),
    output: z.object({
      start: ZonedTime,
      end: ZonedTime,
      difference: DurationParts,
      readable: z.string(),
      total_days: z.number(),
      total_hours: z.number(),
      total_seconds: z.number(),
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    run: async (args) => dateDifference(args),
  });

  tool({
    name: 'day_of_week',
    title: 'Day of the week',
    description: 'The day of the week, ISO week number and day of the year of a date.',
    input: z.object({ date: isoDateTime('The date'), timezone }),
    output: z.object({
      date: z.string(),
      day_of_week: z.string(),
      iso_weekday: z.number().int().describe('1 = Monday ... 7 = Sunday'),
      iso_week: z.number().int(),
      day_of_year: z.number().int(),
      is_weekend: z.boolean(),
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    run: async (args) => dayOfWeek(args),
  });

  tool({
    name: 'knowledge_base_search',
    title: 'Knowledge base search',
    description: "Searches the project's knowledge base (documents ingested for retrieval) and returns the most relevant passages with their sources.",
    input: z.object({
      query: z.string().min(1).max(2000).describe('What to look for, in natural language'),
      top_k: z.number().int().min(1).max(20).default(5).describe('How many passages to return'),
      filter: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional().describe('Metadata equality filter, e.g. {"collection": "handbook"}'),
    }),
    output: z.object({
      query: z.string(),
      results: z.array(z.object({ title: z.string(), source: z.string(), snippet: z.string(), score: z.number() })),
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    run: async ({ query, top_k, filter }, signal) => ({
      query,
      results: await deps.knowledgeBase.search(query, { topK: top_k, signal, ...(filter === undefined ? {} : { filter }) }),
    }),
  });

  const nullableNumber = z.number().nullable();
  tool({
    name: 'weather',
    title: 'Weather',
    description: 'Current weather and a daily forecast (up to 7 days) for a place name or coordinates, from a live weather API.',
    input: z.object({
      location: z.string().min(1).max(200).optional().describe('Place name, e.g. "Lyon" or "Portland, Oregon"'),
      latitude: z.number().min(-90).max(90).optional(),
      longitude: z.number().min(-180).max(180).optional(),
      days: z.number().int().min(1).max(7).default(3).describe('Forecast days, today included'),
      units: z.enum(['metric', 'imperial']).default('metric'),
    }),
    output: z.object({
      location: z.object({
        name: z.string(),
        country: z.string().optional(),
        region: z.string().optional(),
        latitude: z.number(),
        longitude: z.number(),
        timezone: z.string(),
      }),
      units: z.object({ temperature: z.string(), wind_speed: z.string(), precipitation: z.string() }),
      current: z.object({
        time: z.string(),
        temperature: z.number(),
        apparent_temperature: nullableNumber,
        relative_humidity: nullableNumber,
        precipitation: nullableNumber,
        wind_speed: nullableNumber,
        conditions: z.string(),
      }),
      daily: z.array(
        z.object({
          date: z.string(),
          temperature_max: nullableNumber,
          temperature_min: nullableNumber,
          precipitation_sum: nullableNumber,
          precipitation_probability_max: nullableNumber,
          conditions: z.string(),
        }),
      ),
      source: z.string().describe('Host of the weather API the data came from'),
    }),
    annotations: { readOnlyHint: true, idempotentHint: false, openWorldHint: true },
    run: async (args, signal) => getWeather(deps.weather, args, signal),
  });

  tool({
    name: 'web_search',
    title: 'Web search',
    description: 'Searches the web and returns titles, URLs and snippets of the top results. Cite the URLs you use.',
    input: z.object({
      query: z.string().min(1).max(400).describe('Search query'),
      count: z.number().int().min(1).max(10).default(5).describe('How many results'),
    }),
    output: z.object({
      query: z.string(),
      provider: z.string(),
      results: z.array(z.object({ title: z.string(), url: z.string(), snippet: z.string(), published: z.string().optional() })),
    }),
    annotations: { readOnlyHint: true, idempotentHint: false, openWorldHint: true },
    run: async (args, signal) => searchWeb(deps.webSearch, args, signal),
  });

  return server;
}

interface ToolDefinition<I extends z.ZodObject, O extends z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  run: (args: z.output<I>, signal: AbortSignal) => Promise<z.input<O>>;
}

/**
 * Registers tools with one error policy: an EnsembleError's message becomes the tool error the model
 * reads (those messages are written for it); anything else is logged and reported without internals.
 * Results carry `structuredContent` (checked by the SDK against the output schema) and, as the MCP spec
 * recommends for older clients, the same JSON as text.
 */
function toolRegistrar(server: McpServer, logger: Logger) {
  return <I extends z.ZodObject, O extends z.ZodObject>(definition: ToolDefinition<I, O>): void => {
    // Registered through the non-generic schema type: the SDK's conditional callback type cannot be
    // resolved for a generic `I`. Sound, because the SDK parses the arguments with this very schema.
    const inputSchema: z.ZodObject = definition.input;
    const outputSchema: z.ZodObject = definition.output;
    server.registerTool(
      definition.name,
      {
        title: definition.title,
        description: definition.description,
        inputSchema,
        outputSchema,
        annotations: { title: definition.title, ...definition.annotations },
      },
      async (args, extra): Promise<CallToolResult> => {
        const started = performance.now();
        const log = (isError: boolean, code?: string) =>
          logger.info({ tool: definition.name, is_error: isError, error_code: code, duration_ms: Math.round(performance.now() - started) }, 'tool call');
        try {
          const data = (await definition.run(args as z.output<I>, extra.signal)) as Record<string, unknown>;
          log(false);
          return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data };
        } catch (error) {
          if (EnsembleError.is(error)) {
            log(true, error.wireCode ?? error.code);
            return { content: [{ type: 'text', text: error.message }], isError: true };
          }
          logger.error({ err: error, tool: definition.name }, 'tool failed unexpectedly');
          log(true, 'internal');
          return {
            content: [{ type: 'text', text: `The ${definition.name} tool failed unexpectedly; the error was logged on the server. Try again, or answer without this tool.` }],
            isError: true,
          };
        }
      },
    );
  };
}
