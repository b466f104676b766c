/**
 * Loads the configuration: defaults < the file given by `--config FILE` or HERALD_CONFIG <
 * environment HERALD_<NAME>. Every problem is collected and reported together; the result is frozen.
 * This is the only module that reads process.env (callers pass it in).
 */
import { readFileSync } from 'node:fs';
import { PARAMS, envName, type ApiToken, type Config, type ConfigShape, type ListenAddress, type ParamSpec } from './schema';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Explicit overrides (tests), by parameter name; applied last. */
  overrides?: Readonly<Record<string, unknown>>;
}

export interface LoadedConfig {
  config: Config;
  /** Non-fatal remarks for the log (e.g. totag_avpid has no meaning here). */
  warnings: string[];
  /** Where the file came from, if any. */
  file: string | null;
}

export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const env = sources.env ?? {};
  const problems: string[] = [];
  const raw = new Map<string, { value: unknown; from: string }>();
  const file = configFile(sources.argv ?? [], env);
  if (file) readFile(file, raw, problems);
  for (const p of PARAMS) {
    const v = env[envName(p)];
    if (v !== undefined) raw.set(p.name, { value: v, from: envName(p) });
  }
  for (const [name, value] of Object.entries(sources.overrides ?? {})) {
    if (!PARAMS.some((p) => p.name === name)) problems.push(`${name}: unknown parameter`);
    else raw.set(name, { value, from: 'override' });
  }
  const out: Record<string, unknown> = {};
  for (const p of PARAMS) {
    const given = raw.get(p.name);
    const r = coerce(p, given ? given.value : p.default);
    if ('error' in r) problems.push(`${p.name}: ${r.error}${given ? ` (from ${given.from})` : ''}`);
    else out[p.key] = r.value;
  }
  const shape = out as unknown as ConfigShape;
  if (problems.length === 0) crossCheck(shape, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const warnings: string[] = [];
  if (raw.has('totag_avpid')) warnings.push('totag_avpid is accepted for compatibility and has no meaning in Herald (To-tags are stored with the subscription)');
  return { config: deepFreeze(shape), warnings, file };
}

function configFile(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): string | null {
  const i = argv.indexOf('--config');
  if (i >= 0 && argv[i + 1]) return argv[i + 1] as string;
  const eq = argv.find((a) => a.startsWith('--config='));
  if (eq) return eq.slice('--config='.length);
  return env.HERALD_CONFIG || null;
}

function readFile(path: string, raw: Map<string, { value: unknown; from: string }>, problems: string[]): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    problems.push(`config file ${path}: ${(e as Error).message}`);
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`config file ${path}: must be a JSON object of parameter: value`);
    return;
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (!PARAMS.some((p) => p.name === name)) problems.push(`${name}: unknown parameter (in ${path})`);
    else raw.set(name, { value, from: path });
  }
}

type Coerced = { value: unknown } | { error: string };

function coerce(p: ParamSpec, v: unknown): Coerced {
  switch (p.type) {
    case 'int': return coerceInt(p, v);
    case 'bool': return coerceBool(v);
    case 'string': return typeof v === 'string' ? { value: v } : { error: 'must be a string' };
    case 'enum': return typeof v === 'string' && p.values?.includes(v) ? { value: v } : { error: `must be one of ${p.values?.join(', ')}` };
    case 'listen': return coerceListen(v);
    case 'json': return coerceTokens(v);
    case 'list': return coerceList(v);
  }
}

function coerceInt(p: ParamSpec, v: unknown): Coerced {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n)) return { error: 'must be a whole number' };
  if (p.values && !p.values.includes(n)) return { error: `must be one of ${p.values.join(', ')}` };
  if (p.min !== undefined && n < p.min) return { error: `must be at least ${p.min}${p.unit ? ` ${p.unit}` : ''}` };
  if (p.max !== undefined && n > p.max) return { error: `must be at most ${p.max}${p.unit ? ` ${p.unit}` : ''}` };
  return { value: n };
}

function coerceBool(v: unknown): Coerced {
  if (typeof v === 'boolean') return { value: v };
  if (v === 1 || v === 0) return { value: v === 1 };
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return { value: true };
    if (['0', 'false', 'no', 'off'].includes(s)) return { value: false };
  }
  return { error: 'must be 1/0, true/false, yes/no or on/off' };
}

/** `udp:0.0.0.0:5060,tcp:[::1]:5060` */
export function parseListen(s: string): ListenAddress[] | string {
  const out: ListenAddress[] = [];
  for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^(udp|tcp):(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/i.exec(part);
    const port = m ? Number(m[3]) : -1;
    if (!m || port > 65535) return `'${part}' is not transport:host:port (udp or tcp)`;
    out.push({ transport: (m[1] as string).toLowerCase() as 'udp' | 'tcp', host: (m[2] as string).replace(/^\[|\]$/g, ''), port });
  }
  return out.length ? out : 'needs at least one listener';
}

function coerceListen(v: unknown): Coerced {
  if (typeof v !== 'string') return { error: 'must be a string like udp:0.0.0.0:5060,tcp:0.0.0.0:5060' };
  const r = parseListen(v);
  return typeof r === 'string' ? { error: r } : { value: r };
}

function coerceTokens(v: unknown): Coerced {
  let list = v;
  if (typeof v === 'string') {
    try { list = JSON.parse(v); } catch { return { error: 'must be a JSON list of {token, scopes, domains?}' }; }
  }
  if (!Array.isArray(list)) return { error: 'must be a list of {token, scopes, domains?}' };
  const tokens: ApiToken[] = [];
  for (const [i, t] of list.entries()) {
    const ok = t && typeof t.token === 'string' && t.token.length >= 8 && Array.isArray(t.scopes) && t.scopes.every((s: unknown) => typeof s === 'string')
      && (t.domains === undefined || (Array.isArray(t.domains) && t.domains.every((d: unknown) => typeof d === 'string')))
      && (t.user === undefined || (typeof t.user === 'string' && /^sips?:[^@\s]+@[^@\s]+$/i.test(t.user)));
    if (!ok) return { error: `entry ${i} must be {token (8+ chars), scopes: string[], domains?: string[], user?: "sip:user@domain"}` };
    tokens.push({ token: t.token, scopes: [...t.scopes], ...(t.domains ? { domains: [...t.domains] } : {}), ...(t.user ? { user: t.user } : {}) });
  }
  return { value: tokens };
}

/** A list of strings: a JSON list (in the file or the environment), or a comma-separated string (the environment's form). */
function coerceList(v: unknown): Coerced {
  let list = v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.startsWith('[')) {
      try { list = JSON.parse(t); } catch { return { error: 'must be a JSON list of strings or a comma list' }; }
    } else list = t === '' ? [] : t.split(',').map((x) => x.trim()).filter(Boolean);
  }
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) return { error: 'must be a list of strings' };
  return { value: [...list] };
}

function crossCheck(c: ConfigShape, problems: string[]): void {
  if (c.minExpiresSec > c.maxExpiresSec) problems.push('min_expires: must not exceed max_expires');
  if (c.sipT1Ms >= c.sipT2Ms) problems.push('sip_t1: must be below sip_t2');
  if (c.expiresOffsetSec >= c.maxExpiresSec) problems.push('expires_offset: must be below max_expires');
  for (const o of c.webhookAllowList) {
    if (!/^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?\/?$/.test(o)) problems.push(`webhook_allow_list: '${o}' is not an origin like https://hooks.example.com or http://127.0.0.1:8081`);
  }
  if (c.subscriptionWarningSec >= c.maxSubscriptionDurationMin * 60) problems.push('subscription_warning: must be below max_subscription_duration');
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
