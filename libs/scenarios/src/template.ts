import Handlebars from 'handlebars';

// An isolated Handlebars environment: helpers registered here cannot leak into (or be
// overridden by) any other user of the library in the process.
const hb = Handlebars.create();
// {{json value}} writes a value as JSON: the usual way to put an object or a string
// safely into a JSON body.
hb.registerHelper('json', (value: unknown) => new hb.SafeString(JSON.stringify(value ?? null)));

export type CompiledTemplate = (context: Record<string, unknown>) => string;

// Bodies are JSON, not HTML: HTML-escaping would corrupt them. Prototype access stays
// disabled (the Handlebars >= 4.6 default), so templates only see the data given.
const OPTIONS = { noEscape: true, strict: false } as const;

export function compileTemplate(source: string): CompiledTemplate {
  return hb.compile(source, OPTIONS);
}

/** Syntax errors of a template; empty when it compiles. */
export function checkTemplate(source: string): string[] {
  try {
    hb.precompile(source, OPTIONS);
    return [];
  } catch (error) {
    return [(error as Error).message.replace(/\s*\n\s*/g, ' ').slice(0, 500)];
  }
}

/**
 * The delivery's payload_json: the rendered text when it is JSON (the normal case),
 * otherwise the text as a JSON string, so the wire contract's "payload_json is JSON"
 * always holds.
 */
export function renderPayload(template: CompiledTemplate | null, context: Record<string, unknown>): string {
  if (!template) return JSON.stringify({ event: context.event, contact: context.contact, variables: context.variables });
  const text = template(context);
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}
