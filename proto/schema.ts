import { isAbsolute } from 'node:path';
import protobuf from 'protobufjs';
import { InvalidArgumentError } from './errors.js';
import { protoDescriptor } from './generated/descriptor.js';
import { protoFiles, protoPath } from './proto-dir.js';

/** Protobuf scalar type names as they appear in .proto files. */
export type ScalarType =
  | 'double'
  | 'float'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'sint32'
  | 'sint64'
  | 'fixed32'
  | 'fixed64'
  | 'sfixed32'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

/** What a field (or a map's value) holds. */
export type ValueKind =
  | { readonly kind: 'scalar'; readonly scalar: ScalarType }
  | { readonly kind: 'enum'; readonly enumName: string; readonly values: ReadonlyMap<string, number> }
  | { readonly kind: 'message'; readonly typeName: string };

export interface FieldPlan {
  readonly name: string;
  readonly id: number;
  readonly value: ValueKind;
  readonly repeated: boolean;
  /** Set for map fields: the key's scalar type. */
  readonly mapKey: ScalarType | undefined;
  /** Packed encoding for repeated numeric scalars (proto3 default). */
  readonly packed: boolean;
  /** Name of the oneof (real or proto3 `optional` synthetic) the field belongs to: it has presence. */
  readonly oneof: string | undefined;
}

export interface MessagePlan {
  /** Fully qualified name without the leading dot, e.g. `pb.Op`. */
  readonly typeName: string;
  /** Sorted by field number: this is the encoding order. */
  readonly fields: readonly FieldPlan[];
  readonly byId: ReadonlyMap<number, FieldPlan>;
  readonly byName: ReadonlyMap<string, FieldPlan>;
  /** Real oneofs (shown to users as a virtual property holding the member's name). */
  readonly oneofs: ReadonlyMap<string, readonly string[]>;
}

/** The whole Kiln schema, immutable once loaded. */
export interface Schema {
  readonly root: protobuf.Root;
  readonly messages: ReadonlyMap<string, MessagePlan>;
  message(typeName: string): MessagePlan;
}

const scalarTypes: ReadonlySet<string> = new Set<ScalarType>([
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
  'string',
  'bytes',
]);

function isScalar(t: string): t is ScalarType {
  return scalarTypes.has(t);
}

/**
 * Every Kiln .proto file as one protobufjs Root (well-known types included). By default it is built
 * from proto/generated/descriptor.ts, which the generator made from the .proto files (a drift test
 * keeps them equal): no .proto file is read or parsed at run time. With `dir`, the .proto files
 * under it are parsed instead (the tests use this to check the copies in dist/).
 */
export function loadRoot(dir?: string): protobuf.Root {
  if (dir === undefined) {
    const root = protobuf.Root.fromJSON(protoDescriptor as protobuf.INamespace);
    root.resolveAll();
    return root;
  }
  const root = new protobuf.Root();
  // Imports are written relative to the proto directory; protobufjs substitutes its bundled copies
  // for google/protobuf/*.proto, which are not on disk.
  // protobufjs passes both the initial file names and import paths through resolvePath.
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') || isAbsolute(target) ? target : protoPath(target, dir);
  root.loadSync(protoFiles(dir), { keepCase: true });
  root.resolveAll();
  return root;
}

function stripDot(name: string): string {
  return name.startsWith('.') ? name.slice(1) : name;
}

function valueKind(field: protobuf.Field | protobuf.MapField): ValueKind {
  if (isScalar(field.type)) return { kind: 'scalar', scalar: field.type };
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    return {
      kind: 'enum',
      enumName: stripDot(resolved.fullName),
      values: new Map(Object.entries(resolved.values)),
    };
  }
  if (resolved instanceof protobuf.Type) return { kind: 'message', typeName: stripDot(resolved.fullName) };
  throw new InvalidArgumentError(`unresolved protobuf type ${field.type} for field ${field.fullName}`);
}

function planFor(type: protobuf.Type): MessagePlan {
  const fields = type.fieldsArray
    .map((f): FieldPlan => {
      const value = valueKind(f);
      const mapKey = f instanceof protobuf.MapField ? f.keyType : undefined;
      if (mapKey !== undefined && !isScalar(mapKey)) {
        throw new InvalidArgumentError(`map key type ${mapKey} of ${f.fullName} is not a scalar`);
      }
      const numeric =
        (value.kind === 'scalar' && value.scalar !== 'string' && value.scalar !== 'bytes') ||
        value.kind === 'enum';
      return {
        name: f.name,
        id: f.id,
        value,
        repeated: f.repeated && mapKey === undefined,
        mapKey,
        packed: f.repeated && mapKey === undefined && numeric && f.packed,
        oneof: f.partOf?.name,
      };
    })
    .sort((a, b) => a.id - b.id);
  const oneofs = new Map<string, readonly string[]>();
  for (const o of type.oneofsArray) {
    // proto3 `optional` fields live in a synthetic oneof named `_<field>`; they are not user-visible oneofs.
    const synthetic = o.fieldsArray.length === 1 && o.name === `_${o.fieldsArray[0]?.name}`;
    if (!synthetic)
      oneofs.set(
        o.name,
        o.fieldsArray.map((f) => f.name),
      );
  }
  return {
    typeName: stripDot(type.fullName),
    fields,
    byId: new Map(fields.map((f) => [f.id, f])),
    byName: new Map(fields.map((f) => [f.name, f])),
    oneofs,
  };
}

function collectTypes(ns: protobuf.NamespaceBase, out: protobuf.Type[]): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) collectTypes(nested, out);
  }
}

/** Builds the encoding plans for every message type in `root`. */
export function buildSchema(root: protobuf.Root): Schema {
  const types: protobuf.Type[] = [];
  collectTypes(root, types);
  const messages = new Map(types.map((t) => [stripDot(t.fullName), planFor(t)] as const));
  return {
    root,
    messages,
    message(typeName: string): MessagePlan {
      const plan = messages.get(typeName);
      if (plan === undefined) throw new InvalidArgumentError(`unknown protobuf message type ${typeName}`);
      return plan;
    },
  };
}

/**
 * The schema of the .proto files shipped with Kiln. Schema data is immutable, so it is loaded once
 * on first use and shared.
 */
export const kilnSchema: () => Schema = (() => {
  let cached: Schema | undefined;
  return () => {
    cached ??= buildSchema(loadRoot());
    return cached;
  };
})();
