const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in any letter case (ids are stored lower case: see UuidPipe). */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
