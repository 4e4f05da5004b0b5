import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { generateTypes } from './codegen';
import { SCHEMA_FILES, loadSchema, type SchemaName } from './schemas';
import { GENERATED_TYPES_FILE } from './index';

describe('wire contracts', () => {
  const names = Object.keys(SCHEMA_FILES) as SchemaName[];

  it('generated TypeScript types match schemas/*.avsc (run `npm run gen:types` after editing a schema)', () => {
    expect(readFileSync(GENERATED_TYPES_FILE, 'utf8')).toBe(generateTypes(names.map(loadSchema)));
  });

  it.each(names)('%s is a valid Avro schema whose optional fields all have defaults', (name) => {
    const schema = loadSchema(name);
    expect(() => avro.Type.forSchema(schema as avro.Schema)).not.toThrow();
    for (const field of schema.fields) {
      if (Array.isArray(field.type) && field.type[0] === 'null') {
        // Without a default, adding such a field later would not be BACKWARD compatible.
        expect({ field: field.name, default: field.default }).toEqual({ field: field.name, default: null });
      }
    }
  });

  it('maps nullable unions, arrays and maps to TypeScript', () => {
    const text = generateTypes([
      {
        type: 'record',
        name: 'T',
        fields: [
          { name: 'a', type: ['null', 'string'] },
          { name: 'b', type: { type: 'array', items: 'int' } },
          { name: 'c', type: { type: 'map', values: 'string' } },
          { name: 'd', type: { type: 'long', logicalType: 'timestamp-millis' } },
        ],
      },
    ]);
    expect(text).toContain('a: null | string;');
    expect(text).toContain('b: Array<number>;');
    expect(text).toContain('c: Record<string, string>;');
    expect(text).toContain('d: number;');
  });
});
