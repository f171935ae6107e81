import { EnsembleError } from '../errors.js';

/**
 * The `EnsembleError` a call fails with, for conformance suites that check an implementation's error
 * codes: fails the test when the call succeeds or throws anything else.
 */
export async function rejection(promise: Promise<unknown>): Promise<EnsembleError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EnsembleError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
