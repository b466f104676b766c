import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BodyError } from '../../src/bodies/xml';
import { parsePidf, DM_NS, PIDF_NS, RPID_NS } from '../../src/bodies/pidf';
import { statusOf, pidfFromStatus, BUSY_ACTIVITIES, AWAY_ACTIVITIES } from '../../src/bodies/rpid';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, '../fixtures/pidf', name));
const ENTITY = 'sip:alice@example.com';

function withActivities(activities: string, basic = 'open'): ReturnType<typeof parsePidf> {
  return parsePidf(
    `<presence xmlns="${PIDF_NS}" xmlns:dm="${DM_NS}" xmlns:rpid="${RPID_NS}" entity="${ENTITY}">` +
      `<tuple id="t"><status><basic>${basic}</basic></status></tuple>` +
      `<dm:person id="p"><rpid:activities>${activities}</rpid:activities></dm:person></presence>`,
  );
}

describe('rpid: statusOf', () => {
  it.each([
    ['baresip-open.xml', { basic: 'open', activities: [], note: null, status: 'online' }],
    ['baresip-closed.xml', { basic: 'closed', activities: [], note: null, status: 'offline' }],
    ['linphone-pidfonline-open.xml', { basic: 'open', activities: [], note: null, status: 'online' }],
    ['prefixed-pidf-namespace-open.xml', { basic: 'open', activities: ['on-the-phone'], note: 'Tom & Jerry <3', status: 'busy' }],
    ['rich-extensions-open.xml', { basic: 'open', activities: ['meeting'], note: 'In the office', status: 'busy' }],
  ])('reads %s', (name, expected) => {
    expect(statusOf(parsePidf(fixture(name)))).toEqual(expected);
  });

  it.each([...BUSY_ACTIVITIES].map((a) => [a]))('maps the activity %s to busy', (a) => {
    expect(statusOf(withActivities(`<rpid:${a}/>`)).status).toBe('busy');
  });

  it.each([...AWAY_ACTIVITIES].map((a) => [a]))('maps the activity %s to away', (a) => {
    expect(statusOf(withActivities(`<rpid:${a}/>`)).status).toBe('away');
  });

  it.each([['playing'], ['working'], ['unknown'], ['shopping']])('leaves %s online', (a) => {
    expect(statusOf(withActivities(`<rpid:${a}/>`)).status).toBe('online');
  });

  it('prefers busy over away, reads rpid:other as its text and skips unknown', () => {
    const s = statusOf(withActivities('<rpid:away/><rpid:other>coding</rpid:other><rpid:on-the-phone/><rpid:unknown/>'));
    expect(s.activities).toEqual(['away', 'coding', 'on-the-phone']);
    expect(s.status).toBe('busy');
  });

  it('is offline when no tuple is open, whatever the activities say', () => {
    expect(statusOf(withActivities('<rpid:busy/>', 'closed')).status).toBe('offline');
  });

  it('ignores activities elements outside the rpid namespace', () => {
    const d = parsePidf(
      `<presence xmlns="${PIDF_NS}" xmlns:f="urn:fake" entity="${ENTITY}"><tuple id="t"><status><basic>open</basic></status></tuple><f:activities><f:busy/></f:activities></presence>`,
    );
    expect(statusOf(d)).toMatchObject({ activities: [], status: 'online' });
  });
});

describe('rpid: pidfFromStatus round-trips through parsePidf → statusOf', () => {
  it.each([
    ['online', 'open', [], 'online'],
    ['busy', 'open', ['busy'], 'busy'],
    ['away', 'open', ['away'], 'away'],
    ['offline', 'closed', [], 'offline'],
    ['hide', 'closed', [], 'offline'],
  ] as const)('%s → basic %s, activities %j, status %s', (status, basic, activities, expected) => {
    const xml = pidfFromStatus(ENTITY, { status, tupleId: 'http-1', note: 'back at 3 & <then>', timestamp: '2026-01-01T00:00:00Z' });
    const doc = parsePidf(xml);
    expect(doc.entity).toBe(ENTITY);
    expect(statusOf(doc)).toEqual({ basic, activities: [...activities], note: status === 'hide' ? null : 'back at 3 & <then>', status: expected });
    expect(xml).toContain(`<basic>${basic}</basic>`);
  });

  it('writes a minimal document for online without a note', () => {
    expect(pidfFromStatus(ENTITY, { status: 'online', tupleId: 't1' })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<presence xmlns="${PIDF_NS}" entity="${ENTITY}">\n  <tuple id="t1">\n    <status>\n      <basic>open</basic>\n    </status>\n  </tuple>\n</presence>`,
    );
  });

  it('refuses a tuple id that is not an XML ID', () => {
    expect(() => pidfFromStatus(ENTITY, { status: 'online', tupleId: '1 2' })).toThrow(BodyError);
  });
});
