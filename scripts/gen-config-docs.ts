/**
 * Writes config/default.json (every parameter at its default) and config/README.md (one section per
 * parameter, in the style of the Kamailio module READMEs) from src/config/schema.ts.
 * Run: node -r @swc-node/register scripts/gen-config-docs.ts   (a test checks both are current)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PARAMS, envName, type ParamSpec } from '../src/config/schema';

export function defaultJson(): string {
  const o: Record<string, unknown> = {};
  for (const p of PARAMS) o[p.name] = p.default;
  return `${JSON.stringify(o, null, 2)}\n`;
}

function typeText(p: ParamSpec): string {
  switch (p.type) {
    case 'int': return p.unit ? `int, ${p.unit}` : 'int';
    case 'bool': return 'bool (1/0, true/false)';
    case 'enum': return `one of ${p.values?.join(', ')}`;
    case 'listen': return 'list of transport:host:port';
    case 'json': return 'JSON';
    case 'list': return 'list of str (comma-separated)';
    default: return 'str';
  }
}

export function readme(): string {
  const lines = [
    '# Herald parameters',
    '',
    'Every parameter can be set in a JSON config file (`npm start -- --config FILE`, or `HERALD_CONFIG=FILE`)',
    'under the name shown, or in the environment as `HERALD_<NAME>` (upper case). The environment wins over',
    'the file, the file over the defaults. Any invalid value stops start-up with exit code 2 and a message',
    'naming every bad parameter. `default.json` beside this file lists every parameter at its default.',
    'The names of the classic presence module (seed 001) are accepted as written.',
    '',
  ];
  PARAMS.forEach((p, i) => {
    const bounds = [p.min !== undefined ? `min ${p.min}` : '', p.max !== undefined ? `max ${p.max}` : '', p.values ? `values ${p.values.join('|')}` : '']
      .filter(Boolean).join(', ');
    lines.push(`## ${i + 1}. \`${p.name}\` (${typeText(p)})`, '', p.doc, '');
    lines.push(`*Default value is \`${JSON.stringify(p.default)}\`.*${bounds ? ` Bounds: ${bounds}.` : ''}${p.secret ? ' Secret: redacted when the configuration is shown.' : ''}`, '');
    lines.push('Example: setting the parameter', '', '```', `${envName(p)}=${example(p)}`, `{ "${p.name}": ${JSON.stringify(exampleValue(p))} }`, '```', '');
  });
  return lines.join('\n');
}

function exampleValue(p: ParamSpec): unknown {
  if (p.name === 'db_url') return 'postgres://herald@127.0.0.1:5432/herald';
  if (p.name === 'webhook_allow_list') return ['https://hooks.example.com', 'http://127.0.0.1:8081'];
  if (p.name === 'api_tokens') return [{ token: 'change-me-0123456789', scopes: ['presence:read', 'presence:write'] }];
  if (p.name === 'source_rate_exempt') return ['192.0.2.10', '2001:db8::10'];
  return p.default;
}

function example(p: ParamSpec): string {
  const v = exampleValue(p);
  if (p.type === 'list' && Array.isArray(v)) return v.join(',');
  return typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? '1' : '0') : `'${JSON.stringify(v)}'`;
}

if (require.main === module) {
  const dir = join(__dirname, '..', 'config');
  writeFileSync(join(dir, 'default.json'), defaultJson());
  writeFileSync(join(dir, 'README.md'), readme());
}
