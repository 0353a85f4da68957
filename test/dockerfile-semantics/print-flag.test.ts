import { describe, expect, it } from 'vitest';
import { buildFlags, printRequestId } from '../../client/commands/build-command.js';

describe('kilnctl build --print', () => {
  it('maps buildx --print names to frontend request ids', () => {
    expect(printRequestId('outline')).toBe('frontend.outline');
    expect(printRequestId('targets')).toBe('frontend.targets');
    expect(printRequestId('subrequests.describe')).toBe('frontend.subrequests.describe');
    expect(() => printRequestId('lint')).toThrow(/invalid --print value "lint"/);
  });

  it('declares --print and --format', () => {
    const names = buildFlags.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['print', 'format']));
  });
});
