import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { CliError } from './errors.js';

/** What `sluice.yaml` (or `sluice.json`) says about the function a directory holds. */
export interface DeployConfig {
  name?: string;
  runtime?: string;
  handler?: string;
  memorySize?: number;
  timeout?: number;
  instanceConcurrency?: number;
  description?: string;
  /** `host` or `none`: see the README's "How functions are kept apart". */
  network?: string;
  /** `fc` or `scf`: how the handler is called (README, "Handler conventions"). */
  convention?: string;
  environment?: Record<string, string>;
  /** A custom runtime's server, program then arguments, instead of the package's bootstrap. */
  command?: string[];
  /** Files to leave out of the package, as globs: `*.log`, `tmp/`, `/build/**`. */
  exclude?: string[];
}

const STRINGS = ['name', 'runtime', 'handler', 'description', 'network', 'convention'] as const;
const NUMBERS = ['memorySize', 'timeout', 'instanceConcurrency'] as const;
const KNOWN: readonly string[] = [...STRINGS, ...NUMBERS, 'environment', 'command', 'exclude'];

/**
 * Checks one key of the configuration and sets it: the same rules for sluice.yaml and sluice.json. `where` is
 * the file, and in sluice.yaml the line and column of the key.
 */
function setField(config: DeployConfig, key: string, value: unknown, where: string): void {
  const bad = (what: string) =>
    new CliError(`${where}: ${key} must be ${what}, not ${JSON.stringify(value)}`);
  if (!KNOWN.includes(key)) throw new CliError(`${where}: unknown key "${key}" (known: ${KNOWN.join(', ')})`);
  if ((STRINGS as readonly string[]).includes(key)) {
    if (typeof value !== 'string') throw bad('a string');
    config[key as (typeof STRINGS)[number]] = value;
  } else if ((NUMBERS as readonly string[]).includes(key)) {
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw bad('a whole number');
    config[key as (typeof NUMBERS)[number]] = value as number;
  } else if (key === 'exclude') {
    if (!(Array.isArray(value) && value.every((p) => typeof p === 'string'))) throw bad('a list of patterns');
    config.exclude = value;
  } else if (key === 'command') {
    if (!(Array.isArray(value) && value.every((p) => typeof p === 'string')))
      throw bad('a list: the program, then its arguments');
    config.command = value;
  } else {
    const strings =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Object.values(value).every((x) => typeof x === 'string');
    if (!strings) throw bad('a map of NAME: value');
    config.environment = value as Record<string, string>;
  }
}

/**
 * Reads sluice.yaml with a YAML parser. The failsafe schema reads every scalar as a string, as environment
 * variables are (`PORT: 8080` is "8080", `DEBUG: true` is "true"); the numeric keys are converted here. An
 * empty `environment:` or `exclude:` (what `sluice init` writes) means none.
 */
export function parseSluiceYaml(text: string, file: string): DeployConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { schema: 'failsafe', lineCounter, prettyErrors: false });
  const at = (node: { range?: [number, number, number] | null } | null | undefined) => {
    if (!node?.range) return file;
    const { line, col } = lineCounter.linePos(node.range[0]);
    return `${file}:${line}:${col}`;
  };
  const [error] = [...doc.errors, ...doc.warnings];
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new CliError(`${file}:${line}:${col}: ${error.message}`);
  }
  const config: DeployConfig = {};
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === '')) return config;
  if (!isMap(doc.contents)) throw new CliError(`${at(doc.contents)}: expected a map of key: value`);
  // Aliases resolve, within the parser's bound on their expansion, only in the document as a whole.
  const values = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  for (const { key } of doc.contents.items) {
    if (!isScalar(key)) throw new CliError(`${at(key)}: a key must be a plain name`);
    const name = String(key.value);
    let value = values[name];
    if (value === '' && name === 'environment') value = {};
    else if (value === '' && (name === 'exclude' || name === 'command')) value = [];
    else if (
      (NUMBERS as readonly string[]).includes(name) &&
      typeof value === 'string' &&
      /^\d+$/.test(value)
    )
      value = Number(value);
    setField(config, name, value, at(key));
  }
  return config;
}

/** A plain scalar where YAML reads it back unchanged, else a double-quoted one (JSON's syntax is YAML's). */
function yamlScalar(value: string): string {
  return /^[\w./$+][\w ./@$+,:-]*$/.test(value) && !/:\s|\s$/.test(value) ? value : JSON.stringify(value);
}

export function formatSluiceYaml(config: DeployConfig): string {
  const lines = ['# The function that "sluice deploy" makes of this directory.'];
  for (const key of [
    'name',
    'runtime',
    'handler',
    'memorySize',
    'timeout',
    'instanceConcurrency',
    'description',
    'network',
    'convention',
  ] as const) {
    const value = config[key];
    if (value !== undefined) lines.push(`${key}: ${typeof value === 'number' ? value : yamlScalar(value)}`);
  }
  lines.push('# Environment variables, one "NAME: value" a line:', 'environment:');
  for (const [k, v] of Object.entries(config.environment ?? {})) lines.push(`  ${k}: ${yamlScalar(v)}`);
  if (!config.environment) lines.push('#  GREETING: hello');
  lines.push('# Files to leave out of the package (.git, .sluice and this file always are):', 'exclude:');
  for (const pattern of config.exclude ?? []) lines.push(`  - ${JSON.stringify(pattern)}`);
  if (!config.exclude) lines.push('#  - "*.log"');
  return `${lines.join('\n')}\n`;
}

function checkJsonConfig(value: unknown, file: string): DeployConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CliError(`${file} must hold a JSON object`);
  const config: DeployConfig = {};
  for (const [key, v] of Object.entries(value)) setField(config, key, v, file);
  return config;
}

/** The deploy configuration of a directory: `sluice.yaml`, else `sluice.json`, else nothing. */
export async function readDeployConfig(
  dir: string,
): Promise<{ config: DeployConfig; file: string | undefined }> {
  const yaml = join(dir, 'sluice.yaml');
  if (existsSync(yaml))
    return { config: parseSluiceYaml(await readFile(yaml, 'utf8'), 'sluice.yaml'), file: yaml };
  const json = join(dir, 'sluice.json');
  if (existsSync(json)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(json, 'utf8'));
    } catch (error) {
      throw new CliError(`sluice.json is not valid JSON: ${(error as Error).message}`);
    }
    return { config: checkJsonConfig(parsed, 'sluice.json'), file: json };
  }
  return { config: {}, file: undefined };
}
