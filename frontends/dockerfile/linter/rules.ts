/**
 * The Dockerfile checks (BuildKit's frontend/dockerfile/linter/ruleset.go) as data: a stable name,
 * a description, a documentation URL and the detail text. Errors and warnings share this table.
 */
export interface LintRule<Args extends readonly unknown[] | never> {
  readonly name: string;
  readonly description: string;
  readonly url: string;
  /** Off unless enabled with `# check=experimental=<name>|all`. */
  readonly experimental?: boolean;
  readonly format: (...args: Args) => string;
}

/** A rule of any arity, for tables and lookups. */
export type AnyLintRule = Omit<LintRule<never>, 'format'> & { readonly format: (...args: never) => string };

const docs = (slug: string): string => `https://docs.docker.com/go/dockerfile/rule/${slug}/`;
const didYouMean = (hint: string | undefined, prefix = ''): string =>
  hint ? ` (did you mean ${prefix}${hint}?)` : '';

export const LintRules = {
  StageNameCasing: {
    name: 'StageNameCasing',
    description: 'Stage names should be lowercase',
    url: docs('stage-name-casing'),
    format: (stage: string) => `Stage name '${stage}' should be lowercase`,
  },
  FromAsCasing: {
    name: 'FromAsCasing',
    description: "The 'as' keyword should match the case of the 'from' keyword",
    url: docs('from-as-casing'),
    format: (from: string, as: string) => `'${as}' and '${from}' keywords' casing do not match`,
  },
  NoEmptyContinuation: {
    name: 'NoEmptyContinuation',
    description: 'Empty continuation lines will become errors in a future release',
    url: docs('no-empty-continuation'),
    format: () => 'Empty continuation line',
  },
  ConsistentInstructionCasing: {
    name: 'ConsistentInstructionCasing',
    description: 'All commands within the Dockerfile should use the same casing (either upper or lower)',
    url: docs('consistent-instruction-casing'),
    format: (command: string, casing: string) =>
      `Command '${command}' should match the case of the command majority (${casing})`,
  },
  DuplicateStageName: {
    name: 'DuplicateStageName',
    description: 'Stage names should be unique',
    url: docs('duplicate-stage-name'),
    format: (stage: string) => `Duplicate stage name ${JSON.stringify(stage)}, stage names should be unique`,
  },
  ReservedStageName: {
    name: 'ReservedStageName',
    description: 'Reserved words should not be used as stage names',
    url: docs('reserved-stage-name'),
    format: (stage: string) =>
      `Stage name should not use the same name as reserved stage ${JSON.stringify(stage)}`,
  },
  JSONArgsRecommended: {
    name: 'JSONArgsRecommended',
    description:
      'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
    url: docs('json-args-recommended'),
    format: (instruction: string) =>
      `JSON arguments recommended for ${instruction} to prevent unintended behavior related to OS signals`,
  },
  MaintainerDeprecated: {
    name: 'MaintainerDeprecated',
    description: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
    url: docs('maintainer-deprecated'),
    format: () => 'Maintainer instruction is deprecated in favor of using label',
  },
  UndefinedArgInFrom: {
    name: 'UndefinedArgInFrom',
    description: 'FROM command must use declared ARGs',
    url: docs('undefined-arg-in-from'),
    format: (arg: string, hint: string | undefined) =>
      `FROM argument '${arg}' is not declared${didYouMean(hint)}`,
  },
  WorkdirRelativePath: {
    name: 'WorkdirRelativePath',
    description:
      'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
    url: docs('workdir-relative-path'),
    format: (workdir: string) =>
      `Relative workdir ${JSON.stringify(workdir)} can have unexpected results if the base image changes`,
  },
  UndefinedVar: {
    name: 'UndefinedVar',
    description: 'Variables should be defined before their use',
    url: docs('undefined-var'),
    format: (name: string, hint: string | undefined) =>
      `Usage of undefined variable '$${name}'${didYouMean(hint, '$')}`,
  },
  MultipleInstructionsDisallowed: {
    name: 'MultipleInstructionsDisallowed',
    description: 'Multiple instructions of the same type should not be used in the same stage',
    url: docs('multiple-instructions-disallowed'),
    experimental: true,
    format: (instruction: string) =>
      `Multiple ${instruction} instructions should not be used in the same stage because only the last one will be used`,
  },
  LegacyKeyValueFormat: {
    name: 'LegacyKeyValueFormat',
    description: 'Legacy key/value format with whitespace separator should not be used',
    url: docs('legacy-key-value-format'),
    format: (instruction: string) =>
      `"${instruction} key=value" should be used instead of legacy "${instruction} key value" format`,
  },
  RedundantTargetPlatform: {
    name: 'RedundantTargetPlatform',
    description:
      'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
    url: docs('redundant-target-platform'),
    format: (value: string) =>
      `Setting platform to predefined ${value} in FROM is redundant as this is the default behavior`,
  },
  SecretsUsedInArgOrEnv: {
    name: 'SecretsUsedInArgOrEnv',
    description: 'Sensitive data should not be used in the ARG or ENV commands',
    url: docs('secrets-used-in-arg-or-env'),
    format: (instruction: string, key: string) =>
      `Do not use ARG or ENV instructions for sensitive data (${instruction} ${JSON.stringify(key)})`,
  },
  InvalidDefaultArgInFrom: {
    name: 'InvalidDefaultArgInFrom',
    description: 'Default value for global ARG results in an empty or invalid base image name',
    url: docs('invalid-default-arg-in-from'),
    format: (baseName: string) =>
      `Default value for ARG ${baseName} results in empty or invalid base image name`,
  },
  FromPlatformFlagConstDisallowed: {
    name: 'FromPlatformFlagConstDisallowed',
    description: 'FROM --platform flag should not use a constant value',
    url: docs('from-platform-flag-const-disallowed'),
    format: (platform: string) =>
      `FROM --platform flag should not use constant value ${JSON.stringify(platform)}`,
  },
  CopyIgnoredFile: {
    name: 'CopyIgnoredFile',
    description: 'Attempting to Copy file that is excluded by .dockerignore',
    url: docs('copy-ignored-file'),
    format: (cmd: string, src: string) =>
      `Attempting to ${cmd} file ${JSON.stringify(src)} that is excluded by .dockerignore`,
  },
  InvalidDefinitionDescription: {
    name: 'InvalidDefinitionDescription',
    description:
      'Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.',
    url: docs('invalid-definition-description'),
    experimental: true,
    format: (instruction: string, name: string) =>
      `Comment for ${instruction} should follow the format: \`# ${name} <description>\``,
  },
  ExposeProtoCasing: {
    name: 'ExposeProtoCasing',
    description: 'Protocol in EXPOSE instruction should be lowercase',
    url: docs('expose-proto-casing'),
    format: (port: string) => `Defined protocol '${port}' in EXPOSE instruction should be lowercase`,
  },
  ExposeInvalidFormat: {
    name: 'ExposeInvalidFormat',
    description:
      'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release',
    url: docs('expose-invalid-format'),
    format: (port: string) =>
      `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`,
  },
} as const satisfies Record<string, AnyLintRule>;

export type LintRuleName = keyof typeof LintRules;
