import { ErrorCodes, KilnError } from '../../proto/errors.js';

/** The session cannot do what was asked (method not advertised, no dirs shared, …). */
export class FailedPreconditionError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.FailedPrecondition, message, options);
    this.name = 'FailedPreconditionError';
  }
}
