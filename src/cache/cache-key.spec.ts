import { cacheUrl } from './cache-key.js';

const USER = '0b6c6c1e-3f5e-4d0e-9d6f-6f2b9c1b1a11';

function list(query: Record<string, string | string[]>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const one of [v].flat()) search.append(k, one);
  return cacheUrl({ url: `/documents?${search}`, routeOptions: { url: '/documents' }, params: {}, query }, USER);
}

describe('response cache keys', () => {
  it('spells a limit one way and drops the default', () => {
    const hundred = list({ limit: '100' });
    expect(hundred).toBe('/documents?limit=100');
    for (const spelling of ['0100', '000000100', '100.0', '1e2', ' 100', '0x64']) {
      expect(list({ limit: spelling })).toBe(hundred);
    }
    expect(list({ limit: '20' })).toBe('/documents');
    expect(list({ limit: '020' })).toBe('/documents');
    expect(list({})).toBe('/documents');
  });

  it('keeps a limit the DTO would refuse as it was sent (never cached: a 400)', () => {
    expect(list({ limit: '0' })).toBe('/documents?limit=0');
    expect(list({ limit: '101' })).toBe('/documents?limit=101');
    expect(list({ limit: '2.5' })).toBe('/documents?limit=2.5');
  });

  it('orders parameters by name', () => {
    expect(list({ tag: 'work', limit: '5', q: 'budget' })).toBe(list({ q: 'budget', limit: '5', tag: 'work' }));
    expect(list({ tag: 'work', limit: '5', q: 'budget' })).toBe('/documents?limit=5&q=budget&tag=work');
  });

  it('normalises tag and owner as the handler reads them, and drops the default sort only without q', () => {
    expect(list({ tag: ' Work ' })).toBe(list({ tag: 'work' }));
    expect(list({ owner: USER.toUpperCase() })).toBe('/documents');
    expect(list({ owner: '11111111-1111-4111-8111-111111111111' })).toBe(
      '/documents?owner=11111111-1111-4111-8111-111111111111',
    );
    expect(list({ sort: '-createdAt' })).toBe('/documents');
    // With q, no sort means by relevance: an explicit -createdAt is another answer.
    expect(list({ q: 'x', sort: '-createdAt' })).not.toBe(list({ q: 'x' }));
  });

  it('keeps different answers apart', () => {
    const keys = [
      list({}),
      list({ limit: '5' }),
      list({ q: 'a' }),
      list({ q: 'A' }),
      list({ cursor: 'abc' }),
      list({ sort: 'title' }),
      list({ tag: 'a' }),
      list({ tag: ['a', 'b'] }),
      list({ tag: ['b', 'a'] }),
      list({ unknown: '1' }),
      list({ q: 'a&tag=b' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('ignores the query on routes that read none, and lower-cases a document id', () => {
    const me = (url: string, query: Record<string, string>) =>
      cacheUrl({ url, routeOptions: { url: '/users/me' }, params: {}, query }, USER);
    expect(me('/users/me?x=1', { x: '1' })).toBe('/users/me');
    const id = 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE';
    expect(
      cacheUrl(
        { url: `/documents/${id}?v=2`, routeOptions: { url: '/documents/:id' }, params: { id }, query: { v: '2' } },
        USER,
      ),
    ).toBe(`/documents/${id.toLowerCase()}`);
  });
});
