import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';

const TITLES = ['doc 10', 'Banana', 'doc 2', 'apple', 'Doc 1', 'cherry', 'doc 2', 'Apple'];
/** Natural (numbers by value) and case-insensitive; titles equal but for case still in one fixed order. */
const ASCENDING = ['Apple', 'apple', 'Banana', 'cherry', 'Doc 1', 'doc 2', 'doc 2', 'doc 10'];

describe('sort=title', () => {
  let t: TestApp;
  let me: Account;
  beforeAll(async () => {
    t = await startTestApp();
    me = await signUp(t);
    for (const title of TITLES) {
      await t.http.post('/documents').set(bearer(me.access)).send({ title, content: title }).expect(201);
    }
  });
  afterAll(() => t.close());

  const titles = (res: { body: { items: Array<{ title: string }> } }) => res.body.items.map((d) => d.title);

  it('orders titles naturally and case-insensitively, either way', async () => {
    const asc = await t.http.get('/documents?sort=title').set(bearer(me.access)).expect(200);
    expect(titles(asc)).toEqual(ASCENDING);
    const desc = await t.http.get('/documents?sort=-title').set(bearer(me.access)).expect(200);
    expect(titles(desc)).toEqual([...ASCENDING].reverse());
  });

  it.each([
    ['title', ASCENDING],
    ['-title', [...ASCENDING].reverse()],
  ])('pages through sort=%s one at a time in the same order, without repeats', async (sort, expected) => {
    const seen: string[] = [];
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const query: string = `/documents?sort=${sort}&limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await t.http.get(query).set(bearer(me.access)).expect(200);
      seen.push(...titles(res));
      for (const item of res.body.items) ids.add(item.id);
      cursor = res.body.nextCursor;
    } while (cursor !== null && seen.length <= TITLES.length);
    expect(seen).toEqual(expected);
    expect(ids.size).toBe(TITLES.length);
  });
});
