import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCacheOptions } from '../../client/cache-options.js';
import { formatMetadata, indentJson, writeMetadataFile } from '../../client/metadata-file.js';

const descriptor =
  '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1234567890123456789,"annotations":{"x":"<y>"}}';

describe('--metadata-file', () => {
  it('writes sorted keys and inlines base64 JSON objects, as buildctl', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kilnctl-md-'));
    try {
      const file = join(dir, 'md.json');
      await writeMetadataFile(file, {
        'containerimage.digest': 'sha256:bb',
        'containerimage.descriptor': Buffer.from(descriptor).toString('base64'),
        'image.name': 'docker.io/library/x:latest',
        // base64 of a JSON array and of a plain string stay as strings
        'some.array': Buffer.from('[1,2]').toString('base64'),
        'containerimage.config.digest': 'sha256:cc',
      });
      const text = await readFile(file, 'utf8');
      expect(text).toBe(
        [
          '{',
          '  "containerimage.config.digest": "sha256:cc",',
          '  "containerimage.descriptor": {',
          '    "mediaType": "application/vnd.oci.image.manifest.v1+json",',
          '    "digest": "sha256:aa",',
          '    "size": 1234567890123456789,',
          '    "annotations": {',
          '      "x": "\\u003cy\\u003e"',
          '    }',
          '  },',
          '  "containerimage.digest": "sha256:bb",',
          '  "image.name": "docker.io/library/x:latest",',
          `  "some.array": "${Buffer.from('[1,2]').toString('base64')}"`,
          '}',
        ].join('\n'),
      );
      // The result is valid JSON whose inlined object round-trips.
      const parsed = JSON.parse(text) as Record<string, { digest?: string }>;
      expect(parsed['containerimage.descriptor']?.digest).toBe('sha256:aa');
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('keeps empty objects compact and handles an empty response', () => {
    expect(indentJson('{"a":{},"b":[ ],"c":"x y"}', '', '  ')).toBe(
      '{\n  "a": {},\n  "b": [],\n  "c": "x y"\n}',
    );
    expect(formatMetadata({})).toBe('{}');
    expect(formatMetadata({ k: Buffer.from('{}').toString('base64') })).toBe(
      `{\n  "k": "${Buffer.from('{}').toString('base64')}"\n}`,
    );
  });
});

describe('cache options', () => {
  it('resolves a local import digest from index.json and derives cache-imports', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kilnctl-cache-'));
    try {
      await writeFile(
        join(dir, 'index.json'),
        JSON.stringify({
          schemaVersion: 2,
          manifests: [
            { digest: 'sha256:dd', annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
          ],
        }),
      );
      const r = await resolveCacheOptions(
        [{ type: 'registry', attrs: { ref: 'r/c', mode: 'max' } }],
        [
          { type: 'local', attrs: { src: dir } },
          { type: 'local', attrs: { src: join(dir, 'missing') } },
        ],
      );
      expect(r.imports).toEqual([{ type: 'local', attrs: { src: dir, digest: 'sha256:dd' } }]);
      expect(r.warnings).toHaveLength(1);
      expect(JSON.parse(r.frontendAttrs['cache-imports'] ?? '')).toEqual([
        { Type: 'local', Attrs: { digest: 'sha256:dd', src: dir } },
      ]);
      await expect(resolveCacheOptions([{ type: 'local', attrs: {} }], [])).rejects.toThrow(
        'local cache exporter requires dest',
      );
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
