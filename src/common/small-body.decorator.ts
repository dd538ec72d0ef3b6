import { addRouteConfig } from './route-config.js';

/** What a body of credentials, a profile or a role change needs (two 1024-character passwords fit). */
export const SMALL_BODY_LIMIT_BYTES = 16 * 1024;

/**
 * Gives every route of the controller a body limit of SMALL_BODY_LIMIT_BYTES
 * instead of the application's 1 MiB (see guardInput), so that an anonymous
 * request to a credential route cannot make the server parse a megabyte.
 */
export function SmallBody(): ClassDecorator {
  return (target) => {
    const prototype = target.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(prototype)) {
      const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
      if (key === 'constructor' || typeof descriptor?.value !== 'function') continue;
      addRouteConfig({ bodyLimit: SMALL_BODY_LIMIT_BYTES })(prototype, key, descriptor);
    }
  };
}
