import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type SwaggerCustomOptions, SwaggerModule } from '@nestjs/swagger';
import { ProblemDto } from './common/api-problems.decorator.js';
import { CreateTextDocumentDto } from './documents/dto/document.dto.js';
import { packageInfo } from './common/package-info.js';

/** Swagger UI at /docs and the OpenAPI document at /docs/openapi.json. */
export function setupSwagger(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle(packageInfo.name)
    .setDescription(packageInfo.description)
    .setVersion(packageInfo.version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto, CreateTextDocumentDto] });
  // POST /documents takes a multipart file or JSON text: @ApiBody describes one
  // schema, so the JSON one is added beside the multipart form here.
  const upload = document.paths['/documents']?.post?.requestBody;
  if (upload && 'content' in upload) {
    upload.content['application/json'] = { schema: { $ref: '#/components/schemas/CreateTextDocumentDto' } };
  }
  SwaggerModule.setup('docs', app, document, {
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
