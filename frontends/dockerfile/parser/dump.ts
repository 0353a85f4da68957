import type { InstructionNode, ParseResult } from './ast.js';
import { goQuote, goQuoteList } from './go-quote.js';

/**
 * The AST in BuildKit's `Node.Dump()` format (the corpus `result` files): one
 * `(keyword ["--flags"] "arg" …)` line per instruction, Go-quoted.
 */
export function dumpAst(result: ParseResult): string {
  return `${result.children.map((c) => `(${dumpNode(c)})`).join('\n')}\n`;
}

export function dumpNode(node: InstructionNode): string {
  let s = node.keyword;
  if (node.flags.length > 0) s += ` ${goQuoteList(node.flags)}`;
  if (node.trigger) s += ` (${dumpNode(node.trigger)})`;
  else for (const a of node.args) s += ` ${goQuote(a)}`;
  return s.trim();
}
