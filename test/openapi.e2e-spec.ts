import { startTestApp, type TestApp } from './support/app.js';

interface Operation {
  tags?: string[];
  security?: Array<Record<string, unknown>>;
  parameters?: Array<{ name: string; in: string; schema?: Record<string, unknown> }>;
  responses: Record<string, { description?: string; content?: Record<string, { example?: Record<string, unknown> }> }>;
  requestBody?: {
    content: Record<string, { schema: { $ref?: string; properties?: Record<string, { example?: unknown }> } }>;
  };
}

type Schema = { properties: Record<string, { example?: unknown }> };

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: {
    info: { title: string; version: string };
    tags?: Array<{ name: string; description?: string }>;
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, unknown>; schemas: Record<string, Schema> };
  };
  beforeAll(async () => {
    t = await startTestApp();
    doc = (await t.http.get('/docs/openapi.json').expect(200)).body;
  });
  afterAll(() => t.close());

  const PUBLIC = new Set([
    'GET /',
    'GET /health',
    'GET /health/database',
    'GET /health/ready',
    'GET /health/cache',
    'GET /metrics',
    'POST /auth/register',
    'POST /auth/login',
    'POST /auth/login/mfa',
    'POST /auth/refresh',
    'POST /auth/email/verify',
    'POST /auth/password/forgot',
    'POST /auth/password/reset',
    'GET /auth/oidc/authorize',
    'GET /auth/oidc/callback',
    'POST /auth/oidc/token',
    'GET /s/{token}',
    'POST /s/{token}',
    'GET /s/{token}/content',
    'POST /s/{token}/content',
  ]);
  const EXPECTED = [
    ...PUBLIC,
    'POST /auth/logout',
    'POST /auth/logout-all',
    'GET /auth/sessions',
    'DELETE /auth/sessions/{id}',
    'GET /auth/verify',
    'GET /protected',
    'GET /users/me',
    'PATCH /users/me',
    'PUT /users/me/password',
    'DELETE /users/me',
    'GET /users',
    'GET /users/{id}',
    'PATCH /users/{id}',
    'DELETE /users/{id}',
    'POST /documents',
    'GET /documents',
    'GET /documents/{id}',
    'GET /documents/{id}/content',
    'PATCH /documents/{id}',
    'DELETE /documents/{id}',
    'GET /documents/trash',
    'DELETE /documents/trash',
    'POST /documents/{id}/restore',
    'POST /auth/email/verify/resend',
    'PUT /users/me/email',
    'GET /users/me/audit',
    'GET /admin/audit',
    'GET /users/me/identities',
    'DELETE /users/me/identities/{id}',
    'POST /documents/{id}/shares',
    'GET /documents/{id}/shares',
    'PATCH /documents/{id}/shares/{shareId}',
    'DELETE /documents/{id}/shares/{shareId}',
    'POST /documents/{id}/links',
    'GET /documents/{id}/links',
    'DELETE /documents/{id}/links/{linkId}',
    'GET /events',
    'POST /events/tickets',
    'POST /users/me/mfa/totp',
    'POST /users/me/mfa/totp/confirm',
    'DELETE /users/me/mfa/totp',
    'DELETE /users/{id}/mfa',
    'POST /users/me/tokens',
    'GET /users/me/tokens',
    'DELETE /users/me/tokens/{id}',
  ];

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
    );

  it('is titled and versioned from package.json and declares bearer auth', () => {
    expect(doc.info).toMatchObject({ title: 'ultrai-core', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('lists every route', () => {
    expect(operations().map((o) => o.key)).toEqual(expect.arrayContaining(EXPECTED));
  });

  it('marks every non-public route as needing the bearer token, and no public one', () => {
    for (const { key, op } of operations()) {
      if (PUBLIC.has(key)) expect({ key, security: op.security }).toEqual({ key, security: undefined });
      else expect({ key, security: op.security }).toEqual({ key, security: [{ bearer: [] }] });
    }
  });

  it('documents problem+json error responses and typed bodies', () => {
    for (const { key, op } of operations()) {
      if (key.includes('/health') || key === 'GET /' || key === 'GET /metrics') continue;
      const errors = Object.entries(op.responses).filter(([status]) => Number(status) >= 400);
      expect({ key, documented: errors.length > 0 }).toEqual({ key, documented: true });
      for (const [, response] of errors)
        expect(Object.keys(response.content ?? {})).toEqual(['application/problem+json']);
    }
    expect(doc.paths['/auth/register'].post.requestBody?.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/RegisterDto',
    );
    expect(doc.components.schemas).toHaveProperty('ProblemDto');
    expect(doc.components.schemas).toHaveProperty('TokenResponseDto');
  });

  describe('as a first-time user sees it in Swagger UI', () => {
    const NOT_LIMITED = (key: string) => key.includes('/health') || key === 'GET /' || key === 'GET /metrics';

    it('leaves the upload form’s title and tags empty, so an untouched form sends neither', () => {
      const form = doc.paths['/documents'].post.requestBody!.content['multipart/form-data'].schema.properties!;
      // Swagger UI fills a field with its example, else with the word "string"; it does not send an empty one.
      expect(form.title.example).toBe('');
      expect(form.tags.example).toBe('');
    });

    it('shows each error with an example of its own status, naming its route', () => {
      const seen = new Set<number>();
      for (const { key, op } of operations()) {
        for (const [status, response] of Object.entries(op.responses)) {
          const example = response.content?.['application/problem+json']?.example;
          if (!example) continue;
          seen.add(Number(status));
          expect({ key, status: example.status }).toEqual({ key, status: Number(status) });
          expect({ key, instance: example.instance }).toEqual({ key, instance: expect.stringMatching(/^\//) });
          if (status !== '400') expect({ key, errors: example.errors }).toEqual({ key, errors: undefined });
        }
      }
      expect([...seen].sort()).toEqual([400, 401, 403, 404, 409, 410, 412, 413, 415, 416, 422, 429, 503]);
      const notFound = doc.paths['/documents/{id}'].get.responses['404'].content!['application/problem+json'].example!;
      expect(notFound).toMatchObject({ type: 'urn:ultrai:problem:not-found', title: 'Not Found' });
      expect(notFound.instance).toMatch(/^\/documents\/[0-9a-f-]{36}$/);
      expect(doc.paths['/users/me'].patch.responses['409'].content!['application/problem+json'].example).toMatchObject({
        type: 'urn:ultrai:problem:username-taken',
        instance: '/users/me',
      });
    });

    it('documents 429 and 503 wherever they can happen, and 415 wherever a body is read', () => {
      for (const { key, op } of operations()) {
        if (NOT_LIMITED(key)) continue;
        expect({ key, statuses: Object.keys(op.responses) }).toEqual({
          key,
          statuses: expect.arrayContaining(['429', '503', ...(op.requestBody ? ['415'] : [])]),
        });
      }
    });

    it('types every path id as a UUID (and a version number as an integer)', () => {
      const ids = operations().flatMap(({ key, op }) =>
        (op.parameters ?? [])
          .filter((p) => p.in === 'path' && p.name !== 'token')
          .map((p) => ({ key, name: p.name, schema: p.schema })),
      );
      expect(ids.length).toBeGreaterThanOrEqual(8);
      for (const id of ids) {
        if (id.name === 'n') expect(id).toEqual({ key: id.key, name: 'n', schema: { type: 'integer', minimum: 1 } });
        else
          expect(id).toEqual({
            key: id.key,
            name: expect.stringMatching(/^(id|\w+Id)$/),
            schema: { type: 'string', format: 'uuid' },
          });
      }
    });

    it('documents the event stream as text/event-stream, with its ticket and Last-Event-ID', () => {
      const stream = doc.paths['/events'].get;
      expect(Object.keys(stream.responses['200'].content ?? {})).toEqual(['text/event-stream']);
      expect((stream.parameters ?? []).map((p) => `${p.in}:${p.name}`).sort()).toEqual(
        ['header:Last-Event-ID', 'query:lastEventId', 'query:ticket'].sort(),
      );
      expect(Object.keys(stream.responses)).toEqual(expect.arrayContaining(['401', '429']));
    });

    it('lists GET /protected once, and describes every tag in one line', () => {
      expect(doc.paths['/protected'].get.tags).toEqual(['Auth']);
      const used = new Set(operations().flatMap(({ op }) => op.tags ?? []));
      expect((doc.tags ?? []).map((t) => t.name).sort()).toEqual([...used].sort());
      for (const tag of doc.tags ?? []) expect(tag.description).toMatch(/^[^\n]{10,120}$/);
    });

    it('gives examples a user would expect: an enabled user, real-looking values', () => {
      expect(doc.components.schemas.UserDto.properties.disabled.example).toBe(false);
      expect(doc.components.schemas.AdminUpdateUserDto.properties.disabled.example).toBe(false);
      for (const name of ['VerifyDto', 'ProtectedUserDto']) {
        expect(doc.components.schemas[name].properties.email.example).toBe('ada@example.com');
        expect(doc.components.schemas[name].properties.username.example).toBe('ada.l');
      }
    });
  });
});
