import { deserializeEntry, serializeEntry } from './response-cache.js';

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
