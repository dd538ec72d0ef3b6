/** A port free a moment ago (below the system's ephemeral range where it can), released at once. */
export function freePort(): Promise<number>;
