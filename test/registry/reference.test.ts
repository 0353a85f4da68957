import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../proto/errors.js';
import { parseImageName } from '../../daemon/source/image/reference.js';

const hex = 'a'.repeat(64);

describe('parseImageName', () => {
  it.each([
    [
      'busybox',
      'docker.io',
      'library/busybox',
      'latest',
      undefined,
      'docker.io/library/busybox:latest',
      'busybox:latest',
    ],
    [
      'busybox:1.36',
      'docker.io',
      'library/busybox',
      '1.36',
      undefined,
      'docker.io/library/busybox:1.36',
      'busybox:1.36',
    ],
    [
      'library/busybox',
      'docker.io',
      'library/busybox',
      'latest',
      undefined,
      'docker.io/library/busybox:latest',
      'busybox:latest',
    ],
    [
      'docker.io/busybox',
      'docker.io',
      'library/busybox',
      'latest',
      undefined,
      'docker.io/library/busybox:latest',
      'busybox:latest',
    ],
    [
      'index.docker.io/foo/bar',
      'docker.io',
      'foo/bar',
      'latest',
      undefined,
      'docker.io/foo/bar:latest',
      'foo/bar:latest',
    ],
    ['foo/bar:t', 'docker.io', 'foo/bar', 't', undefined, 'docker.io/foo/bar:t', 'foo/bar:t'],
    [
      '127.0.0.1:5000/x/y:t',
      '127.0.0.1:5000',
      'x/y',
      't',
      undefined,
      '127.0.0.1:5000/x/y:t',
      '127.0.0.1:5000/x/y:t',
    ],
    ['localhost/x', 'localhost', 'x', 'latest', undefined, 'localhost/x:latest', 'localhost/x:latest'],
    [
      'localhost:5000/x',
      'localhost:5000',
      'x',
      'latest',
      undefined,
      'localhost:5000/x:latest',
      'localhost:5000/x:latest',
    ],
    [
      'ghcr.io/a/b/c',
      'ghcr.io',
      'a/b/c',
      'latest',
      undefined,
      'ghcr.io/a/b/c:latest',
      'ghcr.io/a/b/c:latest',
    ],
    [
      `busybox@sha256:${hex}`,
      'docker.io',
      'library/busybox',
      undefined,
      `sha256:${hex}`,
      `docker.io/library/busybox@sha256:${hex}`,
      `busybox@sha256:${hex}`,
    ],
    [
      `r.io/x:t@sha256:${hex}`,
      'r.io',
      'x',
      't',
      `sha256:${hex}`,
      `r.io/x:t@sha256:${hex}`,
      `r.io/x:t@sha256:${hex}`,
    ],
    [
      'my-org/my_app__x.y',
      'docker.io',
      'my-org/my_app__x.y',
      'latest',
      undefined,
      'docker.io/my-org/my_app__x.y:latest',
      'my-org/my_app__x.y:latest',
    ],
  ])('%s', (ref, registry, repository, tag, digest, full, familiar) => {
    const n = parseImageName(ref);
    expect(n.registry).toBe(registry);
    expect(n.repository).toBe(repository);
    expect(n.tag).toBe(tag);
    expect(n.digest).toBe(digest);
    expect(n.toString()).toBe(full);
    expect(`${n}`).toBe(full);
    expect(n.familiar()).toBe(familiar);
  });

  it.each([
    ['', /empty/],
    ['Busybox', /must be lowercase/],
    ['busybox:', /bad tag/],
    ['busybox:-x', /bad tag/],
    ['busybox@sha256:abc', /bad digest|64 lowercase hex/],
    [`busybox@sha256:${'A'.repeat(64)}`, /64 lowercase hex/],
    ['a//b', /bad path component/],
    ['foo/-bar', /bad path component/],
    ['has space', /whitespace/],
    [':tag', /missing repository/],
    ['http://host/x', /invalid image reference/],
  ])('rejects %j', (ref, why) => {
    expect(() => parseImageName(ref)).toThrow(InvalidArgumentError);
    expect(() => parseImageName(ref)).toThrow(why);
  });
});
