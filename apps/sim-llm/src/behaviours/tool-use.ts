import { type ChatMessage, messageText } from '@ensemble/protocol';

import type { SimToolCall } from '../sim-reply.js';
import type { SimRequest } from '../sim-request.js';
import type { SimBehaviour } from './types.js';

/**
 * Lets the offline demo reason with tools: when a request offers tools (`tool_choice` auto) and the last
 * user message asks for arithmetic, a unit conversion or the time, sim-llm calls the matching tool of
 * Ensemble's MCP server (`calculator`, `convert_units`, `current_time`), several at once when the
 * message asks for several things. Once every such tool has answered, it writes a final answer built
 * from their results. Requests with nothing a tool can do fall through to the other behaviours.
 */
export const toolUse: SimBehaviour = {
  name: 'tool-use',
  matches: (request) => request.toolChoice === 'auto' && plannedCalls(request).length > 0,
  reply: (request) => {
    const pending = plannedCalls(request).filter((call) => !call.answered);
    if (pending.length > 0) return { toolCalls: pending.map(({ name, arguments: args }) => ({ name, arguments: args })) };
    return { content: answerFromResults(toolResults(request.body.messages)) };
  },
};

interface PlannedCall extends SimToolCall {
  /** A tool result for this tool already follows the last user message. */
  answered: boolean;
}

/** The tool calls the last user message asks for, limited to tools the request offers. */
export function plannedCalls(request: SimRequest): PlannedCall[] {
  const offered = (base: string) => request.tools.find((tool) => tool.name === base || tool.name.endsWith(`__${base}`))?.name;
  const called = calledSinceLastUser(request.body.messages);
  const calls: PlannedCall[] = [];
  const add = (base: string, args: Record<string, unknown>) => {
    const name = offered(base);
    if (name !== undefined) calls.push({ name, arguments: args, answered: called.has(name) });
  };
  const text = request.lastUserText;
  for (const expression of arithmeticExpressions(text)) add('calculator', { expression });
  for (const conversion of unitConversions(text)) add('convert_units', conversion);
  const zone = timeQuestion(text);
  if (zone !== undefined) add('current_time', { timezone: zone });
  return calls;
}

/** Names of the tools the assistant called after the last user message (their results are in the conversation). */
function calledSinceLastUser(messages: readonly ChatMessage[]): Set<string> {
  const names = new Set<string>();
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (message === undefined || message.role === 'user') break;
    for (const call of message.tool_calls ?? []) {
      const fn = call['function'];
      if (typeof fn === 'object' && fn !== null && typeof (fn as { name?: unknown }).name === 'string') names.add((fn as { name: string }).name);
    }
  }
  return names;
}

// Numbers joined by operators, optionally in parentheses: "12 * (3 + 4)", "2^10", "15% of" is left alone.
const ARITHMETIC = /[(\d][\d\s.()]*(?:[-+*/×÷^][\s(]*\d[\d\s.()]*)+/g;

/** Arithmetic expressions in the text, normalised for the calculator ("×" → "*", "÷" → "/"). */
export function arithmeticExpressions(text: string): string[] {
  // A prompt often quotes the request more than once (an orchestrated node's input repeats it): one call each.
  const found = new Set<string>();
  for (const match of text.matchAll(ARITHMETIC)) {
    // A sentence's full stop after the last number is not a decimal point.
    const expression = balanced(match[0].replace(/×/g, '*').replace(/÷/g, '/').replace(/\s+/g, ' ').trim().replace(/[.,;:]+$/, ''));
    // A date ("2025-03-14") or a range is not arithmetic.
    if (/^\d{4}-\d{2}-\d{2}/.test(expression) || !/\d\s*[-+*/^]\s*[(\d]/.test(expression)) continue;
    found.add(expression);
  }
  return [...found];
}

/** Trims unmatched parentheses at the edges (a sentence's own brackets around the expression). */
function balanced(expression: string): string {
  let result = expression;
  const depth = (value: string) => [...value].reduce((sum, char) => sum + (char === '(' ? 1 : char === ')' ? -1 : 0), 0);
  while (result.startsWith('(') && depth(result) > 0) result = result.slice(1).trim();
  while (result.endsWith(')') && depth(result) < 0) result = result.slice(0, -1).trim();
  return result;
}

/** Unit words people write, mapped to mathjs unit names (what `convert_units` takes). */
const UNITS: Record<string, string> = {
  km: 'km', kilometer: 'km', kilometers: 'km', kilometre: 'km', kilometres: 'km',
  m: 'm', meter: 'm', meters: 'm', metre: 'm', metres: 'm',
  cm: 'cm', centimeter: 'cm', centimeters: 'cm', mm: 'mm',
  mi: 'mi', mile: 'mi', miles: 'mi',
  ft: 'ft', foot: 'ft', feet: 'ft',
  in: 'inch', inch: 'inch', inches: 'inch',
  kg: 'kg', kilogram: 'kg', kilograms: 'kg', g: 'g', gram: 'g', grams: 'g',
  lb: 'lb', lbs: 'lb', pound: 'lb', pounds: 'lb', oz: 'oz', ounce: 'oz', ounces: 'oz',
  l: 'L', liter: 'L', liters: 'L', litre: 'L', litres: 'L',
  gal: 'gal', gallon: 'gal', gallons: 'gal',
  c: 'degC', '°c': 'degC', celsius: 'degC', f: 'degF', '°f': 'degF', fahrenheit: 'degF', k: 'K', kelvin: 'K',
  'km/h': 'km/h', kph: 'km/h', mph: 'mi/h', 'm/s': 'm/s',
};
const UNIT_WORD = String.raw`(°?[a-z]+(?:\/[a-z]+)?)`;
const CONVERSION = new RegExp(String.raw`(-?\d+(?:\.\d+)?)\s*(?:degrees?\s+)?${UNIT_WORD}\s+(?:to|in|into|as)\s+(?:degrees?\s+)?${UNIT_WORD}\b`, 'gi');

/** "5 km to miles", "100 degrees F in celsius": the `convert_units` arguments for each. */
export function unitConversions(text: string): { value: number; from: string; to: string }[] {
  const found: { value: number; from: string; to: string }[] = [];
  for (const match of text.matchAll(CONVERSION)) {
    const from = UNITS[(match[2] ?? '').toLowerCase()];
    const to = UNITS[(match[3] ?? '').toLowerCase()];
    if (from !== undefined && to !== undefined && from !== to) found.push({ value: Number(match[1]), from, to });
  }
  return found;
}

/** Places people ask the time of, mapped to IANA zones. */
const ZONES: Record<string, string> = {
  utc: 'UTC', gmt: 'UTC', london: 'Europe/London', paris: 'Europe/Paris', berlin: 'Europe/Berlin', madrid: 'Europe/Madrid',
  rome: 'Europe/Rome', amsterdam: 'Europe/Amsterdam', moscow: 'Europe/Moscow', dubai: 'Asia/Dubai', india: 'Asia/Kolkata',
  mumbai: 'Asia/Kolkata', delhi: 'Asia/Kolkata', singapore: 'Asia/Singapore', 'hong kong': 'Asia/Hong_Kong', shanghai: 'Asia/Shanghai',
  beijing: 'Asia/Shanghai', tokyo: 'Asia/Tokyo', seoul: 'Asia/Seoul', sydney: 'Australia/Sydney', auckland: 'Pacific/Auckland',
  'new york': 'America/New_York', boston: 'America/New_York', chicago: 'America/Chicago', denver: 'America/Denver',
  'los angeles': 'America/Los_Angeles', 'san francisco': 'America/Los_Angeles', seattle: 'America/Los_Angeles',
  toronto: 'America/Toronto', 'mexico city': 'America/Mexico_City', 'são paulo': 'America/Sao_Paulo', 'sao paulo': 'America/Sao_Paulo',
};
const TIME_QUESTION = /\b(?:what(?:'s| is) the (?:current |local )?(?:time|date)|what time is it|current (?:local )?time|time (?:is it )?now|what day is (?:it|today))\b/i;

/** The time zone of a time question ("what time is it in Tokyo?" → Asia/Tokyo; no place → UTC), or undefined. */
export function timeQuestion(text: string): string | undefined {
  if (!TIME_QUESTION.test(text)) return undefined;
  const lower = text.toLowerCase();
  const iana = /\b([A-Z][a-z]+\/[A-Za-z_]+)\b/.exec(text)?.[1];
  if (iana !== undefined) return iana;
  const place = Object.keys(ZONES).find((name) => new RegExp(String.raw`\b${name}\b`).test(lower));
  return place === undefined ? 'UTC' : ZONES[place];
}

interface ToolResult {
  name: string;
  content: string;
}

/** Results of the tool calls made since the last user message, named by the call they answer. */
function toolResults(messages: readonly ChatMessage[]): ToolResult[] {
  const names = new Map<string, string>();
  const results: ToolResult[] = [];
  let start = 0;
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    if (messages[index]?.role === 'user') {
      start = index + 1;
      break;
    }
  }
  for (const message of messages.slice(start)) {
    for (const call of message.tool_calls ?? []) {
      const fn = call['function'];
      if (typeof fn === 'object' && fn !== null && typeof (fn as { name?: unknown }).name === 'string') names.set(call.id, (fn as { name: string }).name);
    }
    if (message.role === 'tool') {
      results.push({ name: names.get(message.tool_call_id ?? '') ?? 'tool', content: messageText(message.content) });
    }
  }
  return results;
}

/** One sentence per tool result: the tool's formatted value when it returned JSON, its message otherwise. */
export function answerFromResults(results: readonly ToolResult[]): string {
  const sentences = results.map(({ name, content }) => {
    const value = readableResult(content);
    return value === undefined ? `The ${name} tool did not give a result: ${excerpt(content)}` : `${name} gives ${value}.`;
  });
  return `[sim-llm] Using the tools: ${sentences.join(' ')} This answer was assembled by sim-llm from the tool results.`;
}

function readableResult(content: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return String(parsed);
  const record = parsed as Record<string, unknown>;
  // The calculator's `result` is formatted (large numbers in exponent form); a plain number reads better.
  if (typeof record['expression'] === 'string' && typeof record['value'] === 'number') return `${record['expression']} = ${record['value']}`;
  for (const key of ['formatted', 'readable', 'result', 'value']) {
    const value = record[key];
    if (typeof value === 'string' || typeof value === 'number') {
      return key === 'result' && typeof record['expression'] === 'string' ? `${record['expression']} = ${value}` : String(value);
    }
  }
  return excerpt(content);
}

function excerpt(text: string, max = 160): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  return collapsed.length <= max ? collapsed : `${collapsed.slice(0, max - 1)}…`;
}
