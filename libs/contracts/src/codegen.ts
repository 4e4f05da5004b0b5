import type { AvroRecordSchema } from './schemas';

/**
 * Generates TypeScript interfaces from Avro record schemas, so `schemas/*.avsc` stays the
 * one source of truth (a spec fails when the committed output drifts). Covers the Avro
 * subset the project uses: records, nullable unions, arrays, maps, primitives and the
 * timestamp-millis logical type (decoded as epoch milliseconds, a number).
 * Hand-rolled because the maintained Avro→TS generators target other toolchains or
 * emit classes; this is ~60 lines and exact for our subset.
 */
export function generateTypes(schemas: AvroRecordSchema[]): string {
  const out: string[] = ['// Generated from schemas/*.avsc by `npm run gen:types`. Do not edit by hand.', ''];
  const seen = new Set<string>();
  const emit = (record: AvroRecordSchema): void => {
    if (seen.has(record.name)) return;
    seen.add(record.name);
    const lines: string[] = [];
    if (record.doc) lines.push(`/** ${record.doc} */`);
    lines.push(`export interface ${record.name} {`);
    for (const field of record.fields) {
      if (field.doc) lines.push(`  /** ${field.doc} */`);
      lines.push(`  ${field.name}: ${tsType(field.type, emit)};`);
    }
    lines.push('}', '');
    out.push(...lines);
  };
  for (const s of schemas) emit(s);
  return out.join('\n');
}

function tsType(type: unknown, emit: (r: AvroRecordSchema) => void): string {
  if (typeof type === 'string') {
    switch (type) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return 'number';
      case 'string':
        return 'string';
      case 'bytes':
        return 'Buffer';
      default:
        return type.includes('.') ? type.slice(type.lastIndexOf('.') + 1) : type;
    }
  }
  if (Array.isArray(type)) return type.map((t) => tsType(t, emit)).join(' | ');
  if (type && typeof type === 'object') {
    const t = type as { type: string; items?: unknown; values?: unknown; logicalType?: string };
    switch (t.type) {
      case 'record':
        emit(type as AvroRecordSchema);
        return (type as AvroRecordSchema).name;
      case 'array':
        return `Array<${tsType(t.items, emit)}>`;
      case 'map':
        return `Record<string, ${tsType(t.values, emit)}>`;
      default:
        return tsType(t.type, emit);
    }
  }
  throw new Error(`Unsupported Avro type: ${JSON.stringify(type)}`);
}
