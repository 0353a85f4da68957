/**
 * The Dockerfile AST, shaped like BuildKit's parser.Node so the corpus dumps map one to one.
 * The parser (parser.ts) produces it; instructions/ turns it into typed commands.
 */
export interface Heredoc {
  /** Delimiter word, without quotes. */
  readonly name: string;
  /** The fd before `<<` (0 when absent). */
  readonly fileDescriptor: number;
  /** False when the delimiter was quoted: no variable expansion in the body. */
  readonly expand: boolean;
  /** `<<-`: leading tabs are stripped from the body lines. */
  readonly chomp: boolean;
  /** The body, each line ending in "\n", delimiter line excluded. */
  readonly content: string;
}

export interface InstructionNode {
  /** Lower-cased keyword: `from`, `run`, `copy`, … */
  readonly keyword: string;
  /** The keyword as written (`From`, `RUN`), for casing checks. */
  readonly rawKeyword?: string;
  /** Arguments as BuildKit's parser splits them (see shared/corpus/README.md §1). */
  readonly args: readonly string[];
  /** True for JSON (exec) form. */
  readonly json: boolean;
  /** `--flag=value` words before the arguments, as written. */
  readonly flags: readonly string[];
  readonly heredocs: readonly Heredoc[];
  /** For ONBUILD: the nested trigger instruction. */
  readonly trigger?: InstructionNode;
  /** The whole logical line as written (continuations joined), used in history and errors. */
  readonly original: string;
  /** 1-based, inclusive. */
  readonly startLine: number;
  readonly endLine: number;
  /** Comment lines directly above the instruction. */
  readonly prevComment: readonly string[];
}

export interface ParseWarning {
  readonly short: string;
  readonly detail?: string;
  readonly url?: string;
  readonly line: number;
}

/** Parser directive values as written (e.g. `docker/dockerfile:1 // opts`); see detectSyntax(). */
export interface Directives {
  readonly syntax?: string;
  readonly escape?: string;
  readonly check?: string;
}

export interface ParseResult {
  readonly children: readonly InstructionNode[];
  readonly escapeToken: '\\' | '`';
  readonly directives: Directives;
  readonly warnings: readonly ParseWarning[];
  /** Line span of the instructions, 1-based. */
  readonly startLine: number;
  readonly endLine: number;
}
