/** A port the system just handed out (and that this process released at once). */
export function freePort(): Promise<number>;
