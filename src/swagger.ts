import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, type SwaggerCustomOptions, SwaggerModule } from '@nestjs/swagger';
import { problemContent, problemDescription, ProblemDto } from './common/api-problems.decorator.js';
import { PROBLEM_CONTENT_TYPE } from './common/problem.js';
import { CreateTextDocumentDto } from './documents/dto/document.dto.js';
import { packageInfo } from './common/package-info.js';

/** In the order Swagger UI shows them. */
const TAGS: Array<[name: string, description: string]> = [
  ['Auth', 'Register, log in, refresh tokens, and see or end your sessions.'],
  ['Users', 'Your profile, password and account; managing users, for administrators.'],
  ['Documents', 'Upload, list, search, download, change and delete your documents.'],
  ['Sharing', 'Share a document with people (viewer, editor) or by link; open a link without an account.'],
  ['Events', 'Live updates: a server-sent event stream of changes to what you can see.'],
  ['Health', 'Liveness and readiness, for load balancers and monitors.'],
  ['Operations', 'Prometheus metrics.'],
  ['Account recovery', 'Verify your email address, reset a forgotten password, change your address: by mail.'],
  ['Audit', 'Security events of your account; of every account, for administrators.'],
  [
    'Two-factor authentication',
    'Turn TOTP codes from an authenticator app on or off; resetting them, for administrators.',
  ],
  ['Personal access tokens', 'Scoped tokens for scripts and integrations: create, list and revoke them.'],
];

const EXAMPLE_ID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * What a route can answer besides its own errors, documented where it can
 * happen: 415 where a body is read, 429 where rate limits count (not health
 * routes nor /metrics), 503 where the database or a shutdown can refuse. Each
 * problem gets an example of its own status naming the route, and every `{id}`
 * or `{…Id}` (checked by UuidPipe) is typed as a UUID.
 */
function completeOperations(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    const instance = path.replaceAll('{id}', EXAMPLE_ID);
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      for (const parameter of operation.parameters ?? []) {
        if ('in' in parameter && parameter.in === 'path' && /^(id|\w+Id)$/.test(parameter.name)) {
          parameter.schema = { type: 'string', format: 'uuid' };
        }
      }
      const tags = operation.tags ?? [];
      const added = [
        ...(operation.requestBody ? [415] : []),
        ...(tags.includes('Health') || tags.includes('Operations') ? [] : [429]),
        ...(tags.includes('Health') ? [] : [503]),
      ];
      for (const status of added) operation.responses[status] ??= { description: problemDescription(status) };
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response || '$ref' in response) continue;
        const problem = response.content?.[PROBLEM_CONTENT_TYPE] !== undefined;
        if (problem || added.includes(Number(status))) response.content = problemContent(Number(status), instance);
      }
    }
  }
}

/** The OpenAPI document of the app's routes, completed as above (a few tens of ms of CPU). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle(packageInfo.name)
    .setDescription(packageInfo.description)
    .setVersion(packageInfo.version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer');
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    extraModels: [ProblemDto, CreateTextDocumentDto],
  });
  // POST /documents takes a multipart file or JSON text: @ApiBody describes one
  // schema, so the JSON one is added beside the multipart form here.
  const upload = document.paths['/documents']?.post?.requestBody;
  if (upload && 'content' in upload) {
    upload.content['application/json'] = { schema: { $ref: '#/components/schemas/CreateTextDocumentDto' } };
  }
  completeOperations(document);
  return document;
}

/**
 * Swagger UI at /docs and the OpenAPI document at /docs/openapi.json. The document is
 * built on the first request for it, not at start-up: a cold start (a free instance
 * waking up) does not pay for what most starts never serve.
 */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
    raw: ['json'],
    customSiteTitle: `${packageInfo.name} API`,
    swaggerOptions: {
      persistAuthorization: true,
      displayRequestDuration: true,
      tryItOutEnabled: true,
      // No badge from the public validator: the CSP would (rightly) block it.
      validatorUrl: null,
    } as SwaggerCustomOptions['swaggerOptions'],
  });
}
