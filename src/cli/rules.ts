import {
  checkCondition,
  numericValue,
  parseInterval,
  type Condition,
  Issues,
  type Source,
} from '../contract/domain.js';
import { UsageError } from './errors.js';

const SOURCE_WORDS: Record<string, Source> = {
  header: 'header',
  headers: 'header',
  cookie: 'cookie',
  cookies: 'cookie',
  query: 'query',
  queries: 'query',
  key: 'key',
  routingkey: 'key',
};

/** Operators as written on the command line; `exact` is the seeds' (Tencent SCF's) word for `=`. */
const SYMBOL_OP = /^(>=|<=|!=|==|=|>|<)/;
const WORD_OP = /^(in|range|percent|exact)(?=\s|$)/i;

const EXAMPLE = 'such as "header:User = Bob", "key:uid in 42,43" or "query:age range [18,30)"';

function unquote(text: string): string {
  const match = /^(["'])(.*)\1$/s.exec(text);
  return match ? (match[2] as string) : text;
}

/**
 * One rule condition from the command line: `SOURCE:NAME OP VALUE` (`header:User = Bob`, `key:uid in 42,43`,
 * `query:age range [18,30)`, `cookie:uid percent 20`), or the seeds' `invoke.headers.User exact Bob`.
 */
export function parseRule(text: string): Condition {
  const fail = (problem: string) =>
    new UsageError(
      `--rule "${text}": ${problem}`,
      problem.includes(EXAMPLE) ? undefined : `a rule is SOURCE:NAME OP VALUE`,
    );
  const trimmed = text.trim();
  let source: Source | undefined;
  let rest: string;
  const seed = /^invoke\.([A-Za-z]+)\.(.*)$/s.exec(trimmed);
  const plain = /^([A-Za-z]+):(.*)$/s.exec(trimmed);
  if (seed) {
    source = SOURCE_WORDS[(seed[1] as string).toLowerCase()];
    if (!source)
      throw fail(
        `unknown source "invoke.${seed[1] ?? ''}" (use invoke.headers, invoke.cookies, invoke.query)`,
      );
    rest = seed[2] as string;
  } else if (plain && !/\s/.test(plain[1] as string)) {
    source = SOURCE_WORDS[(plain[1] as string).toLowerCase()];
    if (!source) throw fail(`unknown source "${plain[1] ?? ''}" (use header, cookie, query or key)`);
    rest = plain[2] as string;
  } else {
    throw fail(`expected SOURCE:NAME OP VALUE, ${EXAMPLE}`);
  }
  const nameMatch = /^[^\s=!<>~]+/.exec(rest);
  if (!nameMatch) throw fail(`missing the parameter name after "${source}:"`);
  const name = nameMatch[0];
  rest = rest.slice(name.length).trimStart();
  if (rest === '') throw fail(`missing an operator and a value after "${name}"`);
  const opMatch = SYMBOL_OP.exec(rest) ?? WORD_OP.exec(rest);
  if (!opMatch) {
    const found = /^[^\w\s]+/.exec(rest)?.[0] ?? rest.split(/\s/)[0] ?? rest;
    throw fail(`unknown operator "${found}" (use = != > < >= <= in range percent)`);
  }
  const opText = (opMatch[1] as string).toLowerCase();
  const op = opText === 'exact' || opText === '==' ? '=' : opText;
  const valueText = rest.slice(opMatch[0].length).trim();
  if (valueText === '') throw fail(`missing a value after "${opMatch[0]}"`);
  const condition = { source, name, op, value: conditionValue(op, valueText, fail) } as Condition;
  const issues = new Issues();
  checkCondition(condition, '', issues);
  const first = issues.list[0];
  if (first) throw fail(`${first.path ? `${first.path} ` : ''}${first.message}`);
  return condition;
}

function conditionValue(op: string, text: string, fail: (problem: string) => UsageError): unknown {
  switch (op) {
    case '=':
    case '!=':
      return unquote(text);
    case '>':
    case '<':
    case '>=':
    case '<=': {
      const n = numericValue(unquote(text));
      if (n === undefined) throw fail(`"${text}" is not a number ("${op}" compares numbers)`);
      return n;
    }
    case 'in': {
      const inner = /^\[(.*)\]$/s.exec(text)?.[1] ?? text;
      const items = inner.split(',').map((item) => unquote(item.trim()));
      if (items.some((item) => item === ''))
        throw fail(`"${text}" is not a comma-separated list such as 42,43`);
      return items;
    }
    case 'range':
      if (!parseInterval(text))
        throw fail(`"${text}" is not a non-empty interval such as [1,100), (0,1] or [5,5]`);
      return text;
    case 'percent': {
      const n = numericValue(text.replace(/%$/, ''));
      if (n === undefined || n < 0 || n > 100)
        throw fail(`percent takes a number from 0 to 100, not "${text}"`);
      return n;
    }
    default:
      throw fail(`unknown operator "${op}"`);
  }
}

/** The command-line form of a condition, the inverse of parseRule. */
export function formatRule(condition: Condition): string {
  const value = Array.isArray(condition.value) ? condition.value.join(',') : String(condition.value);
  return `${condition.source}:${condition.name} ${condition.op} ${value}`;
}
