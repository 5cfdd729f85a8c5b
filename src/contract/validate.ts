import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { FieldIssue } from '../core/errors.js';
import { describeType, Issues } from '../core/validate.js';

/**
 * Checks bodies against the contract's schemas: ajv compiles each schema to code once, the fastest way to
 * validate JSON there is, and collects every problem, each at its field's path (`canary.rules[2].op`).
 */
const ajv = new Ajv2020({
  allErrors: true,
  // The messages below read the failing schema and value.
  verbose: true,
  // Formats (date-time) describe the server's answers; requests have none to check.
  validateFormats: false,
  // TypeBox marks optional fields with symbols; `required` lists the rest.
  strictRequired: false,
});

export interface Validator<S extends TSchema> {
  /** The value, typed, if it fits; throws InvalidArgument naming every problem otherwise. */
  (value: unknown): Static<S>;
  /** Every problem with the value, `[]` when it fits. */
  issues(value: unknown): FieldIssue[];
}

/**
 * A validator for `schema`; its `title` names the body in the error message (`alias is invalid: …`). It is
 * compiled when first used, so that a server starts without compiling the schemas of routes nobody calls.
 */
export function validator<S extends TSchema>(schema: S): Validator<S> {
  let compiled: ValidateFunction | undefined;
  const what = typeof schema.title === 'string' ? schema.title : 'request';
  const issues = (value: unknown): FieldIssue[] => {
    if (value === undefined) return [{ path: '', message: 'the body is empty: send a JSON object' }];
    const check = (compiled ??= ajv.compile(schema));
    return check(value) ? [] : issuesOf(check.errors ?? []);
  };
  const validate = (value: unknown): Static<S> => {
    const found = new Issues();
    for (const issue of issues(value)) found.add(issue.path, issue.message);
    found.throwIfAny(what);
    return value;
  };
  return Object.assign(validate, { issues });
}

/** `/canary/rules/2/op` → `canary.rules[2].op`, the paths the API has always named. */
function pointerPath(pointer: string, key?: string): string {
  const parts = pointer === '' ? [] : pointer.slice(1).split('/');
  if (key !== undefined) parts.push(key);
  return parts
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

type Schema = Record<string, unknown>;

/** Ajv's errors as field issues, worded as a person would say them, without the noise of choices not taken. */
function issuesOf(errors: readonly ErrorObject[]): FieldIssue[] {
  const { hidden, quiet } = choices(errors);
  const issues: FieldIssue[] = [];
  const told = new Set<string>();
  for (const error of errors) {
    // A failed `propertyNames` or `if` is told by the error of the schema it applied.
    if (error.keyword === 'propertyNames' || error.keyword === 'if') continue;
    if (quiet.has(error) || hidden.some((prefix) => error.schemaPath.startsWith(prefix))) continue;
    const issue = issueOf(error);
    // One problem per field and schema: a value of the wrong type is not also told it is not in the enum.
    const schema = `${issue.path} ${error.schemaPath.slice(0, error.schemaPath.lastIndexOf('/'))}`;
    if (told.has(schema)) continue;
    told.add(schema);
    issues.push(issue);
  }
  return issues;
}

/**
 * How to report a failed `anyOf`/`oneOf`. One that says what it wants (its description) is told as that, its
 * branches' errors hidden. Otherwise the branches of the value's type speak for it (a `canary` object is not
 * told it should have been null), and when no branch has that type, the choice says which types it takes.
 */
function choices(errors: readonly ErrorObject[]): { hidden: string[]; quiet: Set<ErrorObject> } {
  const hidden: string[] = [];
  const quiet = new Set<ErrorObject>();
  for (const error of errors) {
    if (error.keyword !== 'anyOf' && error.keyword !== 'oneOf') continue;
    const parent = error.parentSchema as Schema;
    const branches = parent[error.keyword] as Schema[];
    const typed = branches.map((b) => b.type === undefined || jsonTypeOf(error.data, b.type));
    const described = typeof parent.description === 'string';
    branches.forEach((_, i) => {
      if (described || !typed[i]) hidden.push(`${error.schemaPath}/${i}/`);
    });
    if (!described && typed.some(Boolean)) quiet.add(error);
  }
  return { hidden, quiet };
}

function jsonTypeOf(value: unknown, type: unknown): boolean {
  const types = Array.isArray(type) ? (type as string[]) : [type as string];
  return types.some((t) => {
    if (t === 'null') return value === null;
    if (t === 'array') return Array.isArray(value);
    if (t === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value);
    if (t === 'integer') return Number.isInteger(value);
    return typeof value === t;
  });
}

function issueOf(error: ErrorObject): FieldIssue {
  const parent = error.parentSchema as Schema;
  const params = error.params as Record<string, unknown>;
  const at = (key?: string) => pointerPath(error.instancePath, key);
  // A property name that fails `propertyNames`: the name is the field.
  const path = error.propertyName === undefined ? at() : at(error.propertyName);
  const described = typeof parent.description === 'string' ? parent.description : undefined;
  switch (error.keyword) {
    case 'required':
      return { path: at(params.missingProperty as string), message: 'is required' };
    case 'additionalProperties': {
      const known = Object.keys((parent.properties as Schema | undefined) ?? {});
      return {
        path: at(params.additionalProperty as string),
        message: `is not a known field${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
      };
    }
    case 'type':
      return { path, message: `must be ${article(String(params.type))}, not ${valueOf(error.data)}` };
    case 'enum':
      return { path, message: `must be one of ${(params.allowedValues as string[]).join(', ')}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, message: rangeOf(parent, error.data) };
    case 'multipleOf':
      return { path, message: `must be a multiple of ${String(params.multipleOf)}` };
    case 'minLength':
      return {
        path,
        message:
          params.limit === 1
            ? 'must not be empty'
            : `must be at least ${String(params.limit)} characters long`,
      };
    case 'maxLength':
      return { path, message: `must be at most ${String(params.limit)} characters long` };
    case 'minItems':
    case 'maxItems':
      return { path, message: countOf(parent) };
    case 'anyOf':
    case 'oneOf': {
      if (described) return { path, message: described };
      const types = (parent[error.keyword] as Schema[]).map((b) => article(String(b.type)));
      return { path, message: `must be ${types.join(' or ')}, not ${valueOf(error.data)}` };
    }
    case 'pattern':
      return { path, message: `${described ?? error.message ?? 'is invalid'}, not ${shown(error.data)}` };
    case 'minProperties':
    case 'maxProperties':
      return { path, message: described ?? error.message ?? 'is invalid' };
    default:
      return { path, message: error.message ?? 'is invalid' };
  }
}

const article = (type: string) =>
  type === 'null' ? 'null' : `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;

/** `a string`, `a number 1.5`: numbers are shown, as the type alone would not say what is wrong with 1.5. */
const valueOf = (value: unknown) => (typeof value === 'number' ? `a number ${value}` : describeType(value));

/** A string as a message quotes it: whole, unless it is long. */
const shown = (value: unknown) => {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 36)}…"` : text;
};

function rangeOf(schema: Schema, value: unknown): string {
  const bound = (key: string) => (typeof schema[key] === 'number' ? schema[key] : undefined);
  const [min, max, above, below] = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].map(bound);
  const low = above !== undefined ? `above ${above}` : min !== undefined && `at least ${min}`;
  const high = below !== undefined ? `below ${below}` : max !== undefined && `at most ${max}`;
  const range =
    min !== undefined && max !== undefined
      ? `from ${min} to ${max}`
      : [low, high].filter(Boolean).join(' and ');
  return `must be ${range}, not ${String(value)}`;
}

function countOf(schema: Schema): string {
  const min = schema.minItems as number | undefined;
  const max = schema.maxItems as number | undefined;
  if (min !== undefined && max !== undefined) return `must hold between ${min} and ${max} items`;
  return min !== undefined ? `must hold at least ${min} items` : `must hold at most ${String(max)} items`;
}
