import type { SourceLocation } from '../../../proto/errors.js';

/** Where an instruction is: file, first line, the whole instruction as written. */
export interface CommandLocation extends SourceLocation {
  readonly endLine: number;
}

interface Base {
  readonly location: CommandLocation;
  /** The instruction as written (continuations joined), e.g. for progress names and errors. */
  readonly original: string;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** Legacy `ENV k v` form (no `=`). */
  readonly noDelim: boolean;
}

export interface KeyValueOptional {
  readonly key: string;
  readonly value: string | undefined;
  readonly docComment: string;
}

/** An inline (heredoc) source of COPY/ADD. */
export interface SourceContent {
  readonly path: string;
  readonly data: string;
  readonly expand: boolean;
}

export interface SourcesAndDest {
  readonly sourcePaths: readonly string[];
  readonly sourceContents: readonly SourceContent[];
  readonly destPath: string;
}

/** A RUN heredoc body (chomping happens at lowering time). */
export interface ShellInlineFile {
  readonly name: string;
  readonly data: string;
  readonly chomp: boolean;
}

export interface HealthConfig {
  readonly test: readonly string[];
  /** Durations in nanoseconds (Go time.Duration), 0 = inherit. */
  readonly interval: number;
  readonly timeout: number;
  readonly startPeriod: number;
  readonly startInterval: number;
  readonly retries: number;
}

export type Command =
  | (Base & { readonly kind: 'env'; readonly env: readonly KeyValue[] })
  | (Base & { readonly kind: 'label'; readonly labels: readonly KeyValue[] })
  | (Base & { readonly kind: 'maintainer'; readonly maintainer: string })
  | (Base & {
      readonly kind: 'copy';
      readonly params: SourcesAndDest;
      readonly from: string;
      readonly chown: string;
      readonly chmod: string;
      readonly link: boolean;
      readonly parents: boolean;
      readonly excludes: readonly string[];
    })
  | (Base & {
      readonly kind: 'add';
      readonly params: SourcesAndDest;
      readonly chown: string;
      readonly chmod: string;
      readonly link: boolean;
      readonly keepGitDir: boolean | undefined;
      readonly checksum: string;
      readonly unpack: boolean | undefined;
      readonly excludes: readonly string[];
    })
  | (Base & { readonly kind: 'workdir'; readonly path: string })
  | (Base & {
      readonly kind: 'run';
      readonly cmdLine: readonly string[];
      readonly prependShell: boolean;
      readonly files: readonly ShellInlineFile[];
      readonly mounts: readonly string[];
      readonly network: string;
      readonly security: string;
      readonly flagsUsed: readonly string[];
    })
  | (Base & { readonly kind: 'cmd'; readonly cmdLine: readonly string[]; readonly prependShell: boolean })
  | (Base & {
      readonly kind: 'entrypoint';
      readonly cmdLine: readonly string[];
      readonly prependShell: boolean;
    })
  | (Base & { readonly kind: 'expose'; readonly ports: readonly string[] })
  | (Base & { readonly kind: 'user'; readonly user: string })
  | (Base & { readonly kind: 'volume'; readonly volumes: readonly string[] })
  | (Base & { readonly kind: 'stopsignal'; readonly signal: string })
  | (Base & { readonly kind: 'shell'; readonly shell: readonly string[] })
  | (Base & { readonly kind: 'healthcheck'; readonly health: HealthConfig })
  | (Base & { readonly kind: 'arg'; readonly args: readonly KeyValueOptional[] })
  | (Base & { readonly kind: 'onbuild'; readonly expression: string });

export type CommandKind = Command['kind'];
export type CommandOf<K extends CommandKind> = Extract<Command, { kind: K }>;

/** `FROM [--platform=p] base [AS name]` plus the instructions up to the next FROM. */
export interface Stage {
  /** Lower-cased stage name, "" when unnamed. */
  readonly name: string;
  /** As written; expanded with the global ARGs at conversion. */
  readonly baseName: string;
  readonly platform: string;
  readonly commands: readonly Command[];
  readonly location: CommandLocation;
  readonly original: string;
  readonly docComment: string;
}

export interface ParsedDockerfile {
  readonly stages: readonly Stage[];
  /** ARGs before the first FROM. */
  readonly metaArgs: readonly CommandOf<'arg'>[];
}
