import type { OpenAPIObject } from '@nestjs/swagger';
import type { AppConfig } from '../config/config.js';
import { OIDC_TAG } from './oidc.controller.js';

export const OIDC_TAG_DESCRIPTION = 'Sign in with an OpenID Connect provider (Google, Keycloak, GitLab…).';
const OFF = 'OpenID Connect sign-in is off on this server (OIDC_ISSUER_URL is not set): its routes answer 404.';

/** Names the provider on its tag, or says, on the tag, its routes and the document's description, that OIDC is off. */
export function describeOidc(document: OpenAPIObject, config: AppConfig): void {
  const tag = document.tags?.find((t) => t.name === OIDC_TAG);
  if (config.oidc.issuerUrl !== undefined) {
    if (tag) tag.description = `Sign in with ${config.oidc.name} (OpenID Connect).`.slice(0, 120);
    return;
  }
  if (tag) tag.description = 'Off on this server (OIDC_ISSUER_URL is not set): these routes answer 404.';
  document.info.description = `${document.info.description ?? ''}\n\n${OFF}`.trim();
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/auth/oidc/')) continue;
    for (const operation of [item.get, item.post]) {
      if (operation) operation.description = `**${OFF}**\n\n${operation.description ?? ''}`.trim();
    }
  }
}
