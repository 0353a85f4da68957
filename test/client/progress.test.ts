import { describe, expect, it } from 'vitest';
import { createProgressDisplay, plainDisplay } from '../../client/progress/display.js';
import {
  fromStatusResponse,
  solveStatusToJson,
  type WireStatusResponse,
} from '../../client/progress/solve-status.js';

const t0 = 1_700_000_000;
const at = (ms: number) => ({ seconds: t0 + Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/** A build as buildkitd streams it: definition load, context transfer, a cached FROM, a failing RUN. */
const recorded: WireStatusResponse[] = [
  {
    vertexes: [
      { digest: d(1), name: '[internal] load build definition from Dockerfile', started: at(0) },
      { digest: d(2), name: '[internal] load .dockerignore' },
    ],
  },
  {
    statuses: [
      {
        ID: 'transferring dockerfile:',
        vertex: d(1),
        current: 93,
        timestamp: at(8),
        started: at(0),
        completed: at(8),
      },
    ],
  },
  {
    vertexes: [
      {
        digest: d(1),
        name: '[internal] load build definition from Dockerfile',
        started: at(0),
        completed: at(20),
      },
    ],
  },
  { vertexes: [{ digest: d(2), name: '[internal] load .dockerignore', started: at(21), completed: at(30) }] },
  {
    vertexes: [
      { digest: d(3), name: '[internal] load metadata for docker.io/library/alpine:latest', started: at(31) },
    ],
  },
  {
    vertexes: [
      {
        digest: d(3),
        name: '[internal] load metadata for docker.io/library/alpine:latest',
        started: at(31),
        completed: at(1331),
      },
    ],
  },
  {
    vertexes: [
      {
        digest: d(4),
        name: '[1/3] FROM docker.io/library/alpine@sha256:abc',
        started: at(1400),
        completed: at(1400),
        cached: true,
      },
      { digest: d(5), name: '[internal] load build context', started: at(1400) },
    ],
  },
  {
    statuses: [
      { ID: 'transferring context:', vertex: d(5), current: 2100, timestamp: at(1450), started: at(1400) },
    ],
  },
  {
    statuses: [
      {
        ID: 'transferring context:',
        vertex: d(5),
        current: 2100,
        timestamp: at(1460),
        started: at(1400),
        completed: at(1460),
      },
    ],
  },
  {
    vertexes: [
      { digest: d(5), name: '[internal] load build context', started: at(1400), completed: at(1470) },
    ],
  },
  { vertexes: [{ digest: d(6), name: '[2/3] RUN echo hello && echo wor-ld && false', started: at(1500) }] },
  { logs: [{ vertex: d(6), stream: 1, msg: Buffer.from('hello\n'), timestamp: at(1623) }] },
  { logs: [{ vertex: d(6), stream: 1, msg: Buffer.from('wor'), timestamp: at(1700) }] },
  { logs: [{ vertex: d(6), stream: 1, msg: Buffer.from('-ld\n'), timestamp: at(1710) }] },
  {
    vertexes: [
      {
        digest: d(6),
        name: '[2/3] RUN echo hello && echo wor-ld && false',
        started: at(1500),
        completed: at(1800),
        error:
          'process "/bin/sh -c echo hello && echo wor-ld && false" did not complete successfully: exit code: 1',
      },
    ],
  },
];

function render(): string {
  let out = '';
  const display = plainDisplay((t) => {
    out += t;
  });
  for (const r of recorded) display.update(fromStatusResponse(r));
  display.done();
  return out;
}

describe('plain progress', () => {
  it('renders a recorded status stream like buildctl --progress=plain', async () => {
    await expect(render()).toMatchFileSnapshot('./fixtures/plain-progress.golden.txt');
  });

  it('numbers vertices by first appearance and prints CACHED, DONE, logs and ERROR', () => {
    const out = render();
    expect(out).toContain('#1 [internal] load build definition from Dockerfile\n');
    expect(out).toContain('#1 transferring dockerfile: 93B done\n');
    expect(out).toContain('#1 DONE 0.0s\n');
    expect(out).toContain('#4 CACHED\n');
    expect(out).toContain('#5 transferring context: 2.10kB 0.1s done\n');
    expect(out).toContain('#6 0.123 hello\n#6 0.200 wor-ld\n');
    expect(out).toContain(
      '#6 ERROR: process "/bin/sh -c echo hello && echo wor-ld && false" did not complete successfully: exit code: 1\n',
    );
    expect(
      out.endsWith(
        '------\n > [2/3] RUN echo hello && echo wor-ld && false:\n#6 0.123 hello\n#6 0.200 wor-ld\n------\n',
      ),
    ).toBe(true);
  });

  it('merges a later update for the same vertex instead of adding one', () => {
    let out = '';
    const display = plainDisplay((t) => {
      out += t;
    });
    display.update(fromStatusResponse({ vertexes: [{ digest: d(1), name: 'a', started: at(0) }] }));
    display.update(
      fromStatusResponse({ vertexes: [{ digest: d(1), name: 'a', started: at(0), completed: at(500) }] }),
    );
    display.update(
      fromStatusResponse({
        vertexes: [{ digest: d(2), name: 'b', started: at(600), completed: at(600), cached: true }],
      }),
    );
    display.done();
    expect(out).toBe('#1 a\n#1 DONE 0.5s\n\n#2 b\n#2 CACHED\n');
  });
});

describe('rawjson progress', () => {
  it('writes one JSON SolveStatus per line with Go field names', () => {
    let out = '';
    const display = createProgressDisplay('rawjson', { write: (t: string) => (out += t) });
    display.update(fromStatusResponse(recorded[0] as WireStatusResponse));
    display.update(fromStatusResponse(recorded[11] as WireStatusResponse));
    display.done();
    const lines = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown[]>);
    expect(lines).toHaveLength(2);
    expect(lines[0]?.vertexes?.[0]).toEqual({
      digest: d(1),
      name: '[internal] load build definition from Dockerfile',
      started: '2023-11-14T22:13:20Z',
    });
    expect(lines[1]?.logs?.[0]).toEqual({
      vertex: d(6),
      stream: 1,
      data: Buffer.from('hello\n').toString('base64'),
      timestamp: '2023-11-14T22:13:21.623Z',
    });
    expect(solveStatusToJson(fromStatusResponse({}))).toEqual({
      vertexes: [],
      statuses: [],
      logs: [],
      warnings: [],
    });
  });

  it('auto falls back to plain when stderr is not a terminal; tty insists on one', () => {
    let out = '';
    const display = createProgressDisplay('auto', { write: (t: string) => (out += t), isTTY: false });
    display.update(
      fromStatusResponse({ vertexes: [{ digest: d(1), name: 'x', started: at(0), completed: at(0) }] }),
    );
    display.done();
    expect(out).toBe('#1 x\n#1 DONE 0.0s\n');
    expect(() => createProgressDisplay('tty', { write: () => {}, isTTY: false })).toThrow(/not a terminal/u);
  });
});

describe('tty progress', () => {
  it('redraws in place and ends with FINISHED', () => {
    let out = '';
    const display = createProgressDisplay('tty', {
      write: (t: string) => (out += t),
      isTTY: true,
      columns: 60,
      rows: 20,
    });
    display.update(fromStatusResponse({ vertexes: [{ digest: d(1), name: 'step one', started: at(0) }] }));
    display.update(
      fromStatusResponse({
        vertexes: [{ digest: d(1), name: 'step one', started: at(0), completed: at(1200) }],
      }),
    );
    display.done();
    expect(out).toMatch(/\[\+\] Building [\d.]+s \(1\/1\) FINISHED/u);
    expect(out).toContain(' => step one');
    expect(out).toContain('1.2s');
    // Redraws move the cursor up over the previous frame.
    expect(out).toContain('\x1b[2A');
  });
});
