/** Every entity, listed explicitly (no globs): adding one means adding it here. */
export const ENTITIES: Function[] = [];
