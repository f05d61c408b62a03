/**
 * The postMessage protocol between a host page and the iframe widget (/embed.html), version 1.
 *
 *   host → widget   catalog  { catalog }        a catalog value (validated like any catalog, in the worker)
 *                   context  { itemId | null }  the item on the host's screen; recommendations lean toward it
 *                   viewed   { itemId }         the user opened this item on the host's site
 *   widget → host   ready    {}                 the widget listens now (sent again after each reload)
 *                   click    { itemId }         the user clicked this recommendation
 *
 * Every message carries { protocol: 'private-recs', version: 1, type }. The widget sends nothing else:
 * no history, no profile, no other item ids. zod/mini keeps the host helper small.
 */
import * as z from 'zod/mini';

export const PROTOCOL = 'private-recs';
export const PROTOCOL_VERSION = 1;

const envelope = { protocol: z.literal(PROTOCOL), version: z.literal(PROTOCOL_VERSION) };
const itemId = z.string().check(z.minLength(1), z.maxLength(200));

export const hostMessageSchema = z.discriminatedUnion('type', [
  z.object({ ...envelope, type: z.literal('catalog'), catalog: z.record(z.string(), z.unknown()) }),
  z.object({ ...envelope, type: z.literal('context'), itemId: z.nullable(itemId) }),
  z.object({ ...envelope, type: z.literal('viewed'), itemId }),
]);

export const widgetMessageSchema = z.discriminatedUnion('type', [
  z.object({ ...envelope, type: z.literal('ready') }),
  z.object({ ...envelope, type: z.literal('click'), itemId }),
]);

export type HostMessage = z.infer<typeof hostMessageSchema>;
export type WidgetMessage = z.infer<typeof widgetMessageSchema>;

type Body<M> = M extends unknown ? Omit<M, 'protocol' | 'version'> : never;

/** Adds the envelope: `envelop({ type: 'click', itemId })`. */
export function envelop<M extends HostMessage | WidgetMessage>(body: Body<M>): M {
  return { protocol: PROTOCOL, version: PROTOCOL_VERSION, ...body } as M;
}

/** A value from the message as the console warning quotes it: short, whatever the sender put there. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' || value == null ? String(value) : typeof value;
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/**
 * Validates one incoming message. Messages of other protocols (other scripts on the page use
 * postMessage too) are `foreign`: ignored silently. Ours but malformed or of another version: `invalid`,
 * with a reason for a console warning.
 */
export function readMessage<S extends typeof hostMessageSchema | typeof widgetMessageSchema>(
  schema: S,
  data: unknown,
): { kind: 'ok'; message: z.infer<S> } | { kind: 'foreign' } | { kind: 'invalid'; reason: string } {
  if (typeof data !== 'object' || data === null || (data as { protocol?: unknown }).protocol !== PROTOCOL) return { kind: 'foreign' };
  const version = (data as { version?: unknown }).version;
  if (version !== PROTOCOL_VERSION) return { kind: 'invalid', reason: `unsupported protocol version ${shown(version)} (this side speaks ${PROTOCOL_VERSION})` };
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((issue) => `${shown(issue.path.join('.')) || 'message'}: ${issue.message}`);
    return { kind: 'invalid', reason: issues.join('; ') };
  }
  return { kind: 'ok', message: parsed.data as z.infer<S> };
}
