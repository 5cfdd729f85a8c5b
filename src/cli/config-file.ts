import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  environment?: Record<string, string>;
  /** Files to leave out of the package, as globs: `*.log`, `tmp/`, `/build/**`. */
  exclude?: string[];
}

const STRINGS = ['name', 'runtime', 'handler', 'description', 'network'] as const;
const NUMBERS = ['memorySize', 'timeout', 'instanceConcurrency'] as const;
const BLOCKS = ['environment', 'exclude'] as const;
const KNOWN: readonly string[] = [...STRINGS, ...NUMBERS, ...BLOCKS];

/** A scalar: `"json string"`, `'single quoted'` (`''` for a quote), or plain text up to a ` #` comment. */
function scalar(raw: string, where: string): string {
  const text = raw.trim();
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      throw new CliError(`${where}: ${text} is not a well-formed "quoted string"`);
    }
  }
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text))
      throw new CliError(`${where}: ${text} is not a well-formed 'quoted string'`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  return text.replace(/\s+#.*$/, '');
}

function setScalar(config: DeployConfig, key: string, value: string, where: string): void {
  if ((NUMBERS as readonly string[]).includes(key)) {
    if (!/^\d+$/.test(value)) throw new CliError(`${where}: ${key} must be a whole number, not "${value}"`);
    config[key as (typeof NUMBERS)[number]] = Number(value);
  } else config[key as (typeof STRINGS)[number]] = value;
}

/**
 * The flat YAML that `sluice init` writes: `key: value` lines, `#` comments, an `environment:` block of
 * indented `NAME: value` lines and an `exclude:` block of indented `- pattern` lines. Nothing more of YAML.
 */
export function parseSluiceYaml(text: string, file: string): DeployConfig {
  const config: DeployConfig = {};
  let block: 'environment' | 'exclude' | undefined;
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    if (/^\s/.test(line)) {
      if (block === 'environment') {
        const m = /^\s+([A-Za-z_][A-Za-z0-9_]*)\s*:(?:\s+(.*))?$/.exec(line);
        if (!m) throw new CliError(`${where}: expected "  NAME: value" in the environment block`);
        (config.environment ??= {})[m[1] as string] = scalar(m[2] ?? '', where);
      } else if (block === 'exclude') {
        const m = /^\s+-\s+(.+)$/.exec(line);
        if (!m) throw new CliError(`${where}: expected "  - pattern" in the exclude block`);
        (config.exclude ??= []).push(scalar(m[1] as string, where));
      } else throw new CliError(`${where}: an indented line belongs under environment: or exclude:`);
      return;
    }
    const m = /^([A-Za-z][A-Za-z0-9_]*)\s*:(?:\s+(.*))?$/.exec(line);
    if (!m) throw new CliError(`${where}: expected "key: value"`);
    const key = m[1] as string;
    const rest = (m[2] ?? '').trim();
    if (!KNOWN.includes(key))
      throw new CliError(`${where}: unknown key "${key}" (known: ${KNOWN.join(', ')})`);
    if (seen.has(key)) throw new CliError(`${where}: ${key} is set twice`);
    seen.add(key);
    block = undefined;
    if (key === 'environment' || key === 'exclude') {
      if (rest === '' || rest.startsWith('#')) {
        block = key;
        if (key === 'environment') config.environment = {};
        else config.exclude = [];
      } else if (rest === '{}' && key === 'environment') config.environment = {};
      else if (rest === '[]' && key === 'exclude') config.exclude = [];
      else throw new CliError(`${where}: ${key}: takes an indented block on the lines below`);
      return;
    }
    setScalar(config, key, scalar(rest, where), where);
  });
  return config;
}

function yamlScalar(value: string): string {
  return /^[\w./@$+-][\w ./@$+,:-]*$/.test(value) && !/:\s|\s$/.test(value) ? value : JSON.stringify(value);
}

export function formatSluiceYaml(config: DeployConfig): string {
  const lines = ['# The function that "sluice deploy" makes of this directory (flat YAML: key: value).'];
  for (const key of [
    'name',
    'runtime',
    'handler',
    'memorySize',
    'timeout',
    'instanceConcurrency',
    'description',
    'network',
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
  const obj = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    const bad = (what: string) => new CliError(`${file}: ${key} must be ${what}`);
    if (!KNOWN.includes(key))
      throw new CliError(`${file}: unknown key "${key}" (known: ${KNOWN.join(', ')})`);
    if ((STRINGS as readonly string[]).includes(key) && typeof v !== 'string') throw bad('a string');
    if ((NUMBERS as readonly string[]).includes(key) && !Number.isInteger(v)) throw bad('a whole number');
    if (key === 'exclude' && !(Array.isArray(v) && v.every((p) => typeof p === 'string')))
      throw bad('a list of patterns');
    if (
      key === 'environment' &&
      !(typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string'))
    )
      throw bad('an object of strings');
  }
  return obj;
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
