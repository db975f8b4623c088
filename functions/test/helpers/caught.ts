/**
 * The error a test expects: what `call` throws, or what a promise (or a
 * function returning one) rejects with. The test fails when nothing is
 * thrown; an error of a class other than `type` is rethrown unchanged, so
 * the test fails with that error's own message and stack.
 *
 *   const error = caught(ValidationError, () => validateMailDocument(doc));
 *   const failure = await caught(DeliveryError, transport.send(mail));
 */
type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

export function caught<E extends Error>(type: ErrorClass<E>, run: Promise<unknown> | (() => Promise<unknown>)): Promise<E>;
export function caught<E extends Error>(type: ErrorClass<E>, run: () => unknown): E;
export function caught<E extends Error>(type: ErrorClass<E>, run: Promise<unknown> | (() => unknown)): E | Promise<E> {
  if (typeof run !== "function") return rejection(type, run);
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    return ofClass(type, error);
  }
  if (result instanceof Promise) return rejection(type, result);
  throw new Error(`expected a ${type.name}, but the call returned`);
}

function rejection<E extends Error>(type: ErrorClass<E>, promise: Promise<unknown>): Promise<E> {
  return promise.then(
    () => {
      throw new Error(`expected a ${type.name}, but the promise resolved`);
    },
    (error: unknown) => ofClass(type, error),
  );
}

function ofClass<E extends Error>(type: ErrorClass<E>, error: unknown): E {
  if (error instanceof type) return error;
  throw error;
}
