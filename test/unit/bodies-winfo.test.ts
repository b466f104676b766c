import { BodyError } from '../../src/bodies/xml';
import { buildWatcherinfo, parseWatcherinfo, WATCHERINFO_NS, type WatcherinfoInput } from '../../src/bodies/winfo';

const input: WatcherinfoInput = {
  version: 3,
  state: 'full',
  resource: 'sip:alice@example.com',
  package: 'presence',
  watchers: [
    { id: 'w1', status: 'active', event: 'approved', uri: 'sip:bob@example.com', durationSubscribed: 509, expiration: 3600 },
    { id: 'w2', status: 'pending', event: 'subscribe', uri: 'sip:carol@example.com', displayName: 'Carol "C" <Ops> & Co' },
  ],
};

describe('winfo: RFC 3858 watcherinfo documents', () => {
  it('builds a full document in the watcherinfo namespace', () => {
    expect(buildWatcherinfo(input)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<watcherinfo xmlns="${WATCHERINFO_NS}" version="3" state="full">\n` +
        '  <watcher-list resource="sip:alice@example.com" package="presence">\n' +
        '    <watcher id="w1" status="active" event="approved" duration-subscribed="509" expiration="3600">sip:bob@example.com</watcher>\n' +
        '    <watcher id="w2" status="pending" event="subscribe" display-name="Carol &quot;C&quot; &lt;Ops&gt; &amp; Co">sip:carol@example.com</watcher>\n' +
        '  </watcher-list>\n' +
        '</watcherinfo>',
    );
  });

  it('builds a partial document with only the changed watcher, and an empty list', () => {
    const partial = parseWatcherinfo(buildWatcherinfo({ ...input, version: 4, state: 'partial', watchers: [{ id: 'w2', status: 'terminated', event: 'rejected', uri: 'sip:carol@example.com' }] }));
    expect(partial).toMatchObject({ version: 4, state: 'partial', watcherLists: [{ watchers: [{ id: 'w2', status: 'terminated', event: 'rejected' }] }] });
    expect(parseWatcherinfo(buildWatcherinfo({ ...input, watchers: [] })).watcherLists[0]?.watchers).toEqual([]);
  });

  it('escapes URIs and attribute values so they parse back exactly', () => {
    const tricky = { ...input, resource: 'sip:a&b@example.com;x="1"', watchers: [{ id: 'i<d>', status: 'waiting' as const, event: 'timeout', uri: 'sip:x@y?h=<1>&z=2', displayName: null }] };
    const parsed = parseWatcherinfo(buildWatcherinfo(tricky));
    expect(parsed.watcherLists[0]).toEqual({
      resource: 'sip:a&b@example.com;x="1"',
      package: 'presence',
      watchers: [{ id: 'i<d>', status: 'waiting', event: 'timeout', uri: 'sip:x@y?h=<1>&z=2', displayName: null, durationSubscribed: undefined, expiration: undefined }],
    });
  });

  it('round-trips every field', () => {
    const parsed = parseWatcherinfo(buildWatcherinfo(input));
    expect(parsed.version).toBe(3);
    expect(parsed.state).toBe('full');
    expect(parsed.watcherLists[0]?.watchers).toEqual([
      { ...input.watchers[0], displayName: null },
      { ...input.watchers[1], durationSubscribed: undefined, expiration: undefined },
    ]);
  });

  it('is deterministic and writes whole seconds', () => {
    const w = { ...input, watchers: [{ ...input.watchers[0]!, durationSubscribed: 12.9, expiration: -4 }] };
    expect(buildWatcherinfo(w)).toBe(buildWatcherinfo(w));
    expect(buildWatcherinfo(w)).toContain('duration-subscribed="12" expiration="0"');
  });

  it('refuses a negative or fractional version (a broken invariant, not a body error)', () => {
    expect(() => buildWatcherinfo({ ...input, version: -1 })).toThrow(Error);
    expect(() => buildWatcherinfo({ ...input, version: 1.5 })).toThrow(Error);
  });

  it('parses by namespace URI and rejects a foreign root or bad attributes', () => {
    const prefixed = `<w:watcherinfo xmlns:w="${WATCHERINFO_NS}" version="0" state="full"><w:watcher-list resource="sip:a@b" package="presence"><w:watcher id="1" status="active" event="approved">sip:c@d</w:watcher></w:watcher-list></w:watcherinfo>`;
    expect(parseWatcherinfo(prefixed).watcherLists[0]?.watchers[0]?.uri).toBe('sip:c@d');
    expect(() => parseWatcherinfo('<watcherinfo xmlns="urn:other" version="0" state="full"/>')).toThrow(BodyError);
    expect(() => parseWatcherinfo(`<watcherinfo xmlns="${WATCHERINFO_NS}" version="x" state="full"/>`)).toThrow(BodyError);
    expect(() => parseWatcherinfo(`<watcherinfo xmlns="${WATCHERINFO_NS}" version="" state="full"/>`)).toThrow(BodyError);
    expect(() => parseWatcherinfo(`<watcherinfo xmlns="${WATCHERINFO_NS}" version="0" state="some"/>`)).toThrow(BodyError);
  });
});
