import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { type MathNode, type Unit, all, create } from 'mathjs';

/**
 * A mathjs instance for untrusted expressions, following mathjs's security guidance: every function that
 * parses or evaluates strings, defines units, changes the instance's configuration or imports code is
 * replaced by one that throws. `parse` is kept privately (captured before the override) so we can parse
 * the caller's expression ourselves and inspect the tree before anything runs.
 */
if (all === undefined) throw new Error('mathjs did not export its function factories');
const math = create(all, { number: 'number', precision: 64 });
const parse = math.parse;

const DISABLED_FUNCTIONS = [
  'import',
  'createUnit',
  'reviver',
  'evaluate',
  'parse',
  'compile',
  'parser',
  'simplify',
  'simplifyConstant',
  'simplifyCore',
  'derivative',
  'resolve',
  'rationalize',
  'symbolicEqual',
  'leafCount',
] as const;
math.import(
  Object.fromEntries(
    DISABLED_FUNCTIONS.map((name) => [
      name,
      () => {
        throw new EnsembleError(ErrorCode.InvalidRequest, `The function ${name}() is not available in the calculator`);
      },
    ]),
  ),
  { override: true },
);

/**
 * Names refused anywhere in an expression (called or merely referenced, so `f = config; f(...)` fails too).
 * `config` would change the shared instance for every later caller, and `typed`, `chain` and `help` cannot
 * be overridden above because mathjs builds other functions from them. The rest allocate arrays sized by
 * their arguments: `zeros(1e5, 1e5)` would exhaust memory in one synchronous step no timeout can interrupt.
 */
const BLOCKED_SYMBOLS = new Set([
  'config',
  'typed',
  'chain',
  'help',
  'zeros',
  'ones',
  'identity',
  'range',
  'random',
  'randomInt',
  'pickRandom',
  'resize',
  'reshape',
  'kron',
  'sparse',
]);
const MAX_EXPRESSION_LENGTH = 1_000;
const MAX_RANGE_ELEMENTS = 100_000;

export interface CalculationResult {
  /** The expression as the parser understood it (normalized spacing, explicit operators). */
  expression: string;
  /** The result formatted with up to 14 significant digits (units, matrices and booleans included). */
  result: string;
  /** The numeric value when the result is a plain finite number. */
  value?: number;
  /** mathjs type of the result: number, Unit, DenseMatrix, boolean, ... */
  type: string;
}

/** Evaluates a math expression (arithmetic, functions, units, matrices) without `eval`. */
export function calculate(input: string): CalculationResult {
  const source = input.trim();
  if (source === '') throw invalid('The expression is empty; pass something like "2 * (3 + 4)"');
  if (source.length > MAX_EXPRESSION_LENGTH) throw invalid(`The expression is ${source.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`);
  let node: MathNode;
  try {
    node = parse(source);
  } catch (error) {
    throw invalid(`Could not parse the expression: ${errorMessage(error)}`);
  }
  checkTree(node);
  let value: unknown;
  try {
    value = node.compile().evaluate(new Map<string, unknown>());
  } catch (error) {
    if (EnsembleError.is(error)) throw error;
    throw invalid(`Could not evaluate "${node.toString()}": ${errorMessage(error)}`);
  }
  // Several statements (`a = 2; a * 3`) give a ResultSet: the last value is the answer.
  if (math.typeOf(value) === 'ResultSet') {
    const entries = (value as { entries: unknown[] }).entries;
    value = entries.at(-1);
  }
  if (value === undefined || typeof value === 'function') throw invalid(`"${node.toString()}" does not produce a value`);
  const result: CalculationResult = {
    expression: node.toString(),
    result: math.format(value, { precision: 14 }),
    type: math.typeOf(value),
  };
  if (typeof value === 'number' && Number.isFinite(value)) result.value = roundNumber(value);
  return result;
}

export interface UnitConversion {
  value: number;
  from: string;
  to: string;
  result: number;
  /** `"<result> <to>"`, e.g. `"212 degF"`. */
  formatted: string;
}

/** Converts a value between compatible units (length, mass, temperature, speed, ...). */
export function convertUnits(value: number, from: string, to: string): UnitConversion {
  const source = parseUnit(from, 'from');
  const target = parseUnit(to, 'to');
  if (!source.equalBase(target)) {
    throw invalid(
      `Cannot convert "${from}" to "${to}": they measure different things (${dimensionOf(source)} vs ${dimensionOf(target)}). Pick a target unit of the same kind.`,
    );
  }
  const converted = roundNumber(math.unit(value, from).toNumber(to));
  return { value, from, to, result: converted, formatted: `${converted} ${to}` };
}

function parseUnit(text: string, field: 'from' | 'to'): Unit {
  let unit: Unit;
  try {
    unit = math.unit(text);
  } catch {
    throw invalid(`"${text}" (${field}) is not a unit the converter knows; use symbols like m, km, mi, kg, lb, degC, degF, K, km/h, m/s, L, gal`);
  }
  // A "unit" string with its own number ("5 m") would silently scale the conversion.
  if (unit.value !== null) throw invalid(`"${text}" (${field}) must be a unit without a number; put the number in "value"`);
  return unit;
}

function dimensionOf(unit: Unit): string {
  const dimension = unit.dimensions
    .map((power, index) => (power === 0 ? undefined : `${BASE_DIMENSIONS[index] ?? `dim${index}`}${power === 1 ? '' : `^${power}`}`))
    .filter((part) => part !== undefined);
  return dimension.length === 0 ? 'dimensionless' : dimension.join('·');
}

const BASE_DIMENSIONS = ['mass', 'length', 'time', 'current', 'temperature', 'luminous intensity', 'amount of substance', 'angle', 'bit'];

function checkTree(root: MathNode): void {
  root.traverse((node) => {
    if (math.isSymbolNode(node) && BLOCKED_SYMBOLS.has(node.name)) {
      throw invalid(`The function ${node.name}() is not available in the calculator`);
    }
    if (math.isRangeNode(node)) {
      const bounds = [node.start, node.end, node.step].map((part) => (part === undefined || part === null ? 1 : constantValue(part)));
      const [start, end, step] = bounds;
      if (start === undefined || end === undefined || step === undefined || step === 0 || Math.abs((end - start) / step) > MAX_RANGE_ELEMENTS) {
        throw invalid(`Ranges must have constant bounds and at most ${MAX_RANGE_ELEMENTS} elements`);
      }
    }
  });
}

function constantValue(node: MathNode): number | undefined {
  if (math.isConstantNode(node) && typeof node.value === 'number') return node.value;
  if (math.isOperatorNode(node) && node.fn === 'unaryMinus' && node.args[0] !== undefined) {
    const inner = constantValue(node.args[0]);
    return inner === undefined ? undefined : -inner;
  }
  return undefined;
}

/** Hides binary floating point noise (211.99999999999997 → 212) while keeping 12 significant digits. */
function roundNumber(value: number): number {
  return Number(value.toPrecision(12));
}

function invalid(message: string): EnsembleError {
  return new EnsembleError(ErrorCode.InvalidRequest, message);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
