import { startTestApp, type TestApp } from './support/app.js';

interface Operation {
  security?: Array<Record<string, unknown>>;
  responses: Record<string, { content?: Record<string, unknown> }>;
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: {
    info: { title: string; version: string };
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
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
    'POST /auth/refresh',
    'POST /auth/email/verify',
    'POST /auth/password/forgot',
    'POST /auth/password/reset',
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
    'POST /auth/email/verify/resend',
    'PUT /users/me/email',
    'GET /users/me/audit',
    'GET /admin/audit',
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
});
