/** The environment the image's final stage sets (Dockerfile ENV), minus PORT. */
export function imageEnv(): Record<string, string>;
