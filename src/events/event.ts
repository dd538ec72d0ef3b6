/** The kinds of event the stream carries. */
export const EVENT_TYPES = [
  'document.created',
  'document.updated',
  'document.deleted',
  'document.restored',
  'document.shared',
  'document.unshared',
  'session.revoked',
  'token.revoked',
  'reload',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a change point publishes: the event and everyone it concerns. */
export interface PublishedEvent {
  type: EventType;
  /** The users whose streams receive it. */
  userIds: string[];
  /** The event's payload (ids and small facts; never secrets). */
  data: Record<string, unknown>;
}

/** An event as it travels between instances and sits in the replay buffer. */
export interface StoredEvent {
  /** `<milliseconds>-<sequence>`: increases, so Last-Event-ID can say where a client stopped. */
  id: string;
  type: EventType;
  userIds: string[];
  data: Record<string, unknown>;
  /** Set on session.revoked (and token.revoked: a token's id): streams of this session or token close after it. */
  sessionId?: string;
}
