import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface SseEvent {
  id?: string;
  event: string;
  data: unknown;
}

/**
 * A real HTTP client reading a text/event-stream as a browser's EventSource would
 * (events and comment lines), so tests can wait for what a user would see.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  private buffer = '';
  private waiters: Array<() => void> = [];
  private endedFlag = false;

  private constructor(
    readonly response: IncomingMessage,
    private readonly destroy: () => void,
  ) {
    response.setEncoding('utf8');
    this.ended = new Promise((resolve) => {
      const done = () => {
        this.endedFlag = true;
        this.notify();
        resolve();
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    response.on('data', (chunk: string) => {
      this.buffer += chunk;
      let boundary: number;
      while ((boundary = this.buffer.indexOf('\n\n')) >= 0) {
        this.parse(this.buffer.slice(0, boundary));
        this.buffer = this.buffer.slice(boundary + 2);
      }
      this.notify();
    });
  }

  /** Opens the stream; resolves with the client once the response head arrived (any status). */
  static open(port: number, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } });
      req.on('response', (response) => resolve(new SseClient(response, () => req.destroy())));
      req.on('error', reject);
      req.end();
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  get hasEnded(): boolean {
    return this.endedFlag;
  }

  /** The first event (from the start of the stream) matching, waiting for it if need be. */
  async next(match: (event: SseEvent) => boolean, what = 'an event'): Promise<SseEvent> {
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (this.endedFlag) throw new Error(`the stream ended before ${what}; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits until `count` comment lines have arrived. */
  async commentsAtLeast(count: number): Promise<void> {
    while (this.comments.length < count) {
      if (this.endedFlag) throw new Error('the stream ended');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): void {
    this.destroy();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private parse(block: string): void {
    const event: { id?: string; event: string; data: string[] } = { event: 'message', data: [] };
    let any = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
      else if (field === 'data') event.data.push(value);
      else continue;
      any = true;
    }
    if (!any || event.data.length === 0) return;
    this.events.push({ id: event.id, event: event.event, data: JSON.parse(event.data.join('\n')) });
  }
}
