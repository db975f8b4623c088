/**
 * What a send rejected with: fails the test if the promise resolves, or
 * rejects with anything but the extension's own error classes.
 */
import { DeliveryError, SendEmailError } from "../../src/shared/errors";

async function rejection<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(
    () => new Error("expected the send to fail, it succeeded"),
    (caught: unknown) => caught,
  );
  if (!(error instanceof type)) throw error;
  return error;
}

/** A transport failure (DeliveryError, with `code`, `transient` and `responseCode`). */
export const deliveryFailure = (promise: Promise<unknown>): Promise<DeliveryError> => rejection(promise, DeliveryError);

/** Any of the extension's errors, a document refused by a provider included. */
export const sendFailure = (promise: Promise<unknown>): Promise<SendEmailError> => rejection(promise, SendEmailError);
