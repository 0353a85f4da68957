import { KilnError } from '../../proto/errors.js';

export class SnapshotterError extends KilnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
    this.name = 'SnapshotterError';
  }
}
