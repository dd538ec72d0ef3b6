/** Route parameters and query as Fastify parsed them (a repeated query parameter is an array). */
export interface CacheKeyRequest {
  url: string;
  routeOptions: { url?: string };
  params: unknown;
  query: unknown;
}

type Query = Record<string, string | string[] | undefined>;

/** A normaliser says how the handler reads a parameter: `null` when it is the default (dropped). */
type Normalise = (value: string, query: Query, userId: string) => string | null;

/**
 * GET /documents reads its query through DocumentListQueryDto; each entry does what
 * that DTO does with the value, so two spellings share a key only when the handler
 * sees the same thing. A value the DTO would refuse is kept as sent (a 400 is never cached).
 */
const DOCUMENT_LIST: Record<string, Normalise> = {
  // @Type(() => Number), an integer from 1 to 100, default 20.
  limit: (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 100) return value;
    return n === 20 ? null : String(n);
  },
  // Trimmed and lower-cased by the DTO.
  tag: (value) => value.trim().toLowerCase(),
  // -createdAt is the default only without q (with q the default is by relevance).
  sort: (value, query) => (value === '-createdAt' && query.q === undefined ? null : value),
  // The caller's own id is the same list as no owner at all.
  owner: (value, _query, userId) => (value.toLowerCase() === userId ? null : value.toLowerCase()),
  // owned is the default.
  scope: (value) => (value === 'owned' ? null : value),
  q: (value) => value,
  cursor: (value) => value,
};

/**
 * The URL part of a response-cache key: what the answer depends on, spelled one
 * way, so that `?limit=0100`, `?limit=100.0` and `?limit=1e2` are one entry, and
 * `?limit=20` is the same as nothing. Without it one account could fill the cache
 * (and push other keys out of Redis) with endless spellings of one request.
 * The lookup and the store (both in cached-reads.ts) build keys with it.
 */
export function cacheUrl(request: CacheKeyRequest, userId: string): string {
  const params = (request.params ?? {}) as Record<string, string>;
  switch (request.routeOptions.url) {
    // No query parameters are read by these: any query is the same answer.
    case '/users/me':
      return '/users/me';
    case '/documents/:id':
      // UuidPipe lower-cases the id.
      return `/documents/${String(params.id).toLowerCase()}`;
    case '/documents':
      return `/documents${canonicalQuery((request.query ?? {}) as Query, DOCUMENT_LIST, userId)}`;
    default:
      return request.url;
  }
}

function canonicalQuery(query: Query, known: Record<string, Normalise>, userId: string): string {
  const pairs: Array<[string, string]> = [];
  for (const name of Object.keys(query).sort()) {
    const value = query[name];
    if (value === undefined) continue;
    const normalise = Object.hasOwn(known, name) ? known[name] : undefined;
    if (typeof value === 'string' && normalise) {
      const normal = normalise(value, query, userId);
      if (normal !== null) pairs.push([name, normal]);
    } else {
      // Unknown or repeated: the DTO refuses them; kept as sent, in their order.
      for (const one of Array.isArray(value) ? value : [value]) pairs.push([name, String(one)]);
    }
  }
  if (pairs.length === 0) return '';
  return `?${pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}`;
}
