import type { ExecutionContext, Type } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';

/**
 * A route's decorator metadata, read once per handler and class and then kept: the global
 * guards ask for it on every request, and Reflector's lookups (reflect-metadata walks the
 * prototype chain, two arrays per call) cost more than the rest of those guards. Metadata
 * is fixed once the application is built, so the first answer is the answer.
 */
export class RouteMetadata<T> {
  private readonly byClass = new WeakMap<Type, WeakMap<(...args: never[]) => unknown, { value: T }>>();

  constructor(private readonly read: (handler: (...args: never[]) => unknown, classRef: Type) => T) {}

  of(context: ExecutionContext): T {
    const handler = context.getHandler() as (...args: never[]) => unknown;
    const classRef = context.getClass();
    let handlers = this.byClass.get(classRef);
    if (!handlers) this.byClass.set(classRef, (handlers = new WeakMap()));
    let entry = handlers.get(handler);
    if (!entry) handlers.set(handler, (entry = { value: this.read(handler, classRef) }));
    return entry.value;
  }
}

/** `getAllAndOverride` of `key` (the handler's value, else the class's), kept per route. */
export function overriddenMetadata<T>(reflector: Reflector, key: string): RouteMetadata<T | undefined> {
  return new RouteMetadata((handler, classRef) => reflector.getAllAndOverride<T | undefined>(key, [handler, classRef]));
}
