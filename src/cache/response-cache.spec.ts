import { deserializeEntry, ResponseCache, serializeEntry } from './response-cache.js';

describe('response cache entry format', () => {
  it('round-trips a cached answer with its expiry and ETag, JSON text untouched', () => {
    const json = '{"items":[{"title":"line\\nbreak \\"quoted\\" ünïcode 🎉"}],\n "next": null}';
    const text = serializeEntry({ value: { json, etag: '"v3-abc"' }, expires: 1_800_000_000_000 });
    expect(text.startsWith('R\n')).toBe(true);
    expect(text.endsWith(json)).toBe(true);
    expect(deserializeEntry(text)).toEqual({ value: { json, etag: '"v3-abc"' }, expires: 1_800_000_000_000 });
  });

  it('round-trips an answer without ETag or expiry', () => {
    const text = serializeEntry({ value: { json: '[]' } });
    expect(deserializeEntry(text)).toEqual({ value: { json: '[]' }, expires: undefined });
  });

  it('keeps JSON for any other value, and reads entries written as JSON', () => {
    const other = { value: { body: { id: 1 } }, expires: 5 };
    expect(serializeEntry(other)).toBe(JSON.stringify(other));
    expect(deserializeEntry(JSON.stringify(other))).toEqual(other);
  });

  it('reads a truncated entry as nothing', () => {
    expect(deserializeEntry('R\n123')).toBeUndefined();
  });
});

describe('an entry read from Redis by the rate-limit script (ResponseCache.parse)', () => {
  it('answers a live answer as get would, and nothing once it has expired', () => {
    const live = serializeEntry({ value: { json: '{"a":1}', etag: '"e"' }, expires: Date.now() + 60_000 });
    expect(ResponseCache.parse(live)).toEqual({ json: '{"a":1}', etag: '"e"' });
    const expired = serializeEntry({ value: { json: '{"a":1}' }, expires: Date.now() - 1 });
    expect(ResponseCache.parse(expired)).toBeUndefined();
  });

  it('answers nothing for another value, broken JSON or a truncated entry', () => {
    expect(ResponseCache.parse(JSON.stringify({ value: { body: 1 } }))).toBeUndefined();
    expect(ResponseCache.parse('{"value":')).toBeUndefined();
    expect(ResponseCache.parse('R\n1')).toBeUndefined();
  });
});
