import { writeFile } from 'node:fs/promises';

/** Go's encoding/json escapes these even inside strings; match it so files compare equal. */
function goEscape(json: string): string {
  return json
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/**
 * Re-indents raw JSON text without parsing numbers, like Go's json.Indent after json.Compact
 * (large integers and key order survive untouched; empty objects and arrays stay `{}` / `[]`).
 */
export function indentJson(raw: string, prefix: string, indent: string): string {
  let out = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let pendingOpen = false;
  const newline = () => `\n${prefix}${indent.repeat(depth)}`;
  for (const ch of raw) {
    if (inString) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') continue;
    if (pendingOpen && ch !== '}' && ch !== ']') {
      out += newline();
    }
    if (ch === '}' || ch === ']') {
      depth--;
      if (!pendingOpen) out += newline();
      pendingOpen = false;
      out += ch;
      continue;
    }
    pendingOpen = false;
    switch (ch) {
      case '{':
      case '[':
        out += ch;
        depth++;
        pendingOpen = true;
        break;
      case ',':
        out += `,${newline()}`;
        break;
      case ':':
        out += ': ';
        break;
      case '"':
        out += ch;
        inString = true;
        break;
      default:
        out += ch;
    }
  }
  return out;
}

const strictBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u;

/** A value that is base64 of a non-empty JSON object is inlined as that object, as buildctl does. */
function inlineValue(value: string): string | undefined {
  if (value === '' || !strictBase64.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  try {
    const parsed: unknown = JSON.parse(decoded);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    if (Object.keys(parsed).length === 0) return undefined;
    return decoded;
  } catch {
    return undefined;
  }
}

/** The `--metadata-file` text: keys sorted, two-space indent, no trailing newline (Go MarshalIndent). */
export function formatMetadata(exporterResponse: Readonly<Record<string, string>>): string {
  const keys = Object.keys(exporterResponse).sort();
  if (keys.length === 0) return '{}';
  const parts = keys.map((k) => {
    const v = exporterResponse[k] ?? '';
    const inline = inlineValue(v);
    const rendered = inline === undefined ? JSON.stringify(v) : indentJson(inline, '  ', '  ');
    return `  ${JSON.stringify(k)}: ${rendered}`;
  });
  return goEscape(`{\n${parts.join(',\n')}\n}`);
}

export async function writeMetadataFile(
  path: string,
  exporterResponse: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFile(path, formatMetadata(exporterResponse), { mode: 0o666 });
}
