import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError, PARAMS } from '../../src/config';
import { defaultJson, readme } from '../../scripts/gen-config-docs';

const root = join(__dirname, '..', '..');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('keeps config/default.json equal to the schema', () => {
    expect(readFileSync(join(root, 'config/default.json'), 'utf8')).toBe(defaultJson());
  });

  it('keeps config/README.md with one section per parameter, generated from the schema', () => {
    const text = readFileSync(join(root, 'config/README.md'), 'utf8');
    expect(text).toBe(readme());
    for (const p of PARAMS) expect(text).toContain(`\`${p.name}\``);
  });

  it('loads every default when nothing is given', () => {
    const { config } = loadConfig({ env: {} });
    expect(config.maxExpiresSec).toBe(3600);
    expect(config.sipListen).toEqual([
      { transport: 'udp', host: '0.0.0.0', port: 5060 },
      { transport: 'tcp', host: '0.0.0.0', port: 5060 },
    ]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.sipListen[0])).toBe(true);
  });

  it('lets the environment win over the file and the file over the defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cfg-'));
    const file = join(dir, 'herald.json');
    writeFileSync(file, JSON.stringify({ max_expires: 1800, clean_period: 30 }));
    const { config } = loadConfig({ argv: ['--config', file], env: { HERALD_MAX_EXPIRES: '900' } });
    expect(config.maxExpiresSec).toBe(900);
    expect(config.cleanPeriodSec).toBe(30);
    expect(loadConfig({ env: { HERALD_CONFIG: file } }).config.maxExpiresSec).toBe(1800);
  });

  it('names every bad parameter at once', () => {
    const problems = problemsOf(() => loadConfig({ env: { HERALD_MAX_EXPIRES: '-5', HERALD_FORCE_ACTIVE: 'maybe', HERALD_SIP_LISTEN: 'sctp:1.2.3.4:5' } }));
    expect(problems.join('\n')).toMatch(/max_expires/);
    expect(problems.join('\n')).toMatch(/force_active/);
    expect(problems.join('\n')).toMatch(/sip_listen/);
  });

  it('rejects an unknown key in the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cfg-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ max_expire: 10 }));
    expect(problemsOf(() => loadConfig({ argv: [`--config=${file}`] }))).toEqual([expect.stringMatching(/^max_expire: unknown parameter/)]);
  });

  it('accepts totag_avpid with a warning that it has no meaning', () => {
    const { warnings } = loadConfig({ env: { HERALD_TOTAG_AVPID: '7' } });
    expect(warnings).toEqual([expect.stringMatching(/totag_avpid/)]);
  });

  it('rejects min_expires above max_expires', () => {
    expect(problemsOf(() => loadConfig({ env: { HERALD_MIN_EXPIRES: '100', HERALD_MAX_EXPIRES: '50' } }))).toEqual([expect.stringMatching(/min_expires/)]);
  });

  it('parses api_tokens from JSON in the environment', () => {
    const { config } = loadConfig({ env: { HERALD_API_TOKENS: '[{"token":"abcdefgh12","scopes":["admin"]}]' } });
    expect(config.apiTokens).toEqual([{ token: 'abcdefgh12', scopes: ['admin'] }]);
  });

  it('parses IPv6 listeners', () => {
    const { config } = loadConfig({ env: { HERALD_SIP_LISTEN: 'udp:[::1]:5070' } });
    expect(config.sipListen).toEqual([{ transport: 'udp', host: '::1', port: 5070 }]);
  });
});
