import { describe, expect, it } from 'vitest';
import { envelop, hostMessageSchema, readMessage, widgetMessageSchema, type HostMessage, type WidgetMessage } from './messages';
import { asOrigin, parseOriginList } from './origins';

describe('message schema', () => {
  it('accepts each documented host message and round-trips it', () => {
    const messages: HostMessage[] = [
      envelop<HostMessage>({ type: 'catalog', catalog: { format: 'private-recs-catalog', items: [] } }),
      envelop<HostMessage>({ type: 'context', itemId: 'sku-1' }),
      envelop<HostMessage>({ type: 'context', itemId: null }),
      envelop<HostMessage>({ type: 'viewed', itemId: '42' }),
    ];
    for (const message of messages) expect(readMessage(hostMessageSchema, message)).toEqual({ kind: 'ok', message });
  });

  it('ignores other protocols silently and reports malformed or future messages', () => {
    expect(readMessage(hostMessageSchema, 'hello').kind).toBe('foreign');
    expect(readMessage(hostMessageSchema, { type: 'context', itemId: 'x' }).kind).toBe('foreign');
    const wrongType = readMessage(hostMessageSchema, { protocol: 'private-recs', version: 1, type: 'context', itemId: 42 });
    expect(wrongType).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('itemId') });
    expect(readMessage(hostMessageSchema, { protocol: 'private-recs', version: 1, type: 'history' }).kind).toBe('invalid');
    const future = readMessage(hostMessageSchema, { protocol: 'private-recs', version: 2, type: 'context', itemId: 'x' });
    expect(future).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('version 2') });
    expect(readMessage(hostMessageSchema, envelop<HostMessage>({ type: 'catalog', catalog: [] as unknown as Record<string, unknown> })).kind).toBe('invalid');
  });

  it('refuses hostile values: odd versions, huge ids, and prototype keys that have no effect', () => {
    for (const version of [Number.NaN, Number.POSITIVE_INFINITY, 1e308, '1', 'x'.repeat(1_000_000)]) {
      const read = readMessage(hostMessageSchema, { protocol: 'private-recs', version, type: 'viewed', itemId: '1' });
      expect(read.kind).toBe('invalid');
      // The console warning quotes the sender's value short.
      expect(read.kind === 'invalid' && read.reason.length).toBeLessThan(200);
    }
    expect(readMessage(hostMessageSchema, envelop<HostMessage>({ type: 'viewed', itemId: 'x'.repeat(201) })).kind).toBe('invalid');
    expect(readMessage(hostMessageSchema, envelop<HostMessage>({ type: 'viewed', itemId: '' })).kind).toBe('invalid');
    const polluting = JSON.parse(
      '{"protocol":"private-recs","version":1,"type":"catalog","catalog":{"__proto__":{"polluted":true},"format":"private-recs-catalog","items":[]}}',
    ) as unknown;
    const read = readMessage(hostMessageSchema, polluting);
    expect(read.kind).toBe('ok');
    const catalog = read.kind === 'ok' && read.message.type === 'catalog' ? read.message.catalog : {};
    expect(Object.getPrototypeOf(catalog)).toBe(Object.prototype);
    expect(Object.keys(catalog).sort()).toEqual(['format', 'items']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lets the widget send a click and nothing beyond the schema', () => {
    const click = envelop<WidgetMessage>({ type: 'click', itemId: '7' });
    expect(readMessage(widgetMessageSchema, click)).toEqual({ kind: 'ok', message: click });
    // Extra fields (e.g. a leaked history) are stripped by the schema, never passed on to host code.
    const leaky = { ...click, history: ['1', '2'] };
    const read = readMessage(widgetMessageSchema, leaky);
    expect(read.kind === 'ok' && Object.keys(read.message).sort()).toEqual(['itemId', 'protocol', 'type', 'version']);
    expect(readMessage(widgetMessageSchema, envelop<HostMessage>({ type: 'viewed', itemId: '7' })).kind).toBe('invalid');
  });
});

describe('origin allowlist', () => {
  it('keeps exact http(s) origins and rejects anything wider or different', () => {
    expect(asOrigin('https://shop.example')).toBe('https://shop.example');
    expect(asOrigin('http://127.0.0.1:4193')).toBe('http://127.0.0.1:4193');
    for (const bad of [
      '*',
      'https://shop.example/',
      'https://shop.example/page',
      'shop.example',
      'javascript:alert(1)',
      'https://a@shop.example',
      "'self'",
      'null',
    ]) {
      expect(asOrigin(bad), bad).toBeUndefined();
    }
  });

  it('parses a comma or space separated list, without duplicates, reporting rejects', () => {
    expect(parseOriginList('https://a.example, https://b.example https://a.example,*')).toEqual({
      origins: ['https://a.example', 'https://b.example'],
      rejected: ['*'],
    });
    expect(parseOriginList(null)).toEqual({ origins: [], rejected: [] });
  });
});
