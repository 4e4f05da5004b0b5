import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GENERATED_TYPES_FILE, SCHEMA_FILES, generateTypes, loadSchema, type SchemaName } from '@relay/contracts';

const text = generateTypes((Object.keys(SCHEMA_FILES) as SchemaName[]).map(loadSchema));
writeFileSync(GENERATED_TYPES_FILE, text);
console.log(`wrote ${path.relative(process.cwd(), GENERATED_TYPES_FILE)}`);
