import { describe, expect, it } from 'vitest';
import { WriteFence } from '../../daemon/session/write-fence.js';

describe('WriteFence', () => {
  it('runs a callback once the writes started before it completed, not the ones after', () => {
    const fence = new WriteFence();
    const ran: string[] = [];
    fence.after(() => ran.push('idle'));
    fence.start();
    fence.start();
    fence.after(() => ran.push('after two'));
    fence.start();
    fence.after(() => ran.push('after three'));
    expect(ran).toEqual(['idle']);
    fence.complete();
    expect(ran).toEqual(['idle']);
    fence.complete();
    expect(ran).toEqual(['idle', 'after two']);
    fence.complete();
    expect(ran).toEqual(['idle', 'after two', 'after three']);
    fence.after(() => ran.push('idle again'));
    expect(ran.at(-1)).toBe('idle again');
  });
});
